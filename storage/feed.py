"""Publishing: each opportunity's state from its members, and the change feed.

An opportunity is ``live`` while any member listing is active, ``closed`` when
every member has closed, and ``deleted`` when it has no members left. Whenever
what a consumer would see changes, it gets a new change number and a
``FeedChange`` row; an unchanged opportunity is left alone, so a re-run of the
same data writes nothing.

Change stamps (``FeedChange.at``, copied to ``Opportunity.modified``) are
strictly increasing in commit order: the first change of a transaction takes
the feed lock (a PostgreSQL advisory lock held to commit; on SQLite the write
lock its own insert takes), and every stamp is later than the last one stored,
by a microsecond when the clock has not moved on. A reader paging the feed by
(modified, id) therefore never finds a change behind a position it has passed.
Change numbers run 1, 2, 3, ... in the same order, with no gap or repeat,
whatever transactions were rolled back or interrupted on the way.

``publish_feed`` also keeps the derived search tables of
:mod:`storage.models_feed` in step with each opportunity's golden record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    Connection,
    Row,
    Select,
    String,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    null,
    or_,
    select,
    text,
    tuple_,
    type_coerce,
)
from sqlalchemy.orm import Session, selectinload, sessionmaker

from storage.models import (
    FeedChange,
    Listing,
    Opportunity,
    OpportunityMember,
    Source,
    utcnow,
)
from storage.models_feed import OpportunityPlace, OpportunitySearch, OpportunityTag
from storage.records import feed_document, summary_document
from storage.session import TEXT_AS_UTF8, transaction

# stands in for "no closing date" so that keyset pagination never meets a NULL
NO_CLOSING_DATE = datetime(9999, 12, 31, tzinfo=UTC)
TOMBSTONE_DAYS = 7
# pg_advisory_xact_lock key of the change feed ("feed" in ASCII)
FEED_LOCK_KEY = 0x66656564
_STAMP_KEY = "storage.feed.last_stamp"
_NUMBER_KEY = "storage.feed.last_number"
_ONE_MICROSECOND = timedelta(microseconds=1)
# Core tables: ORM-enabled deletes would search the session for every row
_INDEX_TABLES = (
    OpportunitySearch.__table__,
    OpportunityPlace.__table__,
    OpportunityTag.__table__,
)
INDEX_BATCH = 500
# the changes that name other ids: ix_feed_changes_id_events holds these
ID_EVENTS = ("merged", "split")


@dataclass
class PublishSummary:
    published: int
    changed: int
    live: int
    closed: int
    deleted: int


@dataclass
class IndexRows:
    """The derived rows of one opportunity, as :func:`index_rows` builds them."""

    search: dict[str, Any]
    places: list[dict[str, Any]] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


def publish_feed(factory: sessionmaker[Session]) -> PublishSummary:
    """Refresh every opportunity's state, record changes, and update the index."""
    with transaction(factory) as session:
        indexed = {
            row.opportunity_id: (row.indexed_hash, row.doc_change_no)
            for row in session.execute(
                select(
                    OpportunitySearch.opportunity_id,
                    OpportunitySearch.indexed_hash,
                    OpportunitySearch.doc_change_no,
                )
            )
        }
        kinds = list_provider_kinds(session)
        changed = 0
        stale: list[Opportunity] = []
        for opportunity in _opportunities(session):
            if _refresh_state(session, opportunity, kinds):
                changed += 1
            live = opportunity.state in ("live", "closed")
            current = (opportunity.content_hash, opportunity.change_no)
            if live and indexed.get(opportunity.id) != current:
                stale.append(opportunity)
        write_index(session, stale, kinds)
        _drop_gone_from_index(session)
        summary = _summary(session, changed)
    return summary


