"""Reading what the measure needs: areas from the gazetteer, opportunities and
the sources behind them from storage."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.coldspots.measure import (
    DEFAULT_RADIUS_KM,
    LOCAL_AUTHORITY,
    Area,
    CoverageReport,
    OpportunityRecord,
    measure_coverage,
)
from hub.exceptions import ConfigurationError
from pipelines.geo import Gazetteer, GazetteerFileError
from storage.models import CrawlRun, Listing, Opportunity, OpportunityMember, Source
from storage.session import make_engine, migrate, session_factory

logger = logging.getLogger(__name__)

COUNTED_STATES = ("live", "closed")


@dataclass(frozen=True)
class SourceNote:
    """A source whose listings the figures rest on, as last crawled."""

    name: str
    listings: int
    status: str | None
    replay: str | None
    newest_fetch: datetime | None


def load_areas(gazetteer: Gazetteer) -> list[Area]:
    """Current lower-tier and unitary authorities, which tile the UK."""
    return [
        Area(
            code=authority.gss_code or authority.code,
            name=authority.name,
            kind=LOCAL_AUTHORITY,
            region=authority.region or None,
            nation=authority.nation or None,
            population=authority.population,
            lat=authority.lat,
            lon=authority.lon,
        )
        for authority in gazetteer.local_authorities()
    ]


def load_opportunities(session: Session) -> list[OpportunityRecord]:
    """In-scope opportunities, live or closed, with when their listings were seen."""
    seen = _seen(session)
    query = select(
        Opportunity.id,
        Opportunity.state,
        Opportunity.in_scope,
        Opportunity.opportunity_type,
        Opportunity.closing_date,
        Opportunity.golden,
    ).where(Opportunity.state.in_(COUNTED_STATES), Opportunity.in_scope.is_(True))
    records = [
        _record(row, *seen.get(row.id, (None, None)))
        for row in session.execute(query.execution_options(yield_per=2000))
    ]
    logger.info("Loaded %d in-scope opportunities", len(records))
    return records


def _seen(session: Session) -> dict[str, tuple[datetime | None, datetime | None]]:
    query = (
        select(
            OpportunityMember.opportunity_id,
            func.min(Listing.first_seen),
            func.max(Listing.last_seen),
        )
        .join(Listing, Listing.id == OpportunityMember.listing_id)
        .group_by(OpportunityMember.opportunity_id)
    )
    return {
        opp_id: (_utc(first), _utc(last))
        for opp_id, first, last in session.execute(query)
    }


def _utc(value: Any) -> datetime | None:
    # min() and max() keep the column type, but guard against a naive stamp anyway
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _record(
    row: Any, first_seen: datetime | None, last_seen: datetime | None
) -> OpportunityRecord:
    golden = row.golden or {}
    return OpportunityRecord(
        id=row.id,
        opportunity_type=row.opportunity_type or golden.get("opportunity_type"),
        mode=golden.get("mode"),
        points=tuple(_points(golden.get("locations"))),
        state=row.state,
        in_scope=bool(row.in_scope),
        closing=row.closing_date,
        first_seen=first_seen,
        last_seen=last_seen,
    )


def _points(locations: Any) -> Iterator[tuple[float, float]]:
    for location in locations or []:
        if not isinstance(location, dict):
            continue
        lat, lon = location.get("lat"), location.get("lon")
        if isinstance(lat, int | float) and isinstance(lon, int | float):
            yield float(lat), float(lon)


def load_sources(session: Session, in_scope_only: bool = True) -> list[SourceNote]:
    """Every source with stored listings (in scope, by default), and its last run."""
    query = (
        select(Source.id, Source.name, func.count(), func.max(Listing.fetched_at))
        .join(Listing, Listing.source_id == Source.id)
        .group_by(Source.id, Source.name)
        .order_by(Source.name)
    )
    if in_scope_only:
        query = query.where(Listing.in_scope.is_(True))
    return [
        SourceNote(name, count, *_last_run(session, source_id), _utc(newest))
        for source_id, name, count, newest in session.execute(query)
    ]


def _last_run(session: Session, source_id: int) -> tuple[str | None, str | None]:
    run = session.scalar(
        select(CrawlRun)
        .where(CrawlRun.source_id == source_id)
        .order_by(CrawlRun.started.desc(), CrawlRun.id.desc())
        .limit(1)
    )
    return (run.status, run.replay) if run else (None, None)


def newest_fetch(session: Session, in_scope_only: bool = False) -> datetime | None:
    """The newest fetch time of any stored listing (or of in-scope ones)."""
    query = select(func.max(Listing.fetched_at))
    if in_scope_only:
        query = query.where(Listing.in_scope.is_(True))
    return _utc(session.scalar(query))


@dataclass(frozen=True)
class Measured:
    report: CoverageReport
    sources: list[SourceNote]


def measure_stored(
    database_url: str,
    geo_dir: str | None,
    as_of: datetime | None = None,
    radius_km: float = DEFAULT_RADIUS_KM,
    since: datetime | None = None,
    migrate_schema: bool = True,
) -> Measured:
    """Coverage of the stored feed against the operator's geography.

    Raises:
        ConfigurationError: no geography folder, or its files are unreadable.
    """
    gazetteer = _gazetteer(geo_dir)
    engine = make_engine(database_url)
    try:
        if migrate_schema:
            migrate(engine)
        with session_factory(engine)() as session:
            opportunities = load_opportunities(session)
            sources = load_sources(session)
    finally:
        engine.dispose()
    report = measure_coverage(
        load_areas(gazetteer),
        opportunities,
        as_of or datetime.now(UTC),
        radius_km=radius_km,
        since=since,
    )
    return Measured(report, sources)


def _gazetteer(geo_dir: str | None) -> Gazetteer:
    if not geo_dir:
        raise ConfigurationError(
            "coverage needs the geography: set HUB_GEO_DIR to a folder holding "
            "postcode_districts.csv and local_authorities.csv"
        )
    folder = Path(geo_dir)
    try:
        return Gazetteer.from_files(
            folder / "postcode_districts.csv", folder / "local_authorities.csv"
        )
    except GazetteerFileError as exc:
        raise ConfigurationError(str(exc)) from exc
