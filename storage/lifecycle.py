"""Listing lifecycle: closing dates that passed, listings gone from their source.

Policy (CRAWL-03): a listing is marked ``gone`` only when it is missing from
the two most recent finished runs of its source and both were *complete*:
status ``ok`` and a health verdict of ``ok``. A failed, partial or suspicious
run breaks the pair, so an outage never marks anything gone. A gone listing
seen again by either of those runs is ``active`` again.

A listing whose closing date has passed is ``closed``; a listing without a
closing date of its own takes its opportunity's (the merged record's) date.
Publishing derives each opportunity's state from its members.
"""

from __future__ import annotations

import fcntl
import logging
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Engine, func, select, text, update
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Listing, Opportunity, OpportunityMember
from storage.models_health import CrawlHealth

logger = logging.getLogger(__name__)

COMPLETE_RUNS_NEEDED = 2


@dataclass
class ExpireSummary:
    """Listings changed, by source id."""

    closed: dict[int, int] = field(default_factory=dict)
    gone: dict[int, int] = field(default_factory=dict)
    revived: dict[int, int] = field(default_factory=dict)


def expire_listings(
    session: Session, now: datetime | None, source_ids: Sequence[int]
) -> ExpireSummary:
    """Close what has passed its closing date; mark gone what left its source.

    With ``now`` None (a replay), each source's listings are judged as of the
    newest fetch of that source, and only the given sources are closed.
    """
    summary = ExpireSummary()
    if now is not None:
        summary.closed = close_passed(session, now)
    for source_id in source_ids:
        clock = data_clock(session, source_id)
        if now is None and clock is not None:
            summary.closed.update(close_passed(session, clock, source_id))
    for source_id in source_ids:
        runs = list_complete_pair(session, source_id)
        if runs is None:
            continue
        summary.revived[source_id] = revive_seen(session, source_id, runs[-1].id)
        summary.gone[source_id] = mark_gone(session, source_id, runs[-1].id)
    return summary


def close_passed(
    session: Session, now: datetime, source_id: int | None = None
) -> dict[int, int]:
    """Close active listings whose own, or whose opportunity's, closing date passed."""
    own = Listing.closing_date.is_not(None) & (Listing.closing_date < now)
    inherited = Listing.closing_date.is_(None) & Listing.id.in_(
        select(OpportunityMember.listing_id)
        .join(Opportunity, Opportunity.id == OpportunityMember.opportunity_id)
        .where(Opportunity.closing_date.is_not(None), Opportunity.closing_date < now)
    )
    conditions = [Listing.status == "active", own | inherited]
    if source_id is not None:
        conditions.append(Listing.source_id == source_id)
    query = (
        select(Listing.source_id, func.count())
        .where(*conditions)
        .group_by(Listing.source_id)
    )
    counts = {source: count for source, count in session.execute(query)}
    if counts:
        session.execute(
            update(Listing)
            .where(*conditions)
            .values(status="closed")
            .execution_options(synchronize_session=False)
        )
    return counts


def list_complete_pair(session: Session, source_id: int) -> list[CrawlRun] | None:
    """The source's two latest finished runs, newest first, if both are complete."""
    query = (
        select(CrawlRun, CrawlHealth.verdict)
        .outerjoin(CrawlHealth, CrawlHealth.run_id == CrawlRun.id)
        .where(CrawlRun.source_id == source_id, CrawlRun.status != "running")
        .order_by(CrawlRun.id.desc())
        .limit(COMPLETE_RUNS_NEEDED)
    )
    rows = session.execute(query).all()
    if len(rows) < COMPLETE_RUNS_NEEDED:
        return None
    if any(not is_complete(run.status, verdict) for run, verdict in rows):
        return None
    return [run for run, _ in rows]


def is_complete(status: str, verdict: str | None) -> bool:
    """Only an ok run with an ok health verdict may mark anything gone."""
    return status == "ok" and verdict == "ok"


def mark_gone(session: Session, source_id: int, older_run_id: int) -> int:
    """Active listings last seen before the older of the two complete runs."""
    result = session.execute(
        update(Listing)
        .where(
            Listing.source_id == source_id,
            Listing.status == "active",
            Listing.seen_run_id < older_run_id,
        )
        .values(status="gone")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def revive_seen(session: Session, source_id: int, older_run_id: int) -> int:
    """Gone listings that one of the two complete runs saw again."""
    result = session.execute(
        update(Listing)
        .where(
            Listing.source_id == source_id,
            Listing.status == "gone",
            Listing.seen_run_id >= older_run_id,
        )
        .values(status="active")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def data_clock(session: Session, source_id: int) -> datetime | None:
    """A source's newest fetch time: "now" for its replayed recording."""
    query = select(func.max(Listing.fetched_at)).where(Listing.source_id == source_id)
    return session.scalar(query)


def migrate_exclusively(engine: Engine) -> None:
    """Migrate with one migrator at a time (:func:`storage.session.migrate` holds
    the lock itself)."""
    from storage.session import migrate

    migrate(engine)


@contextmanager
def exclusive_stage(engine: Engine, name: str) -> Iterator[None]:
    """Hold a lock named ``name`` across processes and machines for a stage.

    PostgreSQL: a session advisory lock. SQLite: an exclusive file lock beside
    the database file (one machine only, as SQLite is).
    """
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine, name):
            yield
        return
    with _file_lock(engine, name):
        yield


@contextmanager
def _advisory_lock(engine: Engine, name: str) -> Iterator[None]:
    key = zlib.crc32(name.encode())
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            connection.commit()


@contextmanager
def _file_lock(engine: Engine, name: str) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = Path(f"{database}.{name}.lock")
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