def _summary(session: Session, changed: int) -> PublishSummary:
    counts = dict(
        session.execute(
            select(Opportunity.state, func.count()).group_by(Opportunity.state)
        ).all()
    )
    published = session.scalar(select(func.count()).where(*_published()))
    return PublishSummary(
        published=published or 0,
        changed=changed,
        live=counts.get("live", 0),
        closed=counts.get("closed", 0),
        deleted=counts.get("deleted", 0),
    )


def unmerged_opportunities() -> Select[tuple[Opportunity]]:
    """Every opportunity publishing judges (all but the merged), with members."""
    return (
        select(Opportunity)
        .where(Opportunity.state != "merged")
        .options(
            selectinload(Opportunity.members).selectinload(OpportunityMember.listing)
        )
        .order_by(Opportunity.id)
    )


def _opportunities(session: Session) -> Iterator[Opportunity]:
    yield from session.scalars(unmerged_opportunities())


def list_provider_kinds(session: Session) -> dict[str, str]:
    """Each source's provider kind, by source name."""
    return dict(session.execute(select(Source.name, Source.provider_kind)).all())


def derived_state(statuses: set[str]) -> str:
    """An opportunity's state from its members' statuses (see the module text)."""
    if not statuses:
        return "deleted"
    return "live" if "active" in statuses else "closed"


def _refresh_state(
    session: Session, opportunity: Opportunity, provider_kinds: dict[str, str]
) -> bool:
    state = derived_state({m.listing.status for m in opportunity.members})
    opportunity.state = state
    digest = published_digest(opportunity, provider_kinds)
    if digest == opportunity.content_hash:
        return False
    opportunity.content_hash = digest
    record_change(session, opportunity, "deleted" if state == "deleted" else "updated")
    return True


def record_change(
    session: Session,
    opportunity: Opportunity,
    kind: str,
    related: dict[str, Any] | None = None,
) -> FeedChange:
    """Give ``opportunity`` a new change number and stamp, and log the change.

    The stamp is strictly later than every stamp already stored or given out
    in this transaction (see the module docstring for why that matters), and
    the number one more than the last: this is the feed's one writer.
    """
    _lock_feed(session)
    change = FeedChange(
        change_no=_next_number(session),
        opportunity_id=opportunity.id,
        kind=kind,
        related=related or {},
        at=utcnow(),
    )
    session.add(change)
    session.flush()
    change.at = _next_stamp(session, change)
    opportunity.change_no = change.change_no
    opportunity.modified = change.at
    return change


def _lock_feed(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql" and _last_stamp(session) is None:
        session.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": FEED_LOCK_KEY}
        )


def _next_number(session: Session) -> int | None:
    """The change number after the last one stored or given out in this
    transaction: change numbers run 1, 2, 3, ... without a gap.

    PostgreSQL: counted here, under the feed lock, because a sequence keeps the
    numbers a rolled-back transaction took (a publish interrupted or retried)
    and so leaves gaps. SQLite (None): the row id is already one more than the
    largest in the table, inside the transaction.
    """
    if session.get_bind().dialect.name != "postgresql":
        return None
    held = session.info.get(_NUMBER_KEY)
    if held is not None and held[0] is session.get_transaction():
        number = int(held[1]) + 1
    else:
        number = (session.scalar(select(func.max(FeedChange.change_no))) or 0) + 1
    session.info[_NUMBER_KEY] = (session.get_transaction(), number)
    return number


def _last_stamp(session: Session) -> datetime | None:
    held = session.info.get(_STAMP_KEY)
    if held is None or held[0] is not session.get_transaction():
        return None
    stamp: datetime = held[1]
    return stamp


def _next_stamp(session: Session, change: FeedChange) -> datetime:
    last = _last_stamp(session)
    if last is None:
        last = session.scalar(
            select(FeedChange.at)
            .where(FeedChange.change_no < change.change_no)
            .order_by(FeedChange.change_no.desc())
            .limit(1)
        )
    stamp = change.at if last is None or change.at > last else last + _ONE_MICROSECOND
    session.info[_STAMP_KEY] = (session.get_transaction(), stamp)
    return stamp


