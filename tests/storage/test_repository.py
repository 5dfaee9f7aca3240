from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.models import CrawlRun, Listing, Source
from storage.repository import (
    ListingRow,
    Outcome,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def row(key: str, title: str, fetched: datetime = T0, digest: str | None = None):
    return ListingRow(
        source_key=key,
        url=f"https://brightpath.example.org/opportunities/{key}",
        content_hash=digest or title,
        fetched_at=fetched,
        status="active",
        columns={"title": title},
        fields={"title": title},
        raw={},
    )


@pytest.fixture
def factory(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


@pytest.fixture
def source_id(factory):
    with transaction(factory) as session:
        return upsert_source(
            session, name="brightpath", spider="schema_org", provider_kind="charity"
        ).id


def new_run(factory, source_id) -> int:
    with transaction(factory) as session:
        return start_crawl_run(session, session.get(Source, source_id), None).id


def upsert(factory, source_id, run_id, rows):
    with transaction(factory) as session:
        return upsert_listings(session, source_id, run_id, rows)


def test_upsert_says_new_updated_and_unchanged(factory, source_id):
    run1, run2 = new_run(factory, source_id), new_run(factory, source_id)
    upsert(factory, source_id, run1, [row("a", "Summer School"), row("b", "Mentor")])

    later = T0 + timedelta(days=1)
    outcomes = upsert(
        factory,
        source_id,
        run2,
        [
            row("a", "Summer School", later),
            row("b", "Mentor (Law)", later),
            row("c", "X"),
        ],
    )

    assert outcomes == {
        "a": Outcome.UNCHANGED,
        "b": Outcome.UPDATED,
        "c": Outcome.NEW,
    }


@pytest.mark.db
def test_an_unchanged_listing_has_only_last_seen_touched(factory, source_id):
    run1, run2 = new_run(factory, source_id), new_run(factory, source_id)
    upsert(factory, source_id, run1, [row("a", "Summer School")])
    upsert(
        factory, source_id, run2, [row("a", "Summer School", T0 + timedelta(days=2))]
    )

    with factory() as session:
        listing = session.scalars(select(Listing)).one()
    assert listing.first_seen == T0
    assert listing.last_changed == T0
    assert listing.last_seen == T0 + timedelta(days=2)
    assert listing.changed_run_id == run1
    assert listing.seen_run_id == run2


def test_an_older_fetch_stored_later_widens_first_seen_and_changes_no_field(
    factory, source_id
):
    run1, run2 = new_run(factory, source_id), new_run(factory, source_id)
    upsert(factory, source_id, run1, [row("a", "A", T0 + timedelta(days=3))])
    upsert(factory, source_id, run2, [row("a", "A (changed)", T0)])

    with factory() as session:
        listing = session.scalars(select(Listing)).one()
    assert listing.first_seen == T0
    assert listing.last_seen == T0 + timedelta(days=3)
    assert listing.title == "A"


def test_a_batch_holding_one_key_twice_keeps_the_last(factory, source_id):
    run = new_run(factory, source_id)

    outcomes = upsert(factory, source_id, run, [row("a", "First"), row("a", "Second")])

    with factory() as session:
        titles = session.scalars(select(Listing.title)).all()
    assert outcomes == {"a": Outcome.NEW}
    assert titles == ["Second"]


def test_datetimes_come_back_aware_in_utc(factory, source_id):
    run = new_run(factory, source_id)
    upsert(factory, source_id, run, [row("a", "A")])

    with factory() as session:
        started = session.scalars(select(CrawlRun.started)).one()
        first_seen = session.scalars(select(Listing.first_seen)).one()
    assert started.tzinfo is not None
    assert first_seen == T0 and first_seen.utcoffset() == timedelta(0)


def test_sqlite_connections_use_wal_and_a_busy_timeout(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'x.sqlite'}")

    with engine.connect() as connection:
        journal = connection.exec_driver_sql("PRAGMA journal_mode").scalar()
        timeout = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert journal == "wal"
    assert timeout >= 5000


def test_a_gone_listing_seen_again_unchanged_is_active_again(factory, source_id):
    run1, run2 = new_run(factory, source_id), new_run(factory, source_id)
    upsert(factory, source_id, run1, [row("a", "Summer School")])
    with transaction(factory) as session:
        session.scalars(select(Listing)).one().status = "gone"

    outcomes = upsert(factory, source_id, run2, [row("a", "Summer School")])

    with factory() as session:
        assert session.scalars(select(Listing.status)).one() == "active"
    assert outcomes == {"a": Outcome.UNCHANGED}


def test_migrating_twice_at_once_is_safe(database_url):
    from concurrent.futures import ThreadPoolExecutor

    engines = [make_engine(database_url) for _ in range(2)]
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(migrate, engines))

    for engine in engines:
        engine.dispose()
