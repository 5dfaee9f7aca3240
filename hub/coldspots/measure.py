"""The pure core: opportunities within reach of each area, per 10,000 residents.

An opportunity held in person (``in_person`` or ``hybrid``; a missing mode is
read as in person, as enrichment does) counts for an area when any of its
locations lies within ``radius_km`` of the area's centre, once however many of
its locations do. For a region, "within reach" means within reach of any of the
region's authority centres. Opportunities open to anyone remotely (``remote``,
``national``) reach every area alike and are counted apart.

Distances are great-circle: points become unit vectors, and a point is within
``r`` of a centre when their dot product is at least ``cos(r / R)``, so a whole
chunk of the areas x points matrix is one matrix product.

"Open" is judged from what the hub saw (see :func:`known_open_at`): it cannot
know of an opportunity before it first saw one of its listings.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from pipelines.geo import EARTH_RADIUS_KM
from spiders.items import OpportunityType

logger = logging.getLogger(__name__)

DEFAULT_RADIUS_KM = 25.0
PER_RESIDENTS = 10_000
IN_PERSON_MODES = frozenset({"in_person", "hybrid"})
ANYWHERE_MODES = frozenset({"remote", "national"})
OTHER_TYPE = "other"
TYPES: tuple[str, ...] = (*(t.value for t in OpportunityType), OTHER_TYPE)
LOCAL_AUTHORITY = "local_authority"
REGION = "region"
# points per matrix product: areas x CHUNK_POINTS float64 stays a few tens of MB
CHUNK_POINTS = 8192


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    kind: str  # LOCAL_AUTHORITY or REGION
    region: str | None
    nation: str | None
    population: int | None
    lat: float | None
    lon: float | None


@dataclass(frozen=True)
class OpportunityRecord:
    """One published opportunity as the measure needs it."""

    id: str
    opportunity_type: str | None
    mode: str | None
    points: tuple[tuple[float, float], ...]  # (lat, lon) of each location
    state: str = "live"
    in_scope: bool = True
    closing: datetime | None = None
    first_seen: datetime | None = None  # earliest first_seen of its listings
    last_seen: datetime | None = None  # latest last_seen of its listings


@dataclass(frozen=True)
class AreaCoverage:
    area: Area
    in_person: int | None  # None when the area has no centre
    remote: int
    by_type: dict[str, int] = field(default_factory=dict)
    in_person_since: int | None = None  # None when not measured or not knowable
    remote_since: int | None = None

    @property
    def in_person_per_10k(self) -> float | None:
        return per_residents(self.in_person, self.area.population)

    @property
    def remote_per_10k(self) -> float | None:
        return per_residents(self.remote, self.area.population)

    @property
    def in_person_change(self) -> int | None:
        if self.in_person is None or self.in_person_since is None:
            return None
        return self.in_person - self.in_person_since


@dataclass(frozen=True)
class CoverageReport:
    as_of: datetime
    radius_km: float
    since: datetime | None
    known_from: datetime | None  # the earliest first sighting of any opportunity
    areas: tuple[AreaCoverage, ...]
    open_in_person: int
    open_unplaced: int  # open in person, but no location with coordinates
    open_remote: int
    types: tuple[str, ...] = TYPES

    @property
    def since_knowable(self) -> bool:
        """Whether the hub had started seeing listings by ``since``."""
        if self.since is None or self.known_from is None:
            return False
        return self.known_from <= self.since

    def of_kind(self, kind: str) -> list[AreaCoverage]:
        return [a for a in self.areas if a.area.kind == kind]


def per_residents(count: int | None, population: int | None) -> float | None:
    if count is None or not population or population <= 0:
        return None
    return count * PER_RESIDENTS / population


def known_open_at(record: OpportunityRecord, at: datetime) -> bool:
    """Whether the hub knew ``record`` to be open at ``at``.

    It was first seen by then, its closing date (if any) had not passed, and it
    had not already gone: a closed opportunity is taken as open only up to the
    last time one of its listings was seen.
    """
    if not record.in_scope or record.state not in ("live", "closed"):
        return False
    if record.first_seen is None or record.first_seen > at:
        return False
    if record.closing is not None and record.closing <= at:
        return False
    gone = record.state == "closed"
    return not (gone and (record.last_seen is None or record.last_seen < at))


def open_now(record: OpportunityRecord, as_of: datetime) -> bool:
    """Live, in scope, and its closing date after ``as_of`` or none."""
    if not record.in_scope or record.state != "live":
        return False
    if record.first_seen is not None and record.first_seen > as_of:
        return False
    return record.closing is None or record.closing > as_of


def measure_coverage(
    authorities: Sequence[Area],
    opportunities: Sequence[OpportunityRecord],
    as_of: datetime,
    radius_km: float = DEFAULT_RADIUS_KM,
    since: datetime | None = None,
) -> CoverageReport:
    """Coverage of every authority, and of every region made of them."""
    _check_arguments(radius_km, as_of, since)
    known_from = min(
        (r.first_seen for r in opportunities if r.first_seen is not None),
        default=None,
    )
    then_at = since if since and known_from and known_from <= since else None
    points = _Points.of(opportunities)
    placed = np.bincount(points.owner, minlength=len(opportunities)) > 0
    status = [
        _Status.of(r, as_of, then_at, bool(p))
        for r, p in zip(opportunities, placed, strict=True)
    ]
    regions = regions_of(authorities)
    la_counts, region_counts = _reach_counts(
        authorities, regions, opportunities, status, points, radius_km
    )
    remote = sum(s.now and not s.in_person for s in status)
    remote_then = sum(s.then and not s.in_person for s in status)
    measured_then = then_at is not None
    areas = [
        *_coverages(authorities, la_counts, remote, remote_then, measured_then),
        *_coverages(regions, region_counts, remote, remote_then, measured_then),
    ]
    report = CoverageReport(
        as_of=as_of,
        radius_km=radius_km,
        since=since,
        known_from=known_from,
        areas=tuple(areas),
        open_in_person=sum(s.now and s.in_person for s in status),
        open_unplaced=sum(s.now and s.in_person and not s.placed for s in status),
        open_remote=remote,
    )
    logger.info(
        "Measured %d areas: %d open in person (%d unplaced), %d open remotely",
        len(areas),
        report.open_in_person,
        report.open_unplaced,
        remote,
    )
    return report


@dataclass(frozen=True)
class _Status:
    now: bool
    then: bool
    in_person: bool
    placed: bool

    @classmethod
    def of(
        cls,
        record: OpportunityRecord,
        as_of: datetime,
        then_at: datetime | None,
        placed: bool,
    ) -> _Status:
        return cls(
            now=open_now(record, as_of),
            then=then_at is not None and known_open_at(record, then_at),
            in_person=(record.mode or "in_person") not in ANYWHERE_MODES,
            placed=placed,
        )


def _check_arguments(radius_km: float, as_of: datetime, since: datetime | None) -> None:
    half_earth = math.pi * EARTH_RADIUS_KM
    if not (math.isfinite(radius_km) and 0 <= radius_km <= half_earth):
        raise ValueError(
            f"radius_km must be between 0 and {half_earth:.0f}, got {radius_km}"
        )
    if as_of.tzinfo is None or (since is not None and since.tzinfo is None):
        raise ValueError("as_of and since must be timezone-aware datetimes")
    if since is not None and since > as_of:
        raise ValueError(
            f"since ({since.isoformat()}) is after as_of ({as_of.isoformat()})"
        )


def regions_of(authorities: Sequence[Area]) -> list[Area]:
    """One area per region, made of its authorities: their summed population
    (unknown if any is unknown) and population-weighted centre (for drawing)."""
    members: dict[str, list[Area]] = defaultdict(list)
    for authority in authorities:
        if authority.region:
            members[authority.region].append(authority)
    return [_region(name, group) for name, group in sorted(members.items())]


def _region(name: str, group: list[Area]) -> Area:
    populations = [a.population for a in group]
    nations = {a.nation for a in group}
    lat, lon = _weighted_centre(group)
    return Area(
        code=name,
        name=name,
        kind=REGION,
        region=name,
        nation=nations.pop() if len(nations) == 1 else None,
        population=None if None in populations else sum(populations),  # type: ignore[arg-type]
        lat=lat,
        lon=lon,
    )


def _weighted_centre(group: list[Area]) -> tuple[float | None, float | None]:
    placed = [(a.lat, a.lon, a.population or 1) for a in group if _has_centre(a)]
    if not placed:
        return None, None
    total = sum(w for _, _, w in placed)
    lat = sum(la * w for la, _, w in placed) / total  # type: ignore[operator]
    lon = sum(lo * w for _, lo, w in placed) / total  # type: ignore[operator]
    return lat, lon


def _has_centre(area: Area) -> bool:
    return _valid(area.lat, area.lon)


def _valid(lat: float | None, lon: float | None) -> bool:
    if lat is None or lon is None:
        return False
    return math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90


def unit_vectors(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(n, 3) points on the unit sphere; NaN rows for missing coordinates."""
    phi, lam = np.radians(lat), np.radians(lon)
    cos_phi = np.cos(phi)
    return np.column_stack((cos_phi * np.cos(lam), cos_phi * np.sin(lam), np.sin(phi)))


