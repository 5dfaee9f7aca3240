"""Integrity checks: what the data model promises, checked against a database
and a published folder.

:func:`check_database` returns the *problems*: damage no later run repairs by
itself. Every matched listing is a member of exactly one opportunity (of at
most one, the member table's key on the listing sees to that), and no
member, mark or match pair points at a row that is not there; a live or closed
opportunity has members, a merged or deleted one has none, and a merged one
names an existing opportunity it was merged into, without cycles; the change
feed is numbered 1, 2, 3, ... with no gap or repeat, its stamps rise strictly
with the numbers, and each opportunity carries the number and stamp of its own
latest change.

:func:`list_pending` returns the *pending work*: what an interrupted run
leaves for the next one, and a finished run leaves none of. Listings stored but
not yet matched, opportunities whose state or record publishing has not yet
derived, search rows not yet rewritten, crawl runs under way or left marked
running by a process that died (:func:`storage.lifecycle.is_run_held` tells
which), and finished runs without a health verdict. ``check_database(...,
settled=True)``
counts pending work as problems too: a database after a run that ended.

:func:`check_published_folder` checks a folder written by ``hub publish``:
every file its ``index.json`` names is there and parses, the RPDE pages chain
from the first to the last, and the pages and exports agree item for item, so
they come from one reading of one database. An unfinished folder left beside
the link by a publish that was killed is pending work: the next publish
removes it.
"""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from storage.feed import (
    derived_state,
    list_provider_kinds,
    published_digest,
    unmerged_opportunities,
)
from storage.lifecycle import is_run_held
from storage.models import (
    CrawlRun,
    FeedChange,
    Listing,
    MatchPair,
    Opportunity,
    OpportunityMember,
    Source,
)
from storage.models_feed import OpportunitySearch
from storage.models_health import CrawlHealth
from storage.models_match import MatchedListing

STATES = ("live", "closed", "deleted", "merged")
CHANGE_KINDS = ("updated", "deleted", "merged", "split")
PENDING = frozenset(
    {
        "awaiting_match",
        "awaiting_publish",
        "index_behind",
        "run_still_running",
        "run_interrupted",
        "run_not_judged",
        "unfinished_folder",
    }
)


@dataclass(frozen=True)
class Problem:
    """One broken promise (or one piece of pending work), in words."""

    kind: str
    detail: str

    @property
    def pending(self) -> bool:
        return self.kind in PENDING

    def __str__(self) -> str:
        return f"{self.kind}: {self.detail}"


def check_database(session: Session, *, settled: bool = False) -> list[Problem]:
    """Every problem found in the database; empty when it is sound.

    Args:
        session: a session on the product's database.
        settled: also count pending work (:func:`list_pending`) as problems,
            for a database whose last run ended.

    Returns:
        The problems, grouped by kind in the order the checks run.
    """
    problems = [
        *_membership_problems(session),
        *_opportunity_problems(session),
        *_feed_problems(session),
    ]
    if settled:
        problems += list_pending(session)
    return problems


def list_pending(session: Session) -> list[Problem]:
    """The work an interrupted run left for the next one."""
    return [
        *_awaiting_match(session),
        *_awaiting_publish(session),
        *_index_behind(session),
        *_runs_left(session),
    ]


# --- listings and memberships ----------------------------------------------


def _label(session: Session, listing_ids: Select[Any]) -> Iterator[tuple[int, str]]:
    query = (
        select(Listing.id, Source.name, Listing.source_key)
        .join(Source, Source.id == Listing.source_id)
        .where(Listing.id.in_(listing_ids))
        .order_by(Listing.id)
    )
    for listing_id, source, key in session.execute(query):
        yield listing_id, f"listing {listing_id} ({source} {key!r})"


def _membership_problems(session: Session) -> Iterator[Problem]:
    members = select(OpportunityMember.listing_id)
    marked = select(MatchedListing.listing_id)
    unplaced = select(Listing.id).where(
        Listing.id.in_(marked), ~Listing.id.in_(members)
    )
    for _, label in _label(session, unplaced):
        yield Problem(
            "listing_unplaced", f"{label} was matched but is in no opportunity"
        )
    listings = select(Listing.id)
    opportunities = select(Opportunity.id)
    orphans: list[tuple[str, Select[Any], str]] = [
        (
            "orphan_member",
            select(
                OpportunityMember.listing_id, OpportunityMember.opportunity_id
            ).where(~OpportunityMember.listing_id.in_(listings)),
            "member row of opportunity {1} names missing listing {0}",
        ),
        (
            "orphan_member",
            select(
                OpportunityMember.listing_id, OpportunityMember.opportunity_id
            ).where(~OpportunityMember.opportunity_id.in_(opportunities)),
            "member row of listing {0} names missing opportunity {1}",
        ),
        (
            "orphan_mark",
            select(MatchedListing.listing_id, MatchedListing.listing_id).where(
                ~MatchedListing.listing_id.in_(listings)
            ),
            "match mark names missing listing {0}",
        ),
        (
            "orphan_pair",
            select(MatchPair.listing_a, MatchPair.listing_b).where(
                ~MatchPair.listing_a.in_(listings) | ~MatchPair.listing_b.in_(listings)
            ),
            "match pair ({0}, {1}) names a missing listing",
        ),
    ]
    for kind, query, text in orphans:
        for first, second in session.execute(query):
            yield Problem(kind, text.format(first, second))


