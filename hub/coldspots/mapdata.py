"""What both maps draw: each authority as a point at its centroid, sized by
population and coloured by in-person opportunities per 10,000 residents.

No boundary files are available, so there are no shapes: a point stands for an
authority. The colour classes are "none" (nothing within reach), then the
quartiles of the areas that have some, so the scale follows the data; the
legend gives each class's lower bound.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from hub.coldspots.measure import LOCAL_AUTHORITY, AreaCoverage, CoverageReport

# The UK from the Isles of Scilly to Shetland, in degrees.
WEST, EAST, SOUTH, NORTH = -8.7, 1.9, 49.8, 60.9
MID_LATITUDE = (SOUTH + NORTH) / 2
NO_DATA = "#bdbdbd"
NONE_COLOUR = "#b2182b"  # nothing within reach: the cold spots
# from few to many, a ColorBrewer-style red-blue ramp readable by most colour
# vision deficiencies
RAMP = ("#f4a582", "#d1e5f0", "#67a9cf", "#2166ac")
MIN_RADIUS_PX, MAX_RADIUS_PX = 2.0, 11.0


@dataclass(frozen=True)
class ColourClass:
    colour: str
    lower: float | None  # None: no rate (no population or no centre)
    label: str


@dataclass(frozen=True)
class MapPoint:
    x: float
    y: float
    radius: float
    colour: str
    coverage: AreaCoverage


def colour_classes(rates: Sequence[float]) -> list[ColourClass]:
    """ "None", then up to four classes from the quartiles of the positive rates."""
    classes = [ColourClass(NONE_COLOUR, 0.0, "0")]
    positive = sorted(r for r in rates if r > 0)
    if positive:
        bounds = sorted({_round(_quantile(positive, q)) for q in (0, 0.25, 0.5, 0.75)})
        classes += [
            ColourClass(RAMP[i + len(RAMP) - len(bounds)], bound, f"{bound:g}+")
            for i, bound in enumerate(bounds)
        ]
    classes.append(ColourClass(NO_DATA, None, "no data"))
    return classes


def _quantile(ordered: Sequence[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _round(value: float) -> float:
    """Down to two significant figures, so a class's bound is a readable number."""
    if value <= 0:
        return 0.0
    scale = 10 ** (math.floor(math.log10(value)) - 1)
    return math.floor(value / scale) * scale


def colour_of(rate: float | None, classes: Sequence[ColourClass]) -> str:
    if rate is None:
        return NO_DATA
    if rate <= 0:
        return NONE_COLOUR
    chosen = RAMP[0]
    for cls in classes:
        if cls.colour in RAMP and cls.lower is not None and cls.lower <= rate:
            chosen = cls.colour
    return chosen


def project(lat: float, lon: float, width: float) -> tuple[float, float]:
    """Equirectangular, squeezed by the cosine of the middle latitude."""
    x = (lon - WEST) / (EAST - WEST) * width
    y = (NORTH - lat) / (NORTH - SOUTH) * map_height(width)
    return x, y


def map_height(width: float) -> float:
    squeeze = math.cos(math.radians(MID_LATITUDE))
    return width * (NORTH - SOUTH) / ((EAST - WEST) * squeeze)


def map_points(
    report: CoverageReport, width: float
) -> tuple[list[MapPoint], list[ColourClass]]:
    """Every authority with a centre inside the frame, largest first so the
    small ones are drawn on top."""
    areas = [
        a
        for a in report.of_kind(LOCAL_AUTHORITY)
        if a.area.lat is not None and a.area.lon is not None
    ]
    rates = [a.in_person_per_10k for a in areas if a.in_person_per_10k is not None]
    classes = colour_classes(rates)
    largest = max((a.area.population or 0 for a in areas), default=0) or 1
    points = [
        MapPoint(
            *project(a.area.lat, a.area.lon, width),  # type: ignore[arg-type]
            radius=_radius(a.area.population, largest),
            colour=colour_of(a.in_person_per_10k, classes),
            coverage=a,
        )
        for a in areas
    ]
    points.sort(key=lambda p: -p.radius)
    return points, classes


def _radius(population: int | None, largest: int) -> float:
    share = math.sqrt(max(population or 0, 0) / largest)
    return MIN_RADIUS_PX + (MAX_RADIUS_PX - MIN_RADIUS_PX) * share
