"""What a job killed part way leaves, and how the next one takes it up
(SQLite, and PostgreSQL when HUB_TEST_DATABASE_URL is set): crawl runs no
process holds any more, change numbers a rolled-back publish had taken, the
unfinished folder of a static publish."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, sessionmaker

from dedupe.adapter import match_listings
from hub.web.static import write_static
from storage.feed import publish_feed, record_change
from storage.health import record_health
from storage.integrity import check_database, check_published_folder, list_pending
from storage.lifecycle import (
    INTERRUPTED,
    close_interrupted_runs,
    expire_listings,
    hold_run,
    is_run_held,
)
from storage.models import CrawlRun, FeedChange, Listing, Opportunity, Source
from storage.models_health import CrawlHealth
from storage.repository import (
    ListingRow,
    finish_crawl_run,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

pytestmark = pytest.mark.db

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
HOLDER = """
import sys, time
from storage.lifecycle import hold_run
from storage.session import make_engine
with hold_run(make_engine(sys.argv[1]), int(sys.argv[2])):
    print("held", flush=True)
    time.sleep(600)
"""


@pytest.fixture
def engine(database_url: str) -> Iterator:
    engine = make_engine(database_url)
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(engine) -> sessionmaker[Session]:
    return session_factory(engine)


def _row(key: str) -> ListingRow:
    return ListingRow(
        source_key=key,
        url=f"https://jobs.example.org/{key}",
        content_hash=key,
        fetched_at=T0,
        status="active",
        columns={"title": f"Apprentice {key}", "in_scope": True},
        fields={"title": f"Apprentice {key}"},
        raw={},
    )


def _source(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as session:
        return upsert_source(
            session, name="board", spider="x", provider_kind="charity"
        ).id


def _start(factory: sessionmaker[Session], keys: list[str]) -> int:
    with transaction(factory) as session:
        source = session.scalar(select(Source))
        run = start_crawl_run(session, source, None)
        upsert_listings(session, source.id, run.id, [_row(k) for k in keys])
        return run.id


def _finish(factory: sessionmaker[Session], run_id: int, keys: int) -> None:
    with transaction(factory) as session:
        finish_crawl_run(session, run_id, "ok", {"store/new": keys})
        record_health(session, run_id)


def _close(factory: sessionmaker[Session]) -> list[int]:
    with transaction(factory) as session:
        return close_interrupted_runs(session)


@pytest.fixture
def holder(database_url: str) -> Iterator:
    """Start a process that holds a run, as a crawling job does; kill -9 it."""
    started: list[subprocess.Popen[str]] = []

    def hold(run_id: int) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", HOLDER, database_url, str(run_id)],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(child)
        assert child.stdout is not None and child.stdout.readline() == "held\n"
        return child

    yield hold
    for child in started:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_a_run_held_elsewhere_stays_running_until_its_process_is_killed(
    factory, holder
) -> None:
    _source(factory)
    run_id = _start(factory, ["a"])
    child = holder(run_id)

    assert _close(factory) == []

    child.send_signal(signal.SIGKILL)
    child.wait()
    closed = _wait_closed(factory)
    with factory() as session:
        run = session.get_one(CrawlRun, run_id)
        verdict = session.get_one(CrawlHealth, run_id).verdict

    assert closed == [run_id]
    assert (run.status, run.error, run.finished) == ("failed", INTERRUPTED, None)
    assert verdict == "failed"
    with factory() as session:
        left = {p.kind for p in list_pending(session)}
    assert not left & {"run_still_running", "run_interrupted", "run_not_judged"}


def _wait_closed(factory: sessionmaker[Session]) -> list[int]:
    """The server lets a killed client's locks go once it reads the closed socket."""
    for _ in range(100):
        closed = _close(factory)
        if closed:
            return closed
        time.sleep(0.05)
    return []


def test_a_run_this_process_holds_is_not_closed(engine, factory) -> None:
    _source(factory)
    run_id = _start(factory, ["a"])

    with hold_run(engine, run_id):
        with factory() as session:
            held = is_run_held(session, run_id)
        closed_while_held = _close(factory)
    closed_after = _close(factory)

    assert held
    assert closed_while_held == []
    assert closed_after == [run_id]


def test_an_interrupted_run_keeps_no_listing_from_being_marked_gone(factory) -> None:
    """Gone needs two complete runs in a row; an interrupted one in between
    never finished and tells nothing of the source, so it is passed over."""
    _source(factory)
    for keys in (["a", "b"], ["a", "c"]):
        _finish(factory, _start(factory, keys), 2)
    _start(factory, ["a"])  # killed before it finished
    _close(factory)
    _finish(factory, _start(factory, ["a", "c"]), 2)

    with transaction(factory) as session:
        summary = expire_listings(session, None, [session.scalar(select(Source.id))])
        statuses = dict(
            session.execute(select(Listing.source_key, Listing.status)).all()
        )

    assert statuses == {"a": "active", "b": "gone", "c": "active"}
    assert sum(summary.gone.values()) == 1


def test_change_numbers_run_on_without_a_gap_after_a_rolled_back_publish(
    factory,
) -> None:
    _source(factory)
    _finish(factory, _start(factory, ["a", "b", "c"]), 3)
    match_listings(factory)
    with pytest.raises(RuntimeError), transaction(factory) as session:
        for opportunity in session.scalars(select(Opportunity)):
            record_change(session, opportunity, "updated")
        raise RuntimeError("killed part way")

    publish_feed(factory)
    with factory() as session:
        numbers = list(session.scalars(select(FeedChange.change_no)))
        problems = check_database(session, settled=True)

    assert sorted(numbers) == [1, 2, 3]
    assert problems == []


def test_the_next_publish_removes_what_a_killed_one_left(factory, tmp_path) -> None:
    _source(factory)
    _finish(factory, _start(factory, ["a", "b"]), 2)
    match_listings(factory)
    publish_feed(factory)
    out = tmp_path / "site" / "feed"
    write_static(factory, out)
    unfinished = out.parent / "feed.tmp-killed"
    unfinished.mkdir()
    (unfinished / "index.json").write_text("{")
    (out.parent / ".feed.link-killed").symlink_to(unfinished.name)

    left = {p.kind for p in check_published_folder(out)}
    write_static(factory, out)

    assert left == {"unfinished_folder"}
    assert check_published_folder(out) == []
    assert not unfinished.exists()
    assert not (out.parent / ".feed.link-killed").is_symlink()


KILLED_MIGRATION = """
import os, signal, sys
from sqlalchemy import event
from storage.session import make_engine, migrate
engine = make_engine(sys.argv[1])
created = []

@event.listens_for(engine, "after_cursor_execute")
def _after(connection, cursor, statement, *args):
    if statement.lstrip().upper().startswith("CREATE TABLE"):
        created.append(statement)
        if len(created) == 3:
            os.kill(os.getpid(), signal.SIGKILL)

migrate(engine)
"""


def test_a_first_migration_killed_part_way_leaves_no_half_made_schema(
    database_url: str,
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILLED_MIGRATION, database_url], cwd=REPO, timeout=120
    )
    engine = make_engine(database_url)
    try:
        left = set(inspect(engine).get_table_names()) - {"alembic_version"}
        migrate(engine)
        with session_factory(engine)() as session:
            problems = check_database(session, settled=True)
    finally:
        engine.dispose()

    assert child.returncode == -signal.SIGKILL
    assert left == set()
    assert problems == []