def _awaiting_match(session: Session) -> Iterator[Problem]:
    placed = select(OpportunityMember.listing_id)
    marked = select(MatchedListing.listing_id)
    waiting = select(Listing.id).where(~Listing.id.in_(placed), ~Listing.id.in_(marked))
    for _, label in _label(session, waiting):
        yield Problem("awaiting_match", f"{label} is stored but not matched yet")


# --- opportunities ---------------------------------------------------------


def _opportunity_problems(session: Session) -> Iterator[Problem]:
    counts = dict(
        session.execute(
            select(OpportunityMember.opportunity_id, func.count()).group_by(
                OpportunityMember.opportunity_id
            )
        ).all()
    )
    rows = session.execute(
        select(Opportunity.id, Opportunity.state, Opportunity.merged_into)
    ).all()
    merged_into = {o.id: o.merged_into for o in rows if o.state == "merged"}
    known = {o.id for o in rows}
    for opp_id, state, into in rows:
        members = counts.get(opp_id, 0)
        if state not in STATES:
            yield Problem("unknown_state", f"opportunity {opp_id} is {state!r}")
        elif state in ("live", "closed") and not members:
            yield Problem(
                "memberless", f"opportunity {opp_id} is {state} with no members"
            )
        elif state in ("merged", "deleted") and members:
            yield Problem(
                f"{state}_with_members",
                f"opportunity {opp_id} is {state} but has {members} members",
            )
        if state != "merged" and into is not None:
            yield Problem(
                "merged_into", f"opportunity {opp_id} is {state} but merged into {into}"
            )
    for opp_id, into in merged_into.items():
        problem = _merge_chain(opp_id, into, merged_into, known)
        if problem:
            yield Problem("merged_into", f"opportunity {opp_id} {problem}")


def _merge_chain(
    opp_id: str, into: str | None, merged_into: dict[str, str | None], known: set[str]
) -> str | None:
    """What is wrong with the chain of merges from ``opp_id``, if anything."""
    if into is None:
        return "is merged into nothing"
    seen = {opp_id}
    while into is not None:
        if into not in known:
            return f"is merged into missing opportunity {into}"
        if into in seen:
            return f"is merged into a cycle through {into}"
        seen.add(into)
        into = merged_into.get(into)
    return None


def _awaiting_publish(session: Session) -> Iterator[Problem]:
    query = unmerged_opportunities().execution_options(yield_per=500)
    kinds = list_provider_kinds(session)
    with closing(session.scalars(query)) as opportunities:
        for opportunity in opportunities:
            state = derived_state({m.listing.status for m in opportunity.members})
            if state != opportunity.state:
                yield Problem(
                    "awaiting_publish",
                    f"opportunity {opportunity.id} is {opportunity.state}, its "
                    f"members make it {state}",
                )
            elif published_digest(opportunity, kinds) != opportunity.content_hash:
                yield Problem(
                    "awaiting_publish",
                    f"opportunity {opportunity.id} changed since it was last published",
                )


def _index_behind(session: Session) -> Iterator[Problem]:
    query = select(
        Opportunity.id,
        Opportunity.state,
        Opportunity.content_hash,
        OpportunitySearch.indexed_hash,
        OpportunitySearch.opportunity_id,
    ).outerjoin(OpportunitySearch, OpportunitySearch.opportunity_id == Opportunity.id)
    for opp_id, state, content, indexed, row in session.execute(query):
        shown = state in ("live", "closed")
        if shown and (row is None or indexed != content):
            yield Problem(
                "index_behind", f"opportunity {opp_id}: search row out of date"
            )
        elif not shown and row is not None:
            yield Problem(
                "index_behind", f"opportunity {opp_id} is {state} but indexed"
            )


# --- the change feed -------------------------------------------------------


