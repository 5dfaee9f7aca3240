"""Listing lifecycle: closing dates that passed, listings gone from their source.

Policy (CRAWL-03): a listing is marked ``gone`` only when it is missing from
the two most recent finished runs of its source and both were *complete*:
status ``ok`` and a health verdict of ``ok``. A failed, partial or suspicious
run breaks the pair, so an outage never marks anything gone. A gone listing
seen again by either of those runs is ``active`` again.

A listing whose closing date has passed is ``closed``; a listing without a
closing date of its own takes its opportunity's (the merged record's) date.
Publishing derives each opportunity's state from its members.

A crawl run is held by the process crawling it (:func:`hold_run`): a lock the
operating system or the database drops with the process. A run still marked
``running`` whose lock nobody holds was interrupted (the job was killed, the
machine stopped): :func:`close_interrupted_runs` marks it ``failed`` with an
``interrupted`` error and leaves ``finished`` empty, because it never
finished. Such a run tells nothing about its source, so like a running one it
is no member of the pair above.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from storage.health import record_health
from storage.models import CrawlRun, Listing, Opportunity, OpportunityMember
from storage.models_health import CrawlHealth

logger = logging.getLogger(__name__)

COMPLETE_RUNS_NEEDED = 2
INTERRUPTED = "interrupted: the crawl's process stopped before the run finished"
# the first key of a crawl run's PostgreSQL advisory lock, the run id the second
_RUN_LOCK_NAME = "hub-crawl-run"


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
        .where(CrawlRun.source_id == source_id, CrawlRun.finished.is_not(None))
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


# --- crawl runs held by their process -------------------------------------------

# SQLite: one lock file per database, one locked byte per running crawl run.
# POSIX record locks belong to the process and all go when it closes any
# descriptor of the file, so each file is opened once and kept open, and the
# runs this process holds are remembered (its own locks never block it).
_run_files: dict[str, int] = {}
_runs_held: set[tuple[str, int]] = set()
_run_files_lock = threading.Lock()


@contextmanager
def hold_run(engine: Engine, run_id: int) -> Iterator[None]:
    """Hold crawl run ``run_id`` for this process while its crawl runs.

    Take it before the run's row is committed, so that nobody sees the run
    running and unheld. The lock goes with the process however it ends.
    """
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            keys = _run_keys(connection, run_id)
            connection.execute(text("SELECT pg_advisory_lock(:a, :b)"), keys)
            connection.commit()
            try:
                yield
            finally:
                _release(connection, keys)
        return
    path = _run_file(engine)
    if path is None:
        yield
        return
    with _run_files_lock:
        fcntl.lockf(_run_fd(path), fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run_id)
        _runs_held.add((path, run_id))
    try:
        yield
    finally:
        with _run_files_lock:
            fcntl.lockf(_run_fd(path), fcntl.LOCK_UN, 1, run_id)
            _runs_held.discard((path, run_id))


def _release(connection: Connection, keys: dict[str, int]) -> None:
    try:
        connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), keys)
        connection.commit()
    except DBAPIError:
        # the connection was lost (a server restart), and the lock with it
        connection.invalidate()


def is_run_held(session: Session, run_id: int) -> bool:
    """Whether some process (this one included) holds crawl run ``run_id``."""
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        connection = session.connection()
        keys = _run_keys(connection, run_id)
        taken = connection.scalar(text("SELECT pg_try_advisory_lock(:a, :b)"), keys)
        if taken:
            connection.execute(text("SELECT pg_advisory_unlock(:a, :b)"), keys)
        return not taken
    path = _run_file(bind)
    if path is None:
        return True
    with _run_files_lock:
        if (path, run_id) in _runs_held:
            return True
        fd = _run_fd(path)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, run_id)
        except OSError:
            return True
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, run_id)
        return False


def close_interrupted_runs(session: Session) -> list[int]:
    """Mark every running crawl run that no process holds as interrupted.

    Returns:
        The ids of the runs closed, each ``failed`` with a verdict to match.
    """
    closed = []
    running = select(CrawlRun.id).where(CrawlRun.status == "running")
    for run_id in list(session.scalars(running.order_by(CrawlRun.id))):
        if is_run_held(session, run_id):
            continue
        result = session.execute(
            update(CrawlRun)
            .where(CrawlRun.id == run_id, CrawlRun.status == "running")
            .values(status="failed", error=INTERRUPTED)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:
            session.expire_all()
            record_health(session, run_id)
            closed.append(run_id)
    if closed:
        logger.warning("Closed %d interrupted crawl run(s): %s", len(closed), closed)
    return closed


def _run_keys(connection: Connection, run_id: int) -> dict[str, int]:
    """The advisory lock's two keys: this schema's, so that databases sharing
    one server (a schema each) never hold each other's runs, and the run's."""
    schema = connection.scalar(text("SELECT current_schema()"))
    first = zlib.crc32(f"{_RUN_LOCK_NAME}:{schema}".encode())
    return {"a": first - 2**32 if first >= 2**31 else first, "b": run_id}


def _run_file(engine: Engine) -> str | None:
    database = engine.url.database
    if not database or database == ":memory:":
        return None
    return os.path.abspath(f"{database}.runs.lock")


def _run_fd(path: str) -> int:
    if path not in _run_files:
        _run_files[path] = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    return _run_files[path]