@dataclass(frozen=True)
class _Points:
    """Every valid location as a unit vector, with the index of its record; the
    points of one record are adjacent, in record order."""

    vectors: np.ndarray  # (points, 3)
    owner: np.ndarray  # (points,) record index, ascending

    @classmethod
    def of(cls, records: Sequence[OpportunityRecord]) -> _Points:
        owner = np.fromiter(
            (i for i, r in enumerate(records) for _ in r.points), dtype=np.int64
        )
        flat = [point for r in records for point in r.points]
        coords = np.array(flat, dtype=float).reshape(-1, 2)
        with np.errstate(invalid="ignore"):
            valid = np.isfinite(coords).all(axis=1) & (np.abs(coords[:, 0]) <= 90)
        vectors = unit_vectors(coords[valid, 0], coords[valid, 1])
        return cls(vectors=vectors, owner=owner[valid])

    def only(self, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The points of the records where ``keep`` is true; for each point, the
        rank of its record among the kept ones; and where each kept record's
        points start (one more entry than kept records)."""
        mask = keep[self.owner]
        _, first, rank = np.unique(
            self.owner[mask], return_index=True, return_inverse=True
        )
        starts = np.append(first, int(mask.sum())).astype(np.int64)
        return self.vectors[mask], rank.astype(np.int64), starts


def _reach_counts(
    authorities: Sequence[Area],
    regions: Sequence[Area],
    opportunities: Sequence[OpportunityRecord],
    status: Sequence[_Status],
    points: _Points,
    radius_km: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(areas x (types + 1)) counts: open now by type, then open at ``since``."""
    keep = np.array(
        [s.in_person and s.placed and (s.now or s.then) for s in status], dtype=bool
    )
    counted = np.flatnonzero(keep)
    weights = _weights(
        [opportunities[i] for i in counted], [status[i] for i in counted]
    )
    vectors, rank, starts = points.only(keep)
    centres = _centres(authorities)
    region_of = _region_of(authorities, regions)
    cos_limit = math.cos(radius_km / EARTH_RADIUS_KM)
    la_counts = np.zeros((len(authorities), weights.shape[1]), dtype=np.int64)
    region_counts = np.zeros((len(regions), weights.shape[1]), dtype=np.int64)
    for lo, hi in _chunks(starts, CHUNK_POINTS):
        first, last = starts[lo], starts[hi]
        record, area = _pairs_in_reach(
            centres, vectors[first:last], rank[first:last], cos_limit
        )
        la_counts += _tally(record, area, weights, len(authorities))
        in_region = region_of[area] >= 0
        record, region = _distinct(record[in_region], region_of[area[in_region]])
        region_counts += _tally(record, region, weights, len(regions))
    return la_counts, region_counts


def _pairs_in_reach(
    centres: np.ndarray, vectors: np.ndarray, rank: np.ndarray, cos_limit: float
) -> tuple[np.ndarray, np.ndarray]:
    """Every distinct (record, area) with a point of the record in reach."""
    with np.errstate(invalid="ignore"):
        point, area = np.nonzero(vectors @ centres.T >= cos_limit)
    return _distinct(rank[point], area)


def _distinct(left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    width = int(right.max()) + 1 if len(right) else 1
    pairs = np.unique(left * width + right)
    return pairs // width, pairs % width


def _tally(
    record: np.ndarray, area: np.ndarray, weights: np.ndarray, areas: int
) -> np.ndarray:
    """(areas x columns): how many records of each weight column reach each area."""
    chosen = weights[record]
    columns = [
        np.bincount(area[chosen[:, j]], minlength=areas) for j in range(chosen.shape[1])
    ]
    return np.column_stack(columns)


def _centres(areas: Sequence[Area]) -> np.ndarray:
    lat = np.array([np.nan if a.lat is None else a.lat for a in areas], dtype=float)
    lon = np.array([np.nan if a.lon is None else a.lon for a in areas], dtype=float)
    return unit_vectors(lat, lon)


def _weights(
    records: Sequence[OpportunityRecord], status: Sequence[_Status]
) -> np.ndarray:
    """One row per record: a 1 under its type if open now, and a 1 in the last
    column if open at ``since``."""
    index = {name: i for i, name in enumerate(TYPES)}
    other = index[OTHER_TYPE]
    weights = np.zeros((len(records), len(TYPES) + 1), dtype=bool)
    for row, (record, state) in enumerate(zip(records, status, strict=True)):
        if state.now:
            weights[row, index.get(record.opportunity_type or "", other)] = True
        weights[row, -1] = state.then
    return weights


def _region_of(authorities: Sequence[Area], regions: Sequence[Area]) -> np.ndarray:
    """Each authority's region index, -1 for none."""
    index = {region.name: i for i, region in enumerate(regions)}
    return np.array(
        [index.get(a.region or "", -1) for a in authorities], dtype=np.int64
    ).reshape(-1)


def _chunks(starts: np.ndarray, size: int) -> Iterator[tuple[int, int]]:
    """Ranges of records whose points number about ``size`` (at least one record)."""
    lo, count = 0, len(starts) - 1
    while lo < count:
        hi = int(np.searchsorted(starts, starts[lo] + size, side="right")) - 1
        hi = min(max(hi, lo + 1), count)
        yield lo, hi
        lo = hi


def _coverages(
    areas: Sequence[Area],
    counts: np.ndarray,
    remote: int,
    remote_then: int,
    measured_then: bool,
) -> Iterator[AreaCoverage]:
    for area, row in zip(areas, counts, strict=True):
        reachable = _has_centre(area)
        yield AreaCoverage(
            area=area,
            in_person=int(row[:-1].sum()) if reachable else None,
            remote=remote,
            by_type={t: int(n) for t, n in zip(TYPES, row[:-1], strict=True) if n},
            in_person_since=int(row[-1]) if measured_then and reachable else None,
            remote_since=remote_then if measured_then else None,
        )


def coldest(
    report: CoverageReport, count: int = 20, kind: str = LOCAL_AUTHORITY
) -> list[AreaCoverage]:
    """The areas with the fewest in-person opportunities per 10,000 residents;
    among equals, the most populous first (more young people affected)."""
    rated = [a for a in report.of_kind(kind) if a.in_person_per_10k is not None]
    rated.sort(
        key=lambda a: (a.in_person_per_10k, -(a.area.population or 0), a.area.name)
    )
    return rated[:count]


def best_covered(
    report: CoverageReport, count: int = 20, kind: str = LOCAL_AUTHORITY
) -> list[AreaCoverage]:
    rated = [a for a in report.of_kind(kind) if a.in_person_per_10k is not None]
    rated.sort(
        key=lambda a: (-a.in_person_per_10k, -(a.area.population or 0), a.area.name)
    )  # type: ignore[operator]
    return rated[:count]
