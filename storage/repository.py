"""Repository functions, named by verb: ``get_``, ``list_``, ``upsert_``, ``start_``.

Writes that race (two crawls finding one listing) go through one
``INSERT ... ON CONFLICT DO UPDATE`` so no reader-then-writer gap exists.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, selectinload

from storage.models import (
    CrawlRun,
    Decision,
    Listing,
    Opportunity,
    OpportunityMember,
    Source,
    utcnow,
)


class Outcome(enum.StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class ListingRow:
    """One listing as the store pipeline hands it over."""

    source_key: str
    url: str
    content_hash: str
    fetched_at: datetime
    status: str
    columns: dict[str, Any]
    fields: dict[str, Any]
    raw: dict[str, Any]


def upsert_source(session: Session, **values: Any) -> Source:
    """Create or update a source by name, from its registry entry."""
    source = session.scalar(select(Source).where(Source.name == values["name"]))
    if source is None:
        source = Source(**values)
        session.add(source)
    else:
        for key, value in values.items():
            setattr(source, key, value)
    session.flush()
    return source


def get_source(session: Session, name: str) -> Source | None:
    return session.scalar(select(Source).where(Source.name == name))


def start_crawl_run(session: Session, source: Source, replay: str | None) -> CrawlRun:
    run = CrawlRun(source_id=source.id, replay=replay, status="running")
    session.add(run)
    session.flush()
    return run


def finish_crawl_run(
    session: Session,
    run_id: int,
    status: str,
    stats: dict[str, Any],
    error: str | None = None,
) -> CrawlRun:
    run = session.get_one(CrawlRun, run_id)
    run.status = status
    run.stats = stats
    run.error = error
    run.finished = utcnow()
    return run


def list_crawl_runs(session: Session, run_ids: Sequence[int]) -> list[CrawlRun]:
    query = select(CrawlRun).where(CrawlRun.id.in_(run_ids)).order_by(CrawlRun.id)
    return list(session.scalars(query))


def upsert_listings(
    session: Session, source_id: int, run_id: int, rows: Iterable[ListingRow]
) -> dict[str, Outcome]:
    """Insert or update listings by (source, source key); say what each one was.

    An unchanged listing (same content hash) has only ``last_seen``,
    ``fetched_at`` and ``seen_run_id`` touched. The newest fetch wins: a row
    fetched before the stored one (a slower crawl committing late) changes no
    field, only widens ``first_seen`` and ``last_seen`` and raises
    ``seen_run_id``, so concurrent crawls of one listing end on its newest
    content whatever order they commit in. A batch holding one key twice keeps
    the last row for it.
    """
    by_key = {row.source_key: row for row in rows}
    if not by_key:
        return {}
    values = [_listing_values(source_id, run_id, row) for row in by_key.values()]
    statement = _insert(session)(Listing).values(values)
    excluded = statement.excluded
    newest = excluded.fetched_at >= Listing.fetched_at
    changed = newest & (Listing.content_hash != excluded.content_hash)
    keep_if_same = {
        name: case((changed, getattr(excluded, name)), else_=getattr(Listing, name))
        for name in (*_UPDATABLE, "last_changed", "changed_run_id")
    }
    greatest, least = _extremes(session)
    statement = statement.on_conflict_do_update(
        index_elements=[Listing.source_id, Listing.source_key],
        set_={
            **keep_if_same,
            "fetched_at": greatest(Listing.fetched_at, excluded.fetched_at),
            "first_seen": least(Listing.first_seen, excluded.first_seen),
            "last_seen": greatest(Listing.last_seen, excluded.last_seen),
            "seen_run_id": greatest(Listing.seen_run_id, excluded.seen_run_id),
            # seen again: active or closed by its own dates, never still gone
            "status": case(
                (newest | (Listing.status == "gone"), excluded.status),
                else_=Listing.status,
            ),
        },
    ).returning(Listing.source_key, Listing.first_run_id, Listing.changed_run_id)
    outcomes: dict[str, Outcome] = {}
    for key, first_run, changed_run in session.execute(statement):
        if first_run == run_id:
            outcomes[key] = Outcome.NEW
        elif changed_run == run_id:
            outcomes[key] = Outcome.UPDATED
        else:
            outcomes[key] = Outcome.UNCHANGED
    return outcomes


_UPDATABLE = (
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
)


def _extremes(session: Session) -> tuple[Any, Any]:
    """The larger and smaller of two values, in the session's SQL dialect."""
    if session.bind.dialect.name == "sqlite":
        return func.max, func.min
    return func.greatest, func.least


def _insert(session: Session) -> Any:
    dialect = session.bind.dialect.name
    if dialect == "postgresql":
        return postgresql.insert
    if dialect == "sqlite":
        return sqlite.insert
    raise ValueError(f"unsupported database {dialect!r}: use SQLite or PostgreSQL")


def _listing_values(source_id: int, run_id: int, row: ListingRow) -> dict[str, Any]:
    return {
        **row.columns,
        "source_id": source_id,
        "source_key": row.source_key,
        "url": row.url,
        "fields": row.fields,
        "raw": row.raw,
        "content_hash": row.content_hash,
        "status": row.status,
        "fetched_at": row.fetched_at,
        "first_seen": row.fetched_at,
        "last_seen": row.fetched_at,
        "last_changed": row.fetched_at,
        "first_run_id": run_id,
        "seen_run_id": run_id,
        "changed_run_id": run_id,
    }


def list_listings(session: Session, *, active_only: bool = False) -> list[Listing]:
    query = select(Listing).order_by(Listing.id)
    if active_only:
        query = query.where(Listing.status == "active")
    return list(session.scalars(query))


def get_opportunity(session: Session, opportunity_id: str) -> Opportunity | None:
    """One opportunity with its member listings and their sources loaded."""
    query = (
        select(Opportunity)
        .where(Opportunity.id == opportunity_id)
        .options(
            selectinload(Opportunity.members)
            .selectinload(OpportunityMember.listing)
            .selectinload(Listing.source)
        )
    )
    return session.scalar(query)


def list_standing_decisions(session: Session) -> dict[tuple[int, int], Decision]:
    """The decision that stands on each pair of listings (smaller id first).

    Decisions are read in the order taken (at, id). On each pair a decision
    goes on top of the earlier ones and an ``undo`` takes the top one off, so
    undoing a decision that replaced another's brings that one back. A pair
    whose every decision was undone shows its last undo: it waits again.
    """
    stacks: dict[tuple[int, int], list[Decision]] = {}
    last_undo: dict[tuple[int, int], Decision] = {}
    for decision in session.scalars(
        select(Decision).order_by(Decision.at, Decision.id)
    ):
        a, b = decision.listing_a, decision.listing_b
        key = (a, b) if a < b else (b, a)
        stack = stacks.setdefault(key, [])
        if decision.kind == "undo":
            if stack:
                stack.pop()
            last_undo[key] = decision
        else:
            stack.append(decision)
    return {
        key: stack[-1] if stack else last_undo[key]
        for key, stack in stacks.items()
        if stack or key in last_undo
    }
