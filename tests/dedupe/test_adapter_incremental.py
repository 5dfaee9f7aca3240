"""Incremental matching through storage equals a full rebuild (SQLite, and
PostgreSQL when HUB_TEST_DATABASE_URL is set)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dedupe.adapter import (
    MatchSummary,
    match_listings,
    record_from_json,
    record_to_json,
    to_match_record,
)
from storage.models import Decision, Listing, MatchPair, OpportunityMember
from storage.models_match import MatchedListing
from storage.repository import (
    ListingRow,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
ROLES = ["Data Apprentice", "Summer School in Law", "Coding Bootcamp", "Mentoring"]
PLACES = ["LS1 4AP", "M1 1AE", "B1 1BB"]


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(database_url)
    migrate(engine)
    yield session_factory(engine)
    engine.dispose()


def _row(k: int, title: str | None = None, fetched: datetime = T0) -> ListingRow:
    title = title or f"{ROLES[k % 4]} {k % 3}"
    provider = f"Provider {k % 5}"
    return ListingRow(
        source_key=f"job-{k}",
        url=f"https://jobs.example.org/job/{k}",
        content_hash=f"{title}|{provider}",
        fetched_at=fetched,
        status="active",
        columns={
            "title": title,
            "provider_name": provider,
            "postcode": PLACES[k % 3],
            "outcode": PLACES[k % 3].split()[0],
        },
        fields={"title": title, "provider_name": provider},
        raw={},
    )


def _crawl(factory: sessionmaker[Session], source: str, rows: list[ListingRow]) -> None:
    with transaction(factory) as session:
        found = upsert_source(
            session, name=source, spider="schema_org", provider_kind="aggregator"
        )
        run = start_crawl_run(session, found, None)
        upsert_listings(session, found.id, run.id, rows)


def _decide(factory: sessionmaker[Session], pairs: list[tuple[int, int, str]]) -> None:
    with transaction(factory) as session:
        ids = list(session.scalars(select(Listing.id).order_by(Listing.id)))
        for a, b, kind in pairs:
            session.add(
                Decision(listing_a=ids[a], listing_b=ids[b], kind=kind, reviewer="r")
            )


def _outcome(factory: sessionmaker[Session]) -> tuple[set, list]:
    with transaction(factory) as session:
        groups: dict[str, set[int]] = {}
        for member in session.scalars(select(OpportunityMember)):
            groups.setdefault(member.opportunity_id, set()).add(member.listing_id)
        pairs = sorted(
            (p.listing_a, p.listing_b, p.score, p.band, p.explanation)
            for p in session.scalars(select(MatchPair))
        )
    return {frozenset(g) for g in groups.values()}, pairs


def _first_run(factory: sessionmaker[Session]) -> MatchSummary:
    _crawl(factory, "board_a", [_row(k) for k in range(0, 40)])
    _crawl(factory, "board_b", [_row(k) for k in range(20, 60)])
    return match_listings(factory)


CHANGES = [
    pytest.param([], [], id="nothing changed"),
    pytest.param([_row(k) for k in range(60, 70)], [], id="new listings"),
    pytest.param(
        [_row(k, f"Level 3 {ROLES[k % 4]}", T0 + timedelta(days=1)) for k in range(5)],
        [],
        id="edited listings",
    ),
    pytest.param(
        [_row(k) for k in range(60, 64)],
        [(20, 40, "cannot_link"), (0, 1, "must_link")],
        id="new listings and reviewer decisions",
    ),
]


@pytest.mark.parametrize(("rows", "decisions"), CHANGES)
def test_incremental_match_equals_full_rebuild(
    factory: sessionmaker[Session],
    rows: list[ListingRow],
    decisions: list[tuple[int, int, str]],
) -> None:
    _first_run(factory)
    if rows:
        _crawl(factory, "board_a", rows)
    _decide(factory, decisions)

    incremental = match_listings(factory)
    after_incremental = _outcome(factory)
    full = match_listings(factory, full=True)

    assert after_incremental == _outcome(factory)
    assert incremental.opportunities == full.opportunities
    assert incremental.compared < full.compared


def test_undone_cannot_link_is_compared_again(factory: sessionmaker[Session]) -> None:
    _first_run(factory)
    _decide(factory, [(20, 40, "cannot_link")])
    match_listings(factory)
    _decide(factory, [(20, 40, "undo")])

    match_listings(factory)
    after_incremental = _outcome(factory)
    match_listings(factory, full=True)

    assert after_incremental == _outcome(factory)


def test_first_match_marks_every_listing(factory: sessionmaker[Session]) -> None:
    summary = _first_run(factory)

    with transaction(factory) as session:
        marks = list(session.scalars(select(MatchedListing)))
        listings = {x.id: x for x in session.scalars(select(Listing))}
        matched = {m.listing_id: record_from_json(m.record) for m in marks}
        current = {
            k: record_from_json(record_to_json(to_match_record(x)))
            for k, x in listings.items()
        }
        changed_runs = {m.listing_id: m.changed_run_id for m in marks}
    assert summary.listings == len(marks) == 80
    assert matched == current
    assert changed_runs == {k: x.changed_run_id for k, x in listings.items()}


def test_a_listing_reference_is_a_source_id_when_distinctive() -> None:
    from storage.models import Source

    source = Source(
        name="faa", spider="find_an_apprenticeship", provider_kind="government"
    )

    def ids(reference: object) -> tuple[str, ...]:
        listing = Listing(
            id=1, source=source, title="Dental Nurse", last_seen=T0,
            fields={"reference": reference},
        )  # fmt: skip
        return to_match_record(listing).source_ids

    assert ids("VAC-1000123456") == ("VAC1000123456",)
    assert ids("296995") == ()
    assert ids(None) == ()
