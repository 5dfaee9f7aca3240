"""``hub publish --out`` reads one state of the database: a run that publishes
while the folder is written changes none of its files (SQLite, and PostgreSQL
when HUB_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

import hub.web.static as static
from dedupe.adapter import match_listings
from storage.feed import publish_feed
from storage.integrity import check_published_folder
from storage.models import Listing
from storage.repository import (
    ListingRow,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
TITLES = ["Data Apprentice", "Legal Trainee", "Summer School in Law", "Coding Bootcamp"]


def _row(number: int, title: str) -> ListingRow:
    return ListingRow(
        source_key=f"job-{number}",
        url=f"https://jobs.example.org/{number}",
        content_hash=title,
        fetched_at=T0,
        status="active",
        columns={
            "title": title,
            "in_scope": True,
            "opportunity_type": "apprenticeship",
        },
        fields={"title": title, "provider_name": f"Provider {number}"},
        raw={},
    )


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        source = upsert_source(
            session, name="board", spider="x", provider_kind="charity"
        )
        run = start_crawl_run(session, source, None)
        upsert_listings(
            session, source.id, run.id, [_row(n, t) for n, t in enumerate(TITLES)]
        )
    match_listings(factory)
    publish_feed(factory)
    yield factory
    engine.dispose()


def test_a_run_publishing_meanwhile_leaves_the_folder_of_one_state(
    factory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the pages and the exports, half the listings close and the
    change is published: the exports must still hold what the pages hold."""
    write_rpde = static._write_rpde

    def pages_then_a_run(*args: Any) -> tuple[int, int]:
        written = write_rpde(*args)
        with transaction(factory) as session:
            half = list(session.scalars(select(Listing.id)))[::2]
            session.execute(
                update(Listing).where(Listing.id.in_(half)).values(status="closed")
            )
        publish_feed(factory)
        return written

    monkeypatch.setattr(static, "_write_rpde", pages_then_a_run)
    out = tmp_path / "site" / "feed"
    static.write_static(factory, out, page_size=2)

    assert check_published_folder(out) == []
    assert len((out / "export.jsonl").read_text().splitlines()) == len(TITLES)