def _feed_problems(session: Session) -> Iterator[Problem]:
    changes = session.execute(
        select(
            FeedChange.change_no,
            FeedChange.opportunity_id,
            FeedChange.kind,
            FeedChange.at,
        ).order_by(FeedChange.change_no)
    ).all()
    yield from _numbering(changes)
    by_number = {c.change_no: c for c in changes}
    latest: dict[str, int] = {}
    for change in changes:
        latest[change.opportunity_id] = change.change_no
        if change.kind not in CHANGE_KINDS:
            yield Problem(
                "change_kind", f"change {change.change_no} is {change.kind!r}"
            )
    opportunities = session.execute(
        select(Opportunity.id, Opportunity.change_no, Opportunity.modified)
    ).all()
    for opp_id, change_no, modified in opportunities:
        problem = _own_change(opp_id, change_no, modified, by_number, latest)
        if problem:
            yield Problem("opportunity_change", f"opportunity {opp_id} {problem}")
    known = {o.id for o in opportunities}
    for opp_id in sorted(set(latest) - known):
        yield Problem(
            "orphan_change", f"changes recorded for missing opportunity {opp_id}"
        )


def _numbering(changes: list[Any]) -> Iterator[Problem]:
    expected = 1
    previous = None
    for change in changes:
        number = change.change_no
        if number != expected:
            yield Problem(
                "change_numbers",
                f"change {number} follows change {expected - 1}: "
                f"{_numbers(expected, number - 1)} missing",
            )
        if previous is not None and change.at <= previous.at:
            yield Problem(
                "change_stamps",
                f"change {number} is stamped {change.at.isoformat()}, not after "
                f"change {previous.change_no} ({previous.at.isoformat()})",
            )
        expected, previous = number + 1, change


def _numbers(first: int, last: int) -> str:
    return str(first) if first == last else f"{first}-{last}"


def _own_change(
    opp_id: str,
    change_no: int,
    modified: Any,
    by_number: dict[int, Any],
    latest: dict[str, int],
) -> str | None:
    if change_no == 0:
        if opp_id in latest:
            return f"has change {latest[opp_id]} recorded but change number 0"
        return None
    change = by_number.get(change_no)
    if change is None:
        return f"carries change {change_no}, which is not recorded"
    if change.opportunity_id != opp_id:
        return f"carries change {change_no}, which is {change.opportunity_id}'s"
    if latest[opp_id] != change_no:
        return f"carries change {change_no}, its latest is {latest[opp_id]}"
    if modified != change.at:
        return f"is modified {modified.isoformat()}, its change {change_no} at " + (
            change.at.isoformat()
        )
    return None


# --- crawl runs ------------------------------------------------------------


def _runs_left(session: Session) -> Iterator[Problem]:
    query = (
        select(CrawlRun.id, Source.name, CrawlRun.status, CrawlRun.started)
        .join(Source, Source.id == CrawlRun.source_id)
        .outerjoin(CrawlHealth, CrawlHealth.run_id == CrawlRun.id)
        .where(CrawlHealth.run_id.is_(None))
        .order_by(CrawlRun.id)
    )
    for run_id, source, status, started in session.execute(query).all():
        if status == "running" and is_run_held(session, run_id):
            yield Problem(
                "run_still_running",
                f"crawl run {run_id} of {source} is running since "
                f"{started.isoformat()}",
            )
        elif status == "running":
            yield Problem(
                "run_interrupted",
                f"crawl run {run_id} of {source} is marked running since "
                f"{started.isoformat()}, but no process holds it",
            )
        else:
            yield Problem(
                "run_not_judged",
                f"crawl run {run_id} of {source} ({status}) has no verdict",
            )


# --- a published folder ----------------------------------------------------

Parser = Callable[[bytes], Any]


def check_published_folder(out: Path) -> list[Problem]:
    """Every problem of the folder ``hub publish --out OUT`` points ``out`` at.

    Returns:
        The problems found; empty when the folder is complete and consistent.
    """
    problems = list(_leftovers(out))
    if not out.exists():
        return [*problems, Problem("folder", f"{out} does not exist")]
    root = out.resolve()
    index = _read(root / "index.json", json.loads, problems)
    if not isinstance(index, dict):
        return problems
    pages = _read_pages(root, index, problems)
    exports = _read_exports(root, index, problems)
    _read(root / _name(index.get("sources")), json.loads, problems)
    if pages is not None:
        problems += _agreement(index, pages, exports)
    return problems


def _leftovers(out: Path) -> Iterator[Problem]:
    parent = out.parent
    if not parent.is_dir():
        return
    for path in sorted(parent.glob(f"{out.name}.tmp-*")):
        yield Problem("unfinished_folder", f"{path.name} is left from a publish")


def _name(value: Any) -> str:
    """A file name from an index entry (a URL, or a path from the folder)."""
    return str(value or "").rsplit("/", 1)[-1] or "(unnamed)"


def _read(path: Path, parse: Parser, problems: list[Problem]) -> Any:
    try:
        return parse(path.read_bytes())
    except FileNotFoundError:
        problems.append(Problem("missing_file", f"{path.name} is not in the folder"))
    except (ValueError, ET.ParseError, csv.Error, UnicodeDecodeError) as exc:
        problems.append(Problem("unreadable_file", f"{path.name}: {exc}"))
    return None


