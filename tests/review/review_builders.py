"""Small databases for the review tests, built through the storage layer.

Listings of our own making (invented providers, Royal Mail's example
postcodes), matched by the real ``match_listings`` and published, so the
review pages work on what the matcher really stores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.web.review.accounts import add_user
from storage.models import Listing, MatchPair, Source
from storage.repository import (
    ListingRow,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PASSWORD = "correct horse battery staple"
SOURCES = {"brightpath": 10, "jobs_board": 50, "careers_hub": 40}


@dataclass
class Spec:
    """One listing: what a source says, with defaults for the rest."""

    source: str
    key: str
    title: str
    provider: str = "Brightpath Trust"
    postcode: str = "SW1A 1AA"
    closing: datetime | None = None
    description: str = ""
    apply_url: str | None = None
    opportunity_type: str = "apprenticeship"
    url: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    columns: dict[str, Any] = field(default_factory=dict)


def _columns(spec: Spec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "provider_name": spec.provider,
        "opportunity_type": spec.opportunity_type,
        "in_scope": True,
        "closing_date": spec.closing,
        "postcode": spec.postcode,
        "outcode": spec.postcode.split()[0] if spec.postcode else None,
        "canonical_url": f"https://{spec.source}.example.org/o/{spec.key}",
        "apply_url": spec.apply_url,
        **spec.columns,
    }


def _fields(spec: Spec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "provider_name": spec.provider,
        "opportunity_type": spec.opportunity_type,
        "summary": spec.description[:80] or spec.title,
        "description_text": spec.description,
        "closing_date": spec.closing.isoformat() if spec.closing else None,
        "canonical_apply_url": spec.apply_url,
        "apply_url": spec.apply_url,
        "locations": [{"text": f"1 High Street, {spec.postcode}", "outcode": None}],
        **spec.extra,
    }


def add_listings(factory: sessionmaker[Session], specs: list[Spec]) -> None:
    with transaction(factory) as session:
        names = SOURCES | {
            spec.source: 50 for spec in specs if spec.source not in SOURCES
        }
        sources = {name: _source(session, name, rank) for name, rank in names.items()}
        for spec in specs:
            source = sources[spec.source]
            run = start_crawl_run(session, source, None)
            upsert_listings(session, source.id, run.id, [_row(spec)])


def _source(session: Session, name: str, rank: int) -> Source:
    return upsert_source(
        session,
        name=name,
        spider="schema_org",
        provider_kind="charity" if name == "brightpath" else "aggregator",
        trust_rank=rank,
        licence="OGL-UK-3.0",
        attribution=f"{name} listings.",
    )


def _row(spec: Spec) -> ListingRow:
    return ListingRow(
        source_key=spec.key,
        url=spec.url or f"https://{spec.source}.example.org/o/{spec.key}",
        content_hash=f"{spec.source}:{spec.key}",
        fetched_at=T0,
        status="active",
        columns=_columns(spec),
        fields=_fields(spec),
        raw={},
    )


def listing_id(factory: sessionmaker[Session], source: str, key: str) -> int:
    with factory() as session:
        found = session.scalar(
            select(Listing.id)
            .join(Source)
            .where(Source.name == source, Listing.source_key == key)
        )
    assert found is not None, f"no listing {source}:{key}"
    return found


def pairs_by_band(factory: sessionmaker[Session]) -> dict[str, list[MatchPair]]:
    with factory() as session:
        found: dict[str, list[MatchPair]] = {}
        for pair in session.scalars(select(MatchPair).order_by(MatchPair.score)):
            found.setdefault(pair.band, []).append(pair)
        return found


def migrated(url: str) -> sessionmaker[Session]:
    engine = make_engine(url)
    migrate(engine)
    return session_factory(engine)


def add_reviewer(
    factory: sessionmaker[Session], name: str, role: str = "reviewer"
) -> None:
    with transaction(factory) as session:
        add_user(session, name, role, PASSWORD)


def days(n: float) -> timedelta:
    return timedelta(days=n)


LAW = "A two-week residential summer school in law for year 12 students."
DIGITAL = "Learn digital marketing on the job, four days a week, with college."

# a pair the matcher is unsure of, and three listings it merges into one
MATCHED = [
    Spec(
        "brightpath",
        "law-1",
        "Summer School in Law",
        closing=T0 + days(20),
        description=LAW,
        opportunity_type="summer_school",
    ),
    Spec(
        "jobs_board",
        "law-2",
        "Law Summer School 2026",
        postcode="SW1A 2AA",
        closing=T0 + days(27),
        description="Apply now through the careers hub.",
        opportunity_type="summer_school",
    ),
    *(
        Spec(
            source,
            f"dm-{n}",
            "Digital Marketing Apprenticeship Level 3",
            provider="Northfield Media Ltd",
            postcode="M1 1AE",
            closing=T0 + days(40),
            description=DIGITAL,
            apply_url="https://northfield.example.org/apply/dm3",
        )
        for n, source in enumerate(SOURCES, start=1)
    ),
]
