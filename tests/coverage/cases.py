"""An invented little country for the coverage tests.

Areas lie on the meridian 1 deg W, where a degree of latitude is about 111.2 km:
Harbourside (54.0) and Moorland (54.5) are 55.6 km apart. Capital sits in the
south; Nowhere has no centre, Unknownshire no population.
"""

from __future__ import annotations

from datetime import UTC, datetime

from hub.coldspots.measure import LOCAL_AUTHORITY, Area, OpportunityRecord

AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SINCE = datetime(2026, 2, 20, 12, 0, tzinfo=UTC)
SEEN = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
LAST_SEEN = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def area(
    code: str,
    name: str,
    region: str,
    population: int | None,
    lat: float | None,
    lon: float | None = -1.0,
) -> Area:
    return Area(code, name, LOCAL_AUTHORITY, region, "England", population, lat, lon)


AREAS = [
    area("HBR", "Harbourside", "North", 100_000, 54.0),
    area("MOR", "Moorland", "North", 20_000, 54.5),
    area("CAP", "Capital", "South", 500_000, 51.5, -0.1),
    area("NOW", "Nowhere", "South", 10_000, None, None),
    area("UNK", "Unknownshire", "South", None, 52.0),
]


def opportunity(
    id: str,
    points: tuple[tuple[float, float], ...],
    kind: str = "apprenticeship",
    mode: str | None = "in_person",
    **changes: object,
) -> OpportunityRecord:
    values: dict[str, object] = {
        "state": "live",
        "in_scope": True,
        "closing": None,
        "first_seen": SEEN,
        "last_seen": LAST_SEEN,
    }
    values.update(changes)
    return OpportunityRecord(id, kind, mode, points, **values)  # type: ignore[arg-type]


NEAR_CAPITAL = ((51.5, -0.2),)
OPPORTUNITIES = [
    # 11.1 km from Harbourside, 44.5 km from Moorland
    opportunity("o1", ((54.1, -1.0),)),
    # two places, 5.6 km from each of Harbourside and Moorland
    opportunity("o2", ((54.05, -1.0), (54.45, -1.0)), "traineeship", "hybrid"),
    opportunity("o3", NEAR_CAPITAL, "internship"),
    opportunity("o4", (), "mentoring", "remote"),
    opportunity("o5", NEAR_CAPITAL, "summer_school", "national"),
    opportunity("o6", NEAR_CAPITAL, closing=datetime(2026, 2, 25, tzinfo=UTC)),
    opportunity(
        "o7", NEAR_CAPITAL, state="closed", last_seen=datetime(2026, 2, 28, tzinfo=UTC)
    ),
    opportunity("o8", NEAR_CAPITAL, "job", in_scope=False),
    opportunity("o9", ()),
    opportunity("o10", NEAR_CAPITAL, first_seen=datetime(2026, 2, 25, tzinfo=UTC)),
]
