from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.coldspots import measure
from hub.coldspots.measure import (
    LOCAL_AUTHORITY,
    REGION,
    Area,
    CoverageReport,
    OpportunityRecord,
    coldest,
    known_open_at,
    measure_coverage,
    open_now,
    unit_vectors,
)
from pipelines.geo import haversine_km

from .cases import AREAS, AS_OF, OPPORTUNITIES, SEEN, SINCE, opportunity


def by_code(report: CoverageReport) -> dict[str, measure.AreaCoverage]:
    return {a.area.code: a for a in report.areas}


@pytest.fixture(scope="module")
def report() -> CoverageReport:
    return measure_coverage(AREAS, OPPORTUNITIES, AS_OF, since=SINCE)


@pytest.mark.parametrize(
    ("code", "in_person", "per_10k", "by_type"),
    [
        pytest.param(
            "HBR",
            2,
            0.2,
            {"apprenticeship": 1, "traineeship": 1},
            id="harbourside-counts-its-own-and-the-shared-two-place-one",
        ),
        pytest.param(
            "MOR", 1, 0.5, {"traineeship": 1}, id="moorland-o1-is-44km-away-too-far"
        ),
        pytest.param(
            "CAP",
            2,
            0.04,
            {"internship": 1, "apprenticeship": 1},
            id="capital-not-closed-out-of-scope-or-national-ones",
        ),
        pytest.param("NOW", None, None, {}, id="no-centre-no-count"),
        pytest.param("UNK", 0, None, {}, id="no-population-no-rate"),
        pytest.param(
            "North",
            2,
            2 / 12,
            {"apprenticeship": 1, "traineeship": 1},
            id="region-counts-a-shared-opportunity-once",
        ),
        pytest.param(
            "South",
            2,
            None,
            {"internship": 1, "apprenticeship": 1},
            id="region-with-an-unknown-population-has-no-rate",
        ),
    ],
)
def test_in_person_counts_per_area(report, code, in_person, per_10k, by_type):
    coverage = by_code(report)[code]

    assert coverage.in_person == in_person
    assert coverage.by_type == by_type
    if per_10k is None:
        assert coverage.in_person_per_10k is None
    else:
        assert coverage.in_person_per_10k == pytest.approx(per_10k)


def test_remote_and_national_are_counted_apart_and_alike(report):
    assert {a.remote for a in report.areas} == {2}
    assert report.open_remote == 2
    assert by_code(report)["MOR"].remote_per_10k == pytest.approx(1.0)


def test_totals_say_what_is_open_and_what_could_not_be_placed(report):
    assert (report.open_in_person, report.open_unplaced) == (5, 1)


def test_regions_are_made_of_their_authorities(report):
    regions = {a.area.name: a.area for a in report.of_kind(REGION)}

    assert sorted(regions) == ["North", "South"]
    assert regions["North"].population == 120_000
    assert regions["South"].population is None
    assert len(report.of_kind(LOCAL_AUTHORITY)) == len(AREAS)


@pytest.mark.parametrize(
    ("code", "since", "change"),
    [
        pytest.param("HBR", 2, 0, id="unchanged"),
        # o6 closed on 25 Feb, o7 was last seen on 28 Feb; o10 first seen on 25 Feb
        pytest.param("CAP", 3, -1, id="two-closed-since-one-new"),
        pytest.param("NOW", None, None, id="no-centre"),
    ],
)
def test_change_since_counts_what_was_known_open_then(report, code, since, change):
    coverage = by_code(report)[code]

    assert coverage.in_person_since == since
    assert coverage.in_person_change == change
    assert coverage.remote_since == 2


def test_change_before_the_first_sighting_is_unknown_not_zero():
    early = datetime(2026, 1, 1, tzinfo=UTC)

    report = measure_coverage(AREAS, OPPORTUNITIES, AS_OF, since=early)

    assert not report.since_knowable
    assert {a.in_person_since for a in report.areas} == {None}
    assert {a.remote_since for a in report.areas} == {None}


def test_a_wider_radius_reaches_further():
    report = measure_coverage(AREAS, OPPORTUNITIES, AS_OF, radius_km=50)

    assert by_code(report)["MOR"].in_person == 2


@pytest.mark.parametrize(
    ("record", "at", "expected"),
    [
        pytest.param(opportunity("a", ()), SINCE, True, id="live-seen-before"),
        pytest.param(
            opportunity("a", (), first_seen=AS_OF), SINCE, False, id="not-yet-seen"
        ),
        pytest.param(
            opportunity("a", (), closing=SINCE),
            SINCE,
            False,
            id="closes-at-that-instant",
        ),
        pytest.param(
            opportunity("a", (), state="closed", last_seen=SEEN),
            SINCE,
            False,
            id="closed-and-last-seen-before",
        ),
        pytest.param(
            opportunity("a", (), state="closed", last_seen=AS_OF),
            SINCE,
            True,
            id="closed-but-seen-after",
        ),
        pytest.param(
            opportunity("a", (), state="merged"), SINCE, False, id="merged-away"
        ),
        pytest.param(
            opportunity("a", (), in_scope=False), SINCE, False, id="out-of-scope"
        ),
        pytest.param(
            opportunity("a", (), first_seen=None), SINCE, False, id="never-seen"
        ),
    ],
)
def test_known_open_at(record, at, expected):
    assert known_open_at(record, at) is expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(opportunity("a", ()), True, id="live-no-closing-date"),
        pytest.param(
            opportunity("a", (), closing=datetime(2026, 3, 2, tzinfo=UTC)),
            True,
            id="closes-later",
        ),
        pytest.param(opportunity("a", (), closing=AS_OF), False, id="closes-as-of"),
        pytest.param(opportunity("a", (), state="closed"), False, id="closed"),
        pytest.param(opportunity("a", (), in_scope=False), False, id="out-of-scope"),
    ],
)
def test_open_now(record, expected):
    assert open_now(record, AS_OF) is expected


