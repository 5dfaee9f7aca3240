"""Four crawl processes store the same listings at once: each listing ends on its
newest fetch, field by field, with no integrity error and no "database is
locked" on SQLite or PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.models import Listing
from storage.repository import (
    ListingRow,
    Outcome,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction
from tests.reliability.concurrency import plan_writers, run_case, run_concurrency

pytestmark = pytest.mark.db


@pytest.mark.slow
@pytest.mark.parametrize("reverse", [True, False], ids=["stale-last", "seeded"])
def test_four_writers_leave_each_listing_on_its_newest_fetch(
    database_url: str, tmp_path: Path, reverse: bool
) -> None:
    plans = plan_writers(seed=11, writers=4, listings=400, reverse=reverse)

    result = run_case(database_url, tmp_path, plans, "case")

    assert result.listings == 400
    assert all(len(p.keys) > 200 for p in plans)
    assert result.problems == []


def _row(key: str, fetched_at: datetime, title: str) -> ListingRow:
    return ListingRow(
        source_key=key,
        url=f"https://jobs.concurrency.example.org/{key}",
        content_hash=f"hash-{title}",
        fetched_at=fetched_at,
        status="active",
        columns={"title": title},
        fields={"title": title},
        raw={"title": title},
    )


def test_an_older_fetch_committed_late_changes_no_field(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    fresh = datetime(2023, 7, 2, 12, tzinfo=UTC)
    with transaction(factory) as session:
        source = upsert_source(
            session, name="late", spider="greenhouse", provider_kind="employer"
        )
        early_run = start_crawl_run(session, source, None).id
        late_run = start_crawl_run(session, source, None).id
        source_id = source.id
    with transaction(factory) as session:
        upsert_listings(session, source_id, late_run, [_row("a", fresh, "new title")])

    with transaction(factory) as session:
        stale = _row("a", fresh - timedelta(hours=1), "old title")
        outcomes = upsert_listings(session, source_id, early_run, [stale])

    with factory() as session:
        stored = session.query(Listing).one()
    engine.dispose()
    assert outcomes == {"a": Outcome.UNCHANGED}
    assert (stored.title, stored.fields, stored.raw) == (
        "new title",
        {"title": "new title"},
        {"title": "new title"},
    )
    assert stored.content_hash == "hash-new title"
    assert stored.fetched_at == stored.last_seen == fresh
    assert stored.first_seen == fresh - timedelta(hours=1)
    assert stored.seen_run_id == late_run
    assert stored.changed_run_id == late_run


@pytest.mark.slow
def test_run_concurrency_reports_plain_figures(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("HUB_TEST_DATABASE_URL", raising=False)

    figures = run_concurrency(tmp_path, seed=3, size=1)

    assert figures["tried"] == figures["survived"] == 1
    assert figures["lost"] == []
    assert any("sqlite case 0" in note for note in figures["notes"])