def published_digest(opportunity: Opportunity, provider_kinds: dict[str, str]) -> str:
    """What a consumer would see of ``opportunity``, hashed: its content hash
    once publishing has recorded it. The kinds of its sources' providers count
    (``provider_kinds``, source name -> kind): the provider kind filter reads
    them, and the registry can change one with no listing changing."""
    members = sorted(m.listing_id for m in opportunity.members)
    sources = opportunity.golden.get("sources") if opportunity.golden else None
    kinds = sorted(
        f"{name}={provider_kinds[name]}"
        for name in sources or ()
        if isinstance(name, str) and name in provider_kinds
    )
    payload = {
        "state": opportunity.state,
        "golden": opportunity.golden,
        "m": members,
        "kinds": kinds,
    }
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _published() -> tuple[Any, ...]:
    return (Opportunity.state == "live", Opportunity.in_scope.is_(True))


# --- the derived search tables ------------------------------------------------


def write_index(
    session: Session,
    opportunities: Sequence[Opportunity],
    provider_kinds: dict[str, str],
) -> None:
    """Replace the search, place and tag rows of these opportunities."""
    for start in range(0, len(opportunities), INDEX_BATCH):
        _write_index_batch(
            session, opportunities[start : start + INDEX_BATCH], provider_kinds
        )


def _write_index_batch(
    session: Session,
    opportunities: Sequence[Opportunity],
    provider_kinds: dict[str, str],
) -> None:
    ids = [o.id for o in opportunities]
    for table in _INDEX_TABLES:
        session.execute(delete(table).where(table.c.opportunity_id.in_(ids)))
    rows = [
        index_rows(
            o.id,
            o.state,
            o.golden,
            created=o.created,
            modified=o.modified,
            change_no=o.change_no,
            provider_kinds=provider_kinds,
            indexed_hash=o.content_hash,
        )
        for o in opportunities
        if o.state in ("live", "closed")
    ]
    _insert_rows(session, rows)


def _insert_rows(session: Session, rows: Sequence[IndexRows]) -> None:
    search = [r.search for r in rows]
    places = [p for r in rows for p in r.places]
    tags = [
        {"tag": t, "opportunity_id": r.search["opportunity_id"]}
        for r in rows
        for t in r.tags
    ]
    for table, values in zip(_INDEX_TABLES, (search, places, tags), strict=True):
        if values:
            session.execute(insert(table), _fitted(table, values))


