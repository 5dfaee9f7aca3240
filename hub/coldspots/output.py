"""The CSV of coverage, and the caveats every figure travels with."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from hub.coldspots.load import SourceNote
from hub.coldspots.measure import TYPES, AreaCoverage, CoverageReport

logger = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = (
    "kind",
    "code",
    "name",
    "region",
    "nation",
    "population",
    "lat",
    "lon",
    "in_person",
    "in_person_per_10k",
    "remote",
    "remote_per_10k",
    *(f"in_person_{t}" for t in TYPES),
    "in_person_since",
    "remote_since",
    "in_person_change",
    "remote_change",
)


def stamp(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "unknown"


def caveats(report: CoverageReport, sources: Sequence[SourceNote]) -> list[str]:
    """What the figures can and cannot show, one sentence or two per line."""
    return [
        f"Data as of {stamp(report.as_of)}: in-scope opportunities (apprenticeships, "
        "traineeships, internships and the like) that are live and whose closing "
        "date is after that time or not given.",
        _sources_line(sources),
        "Only what those sources list is counted: a low figure can be a gap in the "
        "sources crawled as much as a gap in opportunities.",
        f"In person means in person or hybrid with a location within "
        f"{report.radius_km:g} km of the area's centre (an authority's centroid; for "
        "a region, any of its authorities' centroids). Locations are mostly "
        "postcode-district centres, so distances are approximate by a few km.",
        f"Remote and national opportunities ({report.open_remote} open) reach every "
        "area alike: they are counted separately and are not in the in-person "
        "figures.",
        "Areas near borders share opportunities: one opportunity counts for every "
        "area within reach, so area counts do not add up to a total.",
        f"{report.open_unplaced} open in-person opportunities have no location with "
        "coordinates and are counted in no area.",
        "Per 10,000 residents of all ages (mid-2020 populations from the "
        "local-authority register), not per young person.",
        _since_line(report),
    ]


def _sources_line(sources: Sequence[SourceNote]) -> str:
    if not sources:
        return "Sources crawled: none with in-scope listings stored."
    parts = [
        f"{s.name} ({s.listings} in-scope listings, last run "
        f"{s.status or 'unknown'}{', replayed from a recording' if s.replay else ''}"
        f", newest fetch {stamp(s.newest_fetch)})"
        for s in sources
    ]
    return "Sources crawled: " + "; ".join(parts) + "."


def _since_line(report: CoverageReport) -> str:
    first = stamp(report.known_from)
    if report.since is None:
        return (
            f"No earlier date compared (--since). The hub first saw a listing {first}."
        )
    if not report.since_knowable:
        return (
            f"Change since {stamp(report.since)} cannot be shown: the hub first saw "
            f"a listing {first}, so earlier counts are unknown, not zero."
        )
    return (
        f"Change since {stamp(report.since)} compares with opportunities the hub "
        "knew to be open then: first seen by then and not closed by then (a closed "
        "one counts only up to its listings' last sighting). Opportunities open "
        f"then but never seen are missing. The hub first saw a listing {first}."
    )


def coverage_row(coverage: AreaCoverage) -> dict[str, str]:
    area = coverage.area
    values: dict[str, object] = {
        "kind": area.kind,
        "code": area.code,
        "name": area.name,
        "region": area.region,
        "nation": area.nation,
        "population": area.population,
        "lat": _number(area.lat, 5),
        "lon": _number(area.lon, 5),
        "in_person": coverage.in_person,
        "in_person_per_10k": _number(coverage.in_person_per_10k, 4),
        "remote": coverage.remote,
        "remote_per_10k": _number(coverage.remote_per_10k, 4),
        "in_person_since": coverage.in_person_since,
        "remote_since": coverage.remote_since,
        "in_person_change": coverage.in_person_change,
        "remote_change": _change(coverage.remote, coverage.remote_since),
    }
    for kind in TYPES:
        values[f"in_person_{kind}"] = (
            coverage.by_type.get(kind, 0) if coverage.in_person is not None else None
        )
    return {column: _text(values[column]) for column in COLUMNS}


def _number(value: float | None, places: int) -> str | None:
    return None if value is None else f"{value:.{places}f}"


def _change(now: int, then: int | None) -> int | None:
    return None if then is None else now - then


def _text(value: object) -> str:
    return "" if value is None else str(value)


def write_coverage_csv(
    report: CoverageReport, sources: Sequence[SourceNote], path: Path
) -> None:
    """The CSV, headed by ``# `` comment lines carrying the caveats; written to
    a temporary file first and moved into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        for line in caveats(report, sources):
            handle.write(f"# {line}\n")
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(coverage_row(c) for c in report.areas)
    partial.replace(path)
    logger.info("Wrote coverage of %d areas to %s", len(report.areas), path)