def _read_pages(
    root: Path, index: dict[str, Any], problems: list[Problem]
) -> list[dict[str, Any]] | None:
    """The pages a reader reads from the start (following ``next`` to the page
    that names itself); every other page, kept for a position a reader may
    hold, must lead into them too."""
    count = index.get("feed_pages")
    if not isinstance(count, int) or count < 1:
        problems.append(Problem("index", f"feed_pages is {count!r}"))
        return None
    folder = root / "feed"
    name, pages, chain = _name(index.get("feed")), [], []
    while len(chain) <= count:
        page = _read_page(folder, name, problems)
        if page is None:
            return None
        pages.append(page)
        chain.append(name)
        following = _name(page.get("next"))
        if following == name:
            break
        name = following
    if len(chain) != count:
        problems.append(
            Problem("page_chain", f"the pages from the start are not {count}")
        )
        return None
    if pages[-1]["items"]:
        problems.append(Problem("page_chain", "the last page is not empty"))
    reached = set(chain)
    for path in sorted(folder.glob("after-*.json")):
        if path.name in reached:
            continue
        page = _read_page(folder, path.name, problems)
        if page is not None and _name(page.get("next")) not in reached | {path.name}:
            problems.append(
                Problem("page_chain", f"{path.name} leads to {page.get('next')!r}")
            )
    return pages


def _read_page(
    folder: Path, name: str, problems: list[Problem]
) -> dict[str, Any] | None:
    page = _read(folder / name, json.loads, problems)
    if isinstance(page, dict) and isinstance(page.get("items"), list):
        return page
    if page is not None:
        problems.append(Problem("unreadable_file", f"{name} is not a page"))
    return None


def _jsonl(data: bytes) -> list[Any]:
    return [json.loads(line) for line in data.decode().splitlines() if line]


def _csv(data: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def _atom(data: bytes) -> ET.Element:
    return ET.fromstring(data)


PARSERS: dict[str, Parser] = {
    ".json": json.loads,
    ".jsonld": json.loads,
    ".jsonl": _jsonl,
    ".csv": _csv,
    ".atom": _atom,
}


def _read_exports(
    root: Path, index: dict[str, Any], problems: list[Problem]
) -> dict[str, Any]:
    exports = index.get("exports")
    if not isinstance(exports, dict):
        problems.append(Problem("index", "no exports named"))
        return {}
    found = {}
    for key, value in sorted(exports.items()):
        name = _name(value)
        parse = PARSERS.get(Path(name).suffix, lambda data: data)
        content = _read(root / name, parse, problems)
        if content is not None:
            found[key] = content
    return found


def _agreement(
    index: dict[str, Any], pages: list[dict[str, Any]], exports: dict[str, Any]
) -> list[Problem]:
    """The pages and exports as readings of one database state."""
    problems = []
    items = [item for page in pages for item in page["items"]]
    if index.get("feed_items") != len(items):
        problems.append(
            Problem(
                "mixed_folder",
                f"index.json counts {index.get('feed_items')} items, the pages hold "
                f"{len(items)}",
            )
        )
    # the exports hold the live opportunities in scope; the pages also closed ones
    published = {
        item["id"]: item["data"].get("change_no")
        for item in items
        if item.get("state") == "updated"
        and isinstance(item.get("data"), dict)
        and item["data"].get("state") == "live"
    }
    lines = exports.get("jsonl")
    if isinstance(lines, list):
        exported = {line.get("id"): line.get("change_no") for line in lines}
        if exported != published:
            differ = sorted(set(exported.items()) ^ set(published.items()), key=str)[:5]
            problems.append(
                Problem(
                    "mixed_folder",
                    f"export.jsonl has {len(exported)} opportunities, the pages "
                    f"{len(published)} (first differences: {differ})",
                )
            )
    for key, count in _export_counts(exports).items():
        if count != len(published):
            problems.append(
                Problem(
                    "mixed_folder",
                    f"the {key} export holds {count} opportunities, the pages "
                    f"{len(published)}",
                )
            )
    return problems


def _export_counts(exports: dict[str, Any]) -> dict[str, int]:
    counts = {}
    if isinstance(exports.get("csv"), list):
        counts["csv"] = max(0, len(exports["csv"]) - 1)
    for key, field in (
        ("jsonld", "@graph"),
        ("openreferral", "content"),
        ("jsonfeed", "items"),
    ):
        value = exports.get(key)
        if isinstance(value, dict) and isinstance(value.get(field), list):
            counts[key] = len(value[field])
    atom = exports.get("atom")
    if isinstance(atom, ET.Element):
        counts["atom"] = len(atom.findall("{http://www.w3.org/2005/Atom}entry"))
    return counts