def _fitted(table: Table, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows cut to the table's column lengths (scraped text can be anything),
    without two rows left holding one key."""
    lengths = {
        c.name: c.type.length
        for c in table.columns
        if isinstance(c.type, String) and c.type.length
    }
    # keys given in the rows themselves (an autoincrement id is not)
    keys = [c.name for c in table.primary_key.columns if c.name in rows[0]]
    fitted: dict[tuple[Any, ...], dict[str, Any]] = {}
    for number, row in enumerate(rows):
        row = {
            name: value[: lengths[name]]
            if name in lengths and isinstance(value, str)
            else value
            for name, value in row.items()
        }
        key = tuple(row[k] for k in keys) if keys else (number,)
        fitted.setdefault(key, row)
    return list(fitted.values())


def _drop_gone_from_index(session: Session) -> None:
    gone = select(Opportunity.id).where(Opportunity.state.in_(("merged", "deleted")))
    for table in _INDEX_TABLES:
        session.execute(delete(table).where(table.c.opportunity_id.in_(gone)))


def index_rows(
    opportunity_id: str,
    state: str,
    golden: dict[str, Any],
    *,
    created: datetime,
    modified: datetime,
    change_no: int,
    provider_kinds: dict[str, str],
    indexed_hash: str | None = None,
) -> IndexRows:
    """The derived rows of one opportunity, from its golden record, with its
    list-page and change-feed records encoded as of ``change_no``.

    Pure, so that bulk loaders (the feed benchmark) build exactly what
    publishing builds.
    """
    eligibility = golden.get("eligibility") or {}
    search = {
        "opportunity_id": opportunity_id,
        "state": state,
        "in_scope": bool(golden.get("in_scope")),
        "opportunity_type": golden.get("opportunity_type"),
        "mode": golden.get("mode"),
        "age_min": _int_or_none(eligibility.get("age_min")),
        "age_max": _int_or_none(eligibility.get("age_max")),
        "closing_sort": _instant(golden.get("closing_date")) or NO_CLOSING_DATE,
        "newest_sort": _instant(golden.get("posted_date")) or created,
        "text": fold_text(
            " ".join(
                str(golden.get(name) or "")
                for name in ("title", "provider_name", "summary")
            )
        ),
        "indexed_hash": indexed_hash,
        "summary_doc": summary_document(opportunity_id, state, modified, golden),
        "feed_doc": feed_document(opportunity_id, state, modified, change_no, golden),
        "doc_change_no": change_no,
    }
    places = list(_places(opportunity_id, golden.get("locations") or []))
    return IndexRows(search, places, _tags(golden, eligibility, provider_kinds))


def fold_text(value: str) -> str:
    """Text as the search column holds it: case-folded, spaces collapsed."""
    return " ".join(value.casefold().split())


def _places(opportunity_id: str, locations: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for place in locations:
        if not isinstance(place, dict):
            continue
        lat, lon = place.get("lat"), place.get("lon")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            continue
        yield {
            "opportunity_id": opportunity_id,
            "outcode": place.get("outcode"),
            "lat": float(lat),
            "lon": float(lon),
            "local_authority": place.get("local_authority"),
            "local_authority_code": place.get("local_authority_code"),
            "region": place.get("region"),
        }


def _tags(
    golden: dict[str, Any],
    eligibility: dict[str, Any],
    provider_kinds: dict[str, str],
) -> list[str]:
    sources = [s for s in golden.get("sources") or [] if isinstance(s, str)]
    tags = {tag_for("source", s) for s in sources}
    tags |= {
        tag_for("provider_kind", provider_kinds[s])
        for s in sources
        if s in provider_kinds
    }
    tags |= {tag_for("criterion", c) for c in eligibility.get("criteria") or []}
    for place in golden.get("locations") or []:
        if isinstance(place, dict):
            tags |= _place_tags(place)
    return sorted(tags)


def _place_tags(place: dict[str, Any]) -> set[str]:
    tags = set()
    for kind, key in (
        ("la", "local_authority"),
        ("la", "local_authority_code"),
        ("region", "region"),
    ):
        if isinstance(place.get(key), str) and place[key].strip():
            tags.add(tag_for(kind, place[key]))
    return tags


def tag_for(kind: str, value: object) -> str:
    """One filter value as the tag table holds it (``kind:folded value``)."""
    return f"{kind}:{fold_text(str(value))}"[:200]


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


# --- reading the change feed --------------------------------------------------


@dataclass(frozen=True, order=True)
class FeedPosition:
    """A place in the change feed: after the item (modified, id); positions
    compare in the feed's order."""

    modified: datetime
    opportunity_id: str


def _as_published() -> tuple[ColumnElement[bool], Any, Any]:
    """Whether the stored record is of the opportunity's change number, and
    its state and scope as publishing recorded them where it is (matching
    rewrites the opportunity's own columns before publishing numbers the
    change). For queries joining ``opportunity_search`` to ``opportunities``."""
    fresh = OpportunitySearch.doc_change_no == Opportunity.change_no
    state = case((fresh, OpportunitySearch.state), else_=Opportunity.state)
    in_scope = case((fresh, OpportunitySearch.in_scope), else_=Opportunity.in_scope)
    return fresh, state, in_scope


def list_feed_page(
    session: Session, after: FeedPosition | None, limit: int, scope: str = "all"
) -> list[Row[Any]]:
    """Up to ``limit`` recorded opportunities after ``after``, by (modified, id);
    for scope ``published``, only those ever in scope (one never in scope was
    never sent, so it needs no tombstone).

    Rows (not ORM objects, which cost more to build than a page takes to read)
    of id, state, merged_into, in_scope (state and scope as last published
    where the stored record is of this change number), modified, change_no;
    the encoded change-feed record publishing stored (``feed_doc``, its UTF-8
    bytes on PostgreSQL and text on SQLite; None unless it was made from this
    change number: then :func:`list_goldens` has what to make it from); and
    ``has_events``, whether a merge or split of the id was recorded after
    ``after`` (:func:`list_id_events` then names them).
    """
    fresh, state, in_scope = _as_published()
    query = select(
        Opportunity.id,
        state.label("state"),
        Opportunity.merged_into,
        in_scope.label("in_scope"),
        Opportunity.modified,
        Opportunity.change_no,
        case((fresh, OpportunitySearch.feed_doc), else_=None).label("feed_doc"),
        _id_events(after.modified if after else None).exists().label("has_events"),
    )
    statement = _in_feed(query, after, scope).limit(limit)
    options = {TEXT_AS_UTF8: True}
    return list(session.execute(statement, execution_options=options))


def list_feed_positions(session: Session, scope: str = "all") -> Iterator[FeedPosition]:
    """The position of every item of the change feed, in its order (as
    :func:`list_feed_page` pages it), read in batches."""
    query = _in_feed(select(Opportunity.modified, Opportunity.id), None, scope)
    # closed when the caller stops early: on PostgreSQL it holds a cursor
    options = {"yield_per": INDEX_BATCH * 10}
    with closing(session.execute(query, execution_options=options)) as rows:
        for modified, opportunity_id in rows:
            yield FeedPosition(modified, opportunity_id)


def _in_feed(query: Select[Any], after: FeedPosition | None, scope: str) -> Select[Any]:
    """``query`` limited to the change feed's items after ``after``, in order."""
    _, _, in_scope = _as_published()
    query = query.outerjoin(
        OpportunitySearch, OpportunitySearch.opportunity_id == Opportunity.id
    ).where(Opportunity.change_no > 0)
    if scope == "published":
        query = query.where(
            or_(Opportunity.ever_in_scope, Opportunity.in_scope, in_scope)
        )
    if after is not None:
        query = query.where(
            tuple_(Opportunity.modified, Opportunity.id)
            > tuple_(after.modified, after.opportunity_id)
        )
    return query.order_by(Opportunity.modified, Opportunity.id)


def _id_event_conditions(since: datetime | None) -> list[ColumnElement[bool]]:
    # the kinds as literals, so that the planner may use the partial index
    kinds = bindparam("kinds", ID_EVENTS, expanding=True, literal_execute=True)
    conditions = [FeedChange.kind.in_(kinds)]
    if since is not None:
        conditions.append(FeedChange.at > since)
    return conditions


def _id_events(since: datetime | None) -> Select[Any]:
    """The merges and splits of the outer query's opportunity after ``since``."""
    return select(FeedChange.change_no).where(
        FeedChange.opportunity_id == Opportunity.id, *_id_event_conditions(since)
    )


def list_goldens(
    session: Session, opportunity_ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """The golden records of these opportunities, by id."""
    if not opportunity_ids:
        return {}
    query = select(Opportunity.id, Opportunity.golden).where(
        Opportunity.id.in_(opportunity_ids)
    )
    return {row.id: row.golden for row in session.execute(query)}


def list_id_events(
    session: Session, opportunity_ids: Sequence[str], since: datetime | None
) -> dict[str, list[FeedChange]]:
    """Merge and split changes of these opportunities recorded after ``since``."""
    if not opportunity_ids:
        return {}
    query = select(FeedChange).where(
        FeedChange.opportunity_id.in_(opportunity_ids), *_id_event_conditions(since)
    )
    found: dict[str, list[FeedChange]] = {}
    for change in session.scalars(query.order_by(FeedChange.change_no)):
        found.setdefault(change.opportunity_id, []).append(change)
    return found


# --- the published feed as a whole ---------------------------------------------


def list_published(
    session: Session, *, in_scope_only: bool = True
) -> Iterator[Opportunity]:
    """The published feed, in (modified, id) order, with members loaded."""
    conditions = _published() if in_scope_only else (Opportunity.state == "live",)
    query = (
        select(Opportunity)
        .where(*conditions)
        .options(
            selectinload(Opportunity.members)
            .selectinload(OpportunityMember.listing)
            .selectinload(Listing.source)
        )
        .order_by(Opportunity.modified, Opportunity.id)
        .execution_options(yield_per=500)
    )
    with closing(session.scalars(query)) as opportunities:
        yield from opportunities


def list_published_golden(
    session: Session, *, newest_first: bool = False, batch: int = 1000
) -> Iterator[tuple[str, datetime, int, dict[str, Any]]]:
    """(id, modified, change_no, golden) of the feed as last published, streamed.

    Where publishing stored a record of the opportunity's change number, that
    record is read back, with the state and scope it was published with, not
    the golden record: matching rewrites that before publishing records the
    change, and an export must change only with a recorded change (its ETag).
    """
    fresh, state, in_scope = _as_published()
    unstored = type_coerce(case((fresh, null()), else_=Opportunity.golden), JSON)
    order = (Opportunity.modified, Opportunity.id)
    query = (
        select(
            Opportunity.id,
            Opportunity.modified,
            Opportunity.change_no,
            case((fresh, OpportunitySearch.feed_doc), else_=None).label("doc"),
            unstored.label("golden"),
        )
        .outerjoin(
            OpportunitySearch, OpportunitySearch.opportunity_id == Opportunity.id
        )
        .where(state == "live", in_scope.is_(True))
        .order_by(*(c.desc() for c in order) if newest_first else order)
        .execution_options(yield_per=batch)
    )
    with closing(session.execute(query)) as rows:
        for row in rows:
            golden = json.loads(row.doc) if row.doc is not None else row.golden
            yield row.id, row.modified, row.change_no, golden or {}


def feed_version(session: Session | Connection) -> int:
    """The number of the last change recorded (0 before the first): whatever
    changes what the feed shows records a change, so equal numbers mean equal
    answers."""
    return session.scalar(select(func.max(FeedChange.change_no))) or 0


def count_changed_since(session: Session, change_no: int) -> int:
    """How many opportunities changed after change number ``change_no``."""
    changed = select(func.count(FeedChange.opportunity_id.distinct())).where(
        FeedChange.change_no > change_no
    )
    return session.scalar(changed) or 0


def feed_fingerprint(session: Session) -> str:
    """Changes whenever the recorded feed does: the last change and the count."""
    last = session.scalar(select(func.max(FeedChange.change_no))) or 0
    count = session.scalar(select(func.count()).select_from(Opportunity)) or 0
    return f"{last}-{count}"


def to_feed_record(opportunity: Opportunity) -> dict[str, Any]:
    """One published opportunity as a consumer reads it."""
    members = [m.listing for m in opportunity.members]
    return {
        "id": opportunity.id,
        "state": opportunity.state,
        "modified": opportunity.modified.isoformat(),
        "change_no": opportunity.change_no,
        **opportunity.golden,
        "listings": [
            {
                "source": listing.source.name,
                "source_key": listing.source_key,
                "url": listing.url,
                "status": listing.status,
                "first_seen": listing.first_seen.isoformat(),
                "last_seen": listing.last_seen.isoformat(),
                "licence": listing.source.licence,
                "attribution": listing.source.attribution,
            }
            for listing in sorted(members, key=lambda x: x.id)
        ],
    }
