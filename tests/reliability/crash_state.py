"""A database's end state in comparable form, and the differences of two.

Two runs of the same job on the same data differ in what they may: crawl run
ids, listing row ids (parallel crawls insert in any order), the ids given to
opportunities created in that run (fresh random ids), and the clock (created,
modified, change stamps, match times). Everything else must be equal. So
listings are keyed by (source, source key) and compared field by field;
opportunities that existed before the run keep their ids, and one created in
the run is named by its member listings; the change feed is compared as the
changes each opportunity received and as the set of change numbers.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import (
    FeedChange,
    Listing,
    MatchPair,
    Opportunity,
    OpportunityMember,
    Source,
)
from storage.models_feed import OpportunitySearch
from storage.session import make_engine, session_factory

LISTING_FIELDS = (
    "url",
    "canonical_url",
    "apply_url",
    "title",
    "provider_name",
    "opportunity_type",
    "in_scope",
    "closing_date",
    "postcode",
    "outcode",
    "pay_min",
    "pay_max",
    "pay_period",
    "fields",
    "raw",
    "content_hash",
    "fetched_at",
    "first_seen",
    "last_seen",
    "last_changed",
    "status",
)
OPPORTUNITY_FIELDS = (
    "state",
    "title",
    "opportunity_type",
    "in_scope",
    "closing_date",
    "golden",
)
SEARCH_FIELDS = (
    "state",
    "in_scope",
    "opportunity_type",
    "mode",
    "age_min",
    "age_max",
    "closing_sort",
    "text",
)
SHOWN = 8


def list_opportunity_ids(database_url: str) -> set[str]:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return set(session.scalars(select(Opportunity.id)))
    finally:
        engine.dispose()


def end_state(database_url: str, known_ids: set[str]) -> dict[str, Any]:
    """The database as comparable values; ``known_ids`` existed before the run."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return _state(session, known_ids)
    finally:
        engine.dispose()


def _state(session: Session, known_ids: set[str]) -> dict[str, Any]:
    keys = {
        listing_id: f"{source}|{key}"
        for listing_id, source, key in session.execute(
            select(Listing.id, Source.name, Listing.source_key).join(Source)
        )
    }
    members: dict[str, list[str]] = {}
    for listing_id, opp_id in session.execute(
        select(OpportunityMember.listing_id, OpportunityMember.opportunity_id)
    ):
        members.setdefault(opp_id, []).append(keys[listing_id])
    names = {
        opp_id: _name(opp_id, members.get(opp_id, []), known_ids)
        for opp_id in session.scalars(select(Opportunity.id))
    }
    return {
        "listings": _listings(session),
        "opportunities": _opportunities(session, names, members),
        "pairs": _pairs(session, keys),
        "changes": _changes(session, names),
        "change_numbers": sorted(session.scalars(select(FeedChange.change_no))),
        "search": _search(session, names),
    }


def _name(opp_id: str, members: list[str], known_ids: set[str]) -> str:
    if opp_id in known_ids:
        return opp_id
    if not members:
        return f"new without members {opp_id}"
    return "new " + " + ".join(sorted(members))


def _value(value: Any) -> Any:
    """Datetimes as ISO text, so that states compare and print alike."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def _listings(session: Session) -> dict[str, dict[str, Any]]:
    query = select(Listing, Source.name).join(Source)
    return {
        f"{source}|{listing.source_key}": {
            name: _value(getattr(listing, name)) for name in LISTING_FIELDS
        }
        for listing, source in session.execute(query)
    }


def _opportunities(
    session: Session, names: dict[str, str], members: dict[str, list[str]]
) -> dict[str, dict[str, Any]]:
    found = {}
    for opportunity in session.scalars(select(Opportunity)):
        values = {
            name: _value(getattr(opportunity, name)) for name in OPPORTUNITY_FIELDS
        }
        values["merged_into"] = names.get(opportunity.merged_into or "")
        values["members"] = sorted(members.get(opportunity.id, []))
        values["published"] = opportunity.change_no > 0
        found[names[opportunity.id]] = values
    return found


def _pairs(session: Session, keys: dict[int, str]) -> dict[str, Any]:
    return {
        " ~ ".join(sorted((keys[pair.listing_a], keys[pair.listing_b]))): (
            round(pair.score, 6),
            pair.band,
        )
        for pair in session.scalars(select(MatchPair))
    }


def _changes(session: Session, names: dict[str, str]) -> dict[str, list[str]]:
    """Per opportunity, the kinds of change it received (and whom they name)."""
    found: dict[str, list[str]] = {}
    for change in session.scalars(select(FeedChange).order_by(FeedChange.change_no)):
        related = [names.get(str(i), str(i)) for i in change.related.get("ids", [])]
        entry = change.kind + (f" {sorted(related)}" if related else "")
        found.setdefault(names.get(change.opportunity_id, change.opportunity_id), [])
        found[names.get(change.opportunity_id, change.opportunity_id)].append(entry)
    return {name: sorted(entries) for name, entries in found.items()}


def _search(session: Session, names: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {
        names.get(row.opportunity_id, row.opportunity_id): {
            name: _value(getattr(row, name)) for name in SEARCH_FIELDS
        }
        for row in session.scalars(select(OpportunitySearch))
    }


def differences(reference: dict[str, Any], other: dict[str, Any]) -> list[str]:
    """What differs between two end states, in a few lines per part."""
    found = []
    for part in reference:
        found += _part_differences(part, reference[part], other.get(part))
    return found


def _part_differences(part: str, expected: Any, got: Any) -> list[str]:
    if expected == got:
        return []
    if not isinstance(expected, dict) or not isinstance(got, dict):
        return [f"{part}: {_short(expected)} != {_short(got)}"]
    lines = []
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing:
        lines.append(f"{part}: {len(missing)} missing, e.g. {_some(missing)}")
    if extra:
        lines.append(f"{part}: {len(extra)} unexpected, e.g. {_some(extra)}")
    changed = [k for k in expected if k in got and expected[k] != got[k]]
    for key in changed[:SHOWN]:
        lines.append(f"{part} {key}: {_diff(expected[key], got[key])}")
    if len(changed) > SHOWN:
        lines.append(f"{part}: {len(changed) - SHOWN} more differ")
    return lines


def _diff(expected: Any, got: Any) -> str:
    if isinstance(expected, dict) and isinstance(got, dict):
        names = sorted(
            k for k in set(expected) | set(got) if expected.get(k) != got.get(k)
        )
        return "; ".join(
            f"{k}: {_short(expected.get(k))} != {_short(got.get(k))}" for k in names
        )
    return f"{_short(expected)} != {_short(got)}"


def _short(value: Any, limit: int = 160) -> str:
    text = json.dumps(value, default=str, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _some(keys: Iterable[str]) -> str:
    shown = list(keys)[:3]
    return ", ".join(k[:100] for k in shown)


def change_kinds(state: dict[str, Any]) -> dict[str, int]:
    """How many changes of each kind an end state's feed holds."""
    return dict(
        Counter(
            entry.split(" ", 1)[0]
            for entries in state["changes"].values()
            for entry in entries
        )
    )