def test_coldest_puts_the_bigger_area_first_among_equals():
    report = measure_coverage(AREAS, OPPORTUNITIES[:1], AS_OF)

    names = [a.area.name for a in coldest(report)]

    assert names == ["Capital", "Moorland", "Harbourside"]


@pytest.mark.parametrize(
    ("radius_km", "as_of", "since"),
    [
        pytest.param(-1.0, AS_OF, None, id="negative-radius"),
        pytest.param(math.nan, AS_OF, None, id="nan-radius"),
        pytest.param(25.0, datetime(2026, 3, 1), None, id="naive-as-of"),
        pytest.param(25.0, SINCE, AS_OF, id="since-after-as-of"),
    ],
)
def test_bad_arguments_are_refused(radius_km, as_of, since):
    with pytest.raises(ValueError):
        measure_coverage(AREAS, OPPORTUNITIES, as_of, radius_km=radius_km, since=since)


def test_chunks_split_between_opportunities_count_the_same(monkeypatch):
    whole = measure_coverage(AREAS, OPPORTUNITIES, AS_OF, since=SINCE)
    monkeypatch.setattr(measure, "CHUNK_POINTS", 1)

    chunked = measure_coverage(AREAS, OPPORTUNITIES, AS_OF, since=SINCE)

    assert chunked == whole


def test_unit_vector_distances_agree_with_haversine():
    lat, lon = np.array([51.5, 54.0, 57.1]), np.array([-0.1, -1.0, -2.1])
    vectors = unit_vectors(lat, lon)

    angle = math.acos(min(1.0, float(vectors[0] @ vectors[2])))

    assert angle * measure.EARTH_RADIUS_KM == pytest.approx(
        haversine_km(51.5, -0.1, 57.1, -2.1), rel=1e-9
    )


UK_LAT = st.floats(min_value=49.9, max_value=60.8)
UK_LON = st.floats(min_value=-8.6, max_value=1.8)
POINT = st.tuples(UK_LAT, UK_LON)


def areas_at(centres: list[tuple[float, float]]) -> list[Area]:
    return [
        Area(f"A{i}", f"Area {i}", LOCAL_AUTHORITY, "R", "England", 1000, lat, lon)
        for i, (lat, lon) in enumerate(centres)
    ]


def records_at(places: list[list[tuple[float, float]]]) -> list[OpportunityRecord]:
    return [opportunity(f"o{i}", tuple(points)) for i, points in enumerate(places)]


@settings(max_examples=60, deadline=None)
@given(
    centres=st.lists(POINT, min_size=1, max_size=6),
    places=st.lists(st.lists(POINT, min_size=0, max_size=3), max_size=12),
    radius_km=st.floats(min_value=0, max_value=300),
)
def test_doubling_the_radius_never_lowers_a_count(centres, places, radius_km):
    areas, records = areas_at(centres), records_at(places)

    near = measure_coverage(areas, records, AS_OF, radius_km=radius_km)
    far = measure_coverage(areas, records, AS_OF, radius_km=2 * radius_km)

    for small, large in zip(near.areas, far.areas, strict=True):
        assert large.in_person >= small.in_person
        for kind, count in small.by_type.items():
            assert large.by_type[kind] >= count


@settings(max_examples=60, deadline=None)
@given(
    centres=st.lists(POINT, min_size=1, max_size=5),
    places=st.lists(st.lists(POINT, min_size=1, max_size=3), max_size=10),
    radius_km=st.floats(min_value=1, max_value=300),
)
def test_counts_match_a_point_by_point_haversine(centres, places, radius_km):
    report = measure_coverage(areas_at(centres), records_at(places), AS_OF, radius_km)

    for (lat, lon), coverage in zip(centres, report.areas, strict=False):
        distances = [
            min(haversine_km(lat, lon, p_lat, p_lon) for p_lat, p_lon in points)
            for points in places
        ]
        if any(abs(d - radius_km) < 1e-6 for d in distances):
            continue  # on the edge: rounding may fall either way
        assert coverage.in_person == sum(d <= radius_km for d in distances)


def test_an_area_far_from_everything_counts_nothing():
    lone = replace(AREAS[0], code="FAR", lat=60.5, lon=-1.0)

    report = measure_coverage([lone], OPPORTUNITIES, AS_OF)

    assert report.areas[0].in_person == 0


def test_several_locations_in_reach_count_once():
    spread = opportunity("many", ((54.0, -1.0), (54.01, -1.0), (53.99, -1.01)))

    report = measure_coverage(AREAS[:1], [spread], AS_OF)

    assert report.areas[0].in_person == 1
