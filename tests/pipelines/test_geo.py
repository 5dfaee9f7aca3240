from __future__ import annotations

import csv
import math
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.geo import (
    AmbiguousName,
    Gazetteer,
    GazetteerFileError,
    haversine_km,
    name_key,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "geo"
SHARED_GEO = Path(__file__).resolve().parents[3] / "shared" / "data" / "geo"
REAL_DISTRICTS = SHARED_GEO / "postcode_districts.csv"
REAL_AUTHORITIES = SHARED_GEO / "local_authorities.csv"

needs_real_data = pytest.mark.skipif(
    not (REAL_DISTRICTS.is_file() and REAL_AUTHORITIES.is_file()),
    reason=f"shared geography data not found in {SHARED_GEO}",
)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.from_files(
        FIXTURES / "postcode_districts.csv", FIXTURES / "local_authorities.csv"
    )


@pytest.fixture(scope="module")
def real_gazetteer() -> Gazetteer:
    if not (REAL_DISTRICTS.is_file() and REAL_AUTHORITIES.is_file()):
        pytest.skip(f"shared geography data not found in {SHARED_GEO}")
    return Gazetteer.from_files(REAL_DISTRICTS, REAL_AUTHORITIES)


# --- haversine -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "expected_km"),
    [
        pytest.param((51.5, -0.12), (51.5, -0.12), 0.0, id="same point"),
        pytest.param((0.0, 0.0), (0.0, 1.0), 111.19, id="one degree on the equator"),
        pytest.param(
            (51.5074, -0.1278), (53.4808, -2.2426), 262.0, id="London-Manchester"
        ),
        pytest.param((90.0, 0.0), (-90.0, 0.0), 20015.1, id="pole to pole"),
    ],
)
def test_haversine_km(
    a: tuple[float, float], b: tuple[float, float], expected_km: float
) -> None:
    assert haversine_km(*a, *b) == pytest.approx(expected_km, abs=1.0)


@given(
    st.floats(-90, 90), st.floats(-180, 180), st.floats(-90, 90), st.floats(-180, 180)
)
def test_haversine_is_symmetric_and_bounded(
    lat1: float, lon1: float, lat2: float, lon2: float
) -> None:
    there = haversine_km(lat1, lon1, lat2, lon2)

    assert there == pytest.approx(haversine_km(lat2, lon2, lat1, lon1), abs=1e-6)
    assert 0.0 <= there <= math.pi * 6371.01


@given(st.floats(), st.floats(), st.floats(), st.floats())
def test_haversine_never_crashes(a: float, b: float, c: float, d: float) -> None:
    distance = haversine_km(a, b, c, d)

    assert math.isnan(distance) or 0.0 <= distance <= math.pi * 6371.01


@pytest.mark.parametrize(
    ("name", "key"),
    [
        pytest.param("Redcar & Cleveland", "redcar and cleveland", id="ampersand"),
        pytest.param(" Birmingham ", "birmingham", id="padding"),
        pytest.param("King's Lynn", "kings lynn", id="apostrophe"),
        pytest.param("Stoke-on-Trent", "stoke on trent", id="hyphens"),
        pytest.param("St. Helens", "st helens", id="full stop"),
    ],
)
def test_name_key(name: str, key: str) -> None:
    assert name_key(name) == key


@given(st.text())
def test_name_key_is_stable(text: str) -> None:
    assert name_key(name_key(text)) == name_key(text)


# --- fixture gazetteer -----------------------------------------------------------


FIXTURE_AUTHORITIES = {
    "E06999001": ("Exampleton", "North West", "England"),
    "E07999002": ("Sampleshire Dales", "North West", "England"),
    "E06999005": ("Testford and Mockbury", "South East", "England"),
    "S12999006": ("Glen Placeholder", "Scotland", "Scotland"),
    "W06999007": ("Cwm Enghraifft and District", "Wales", "Wales"),
}


@pytest.mark.parametrize(
    ("outcode", "gss_code", "how"),
    [
        pytest.param("XM1", "E06999001", "name", id="district names its authority"),
        pytest.param("XM2", "E06999001", "name", id="official name in capitals"),
        pytest.param("M99", "E06999001", "name", id="trailing space in region name"),
        pytest.param("XW1", "W06999007", "name", id="ampersand matches and"),
        pytest.param("XG1", "S12999006", "name", id="Scottish authority"),
        pytest.param(
            "XM3", "E06999005", "replaced", id="abolished, follow replaced-by"
        ),
        pytest.param(
            "XM5", "E06999005", "partial_name", id="old town inside a merged name"
        ),
        pytest.param(
            "XM4", "E07999002", "nearest", id="county name, nearest lower-tier centroid"
        ),
    ],
)
def test_place_resolves_local_authority(
    gazetteer: Gazetteer, outcode: str, gss_code: str, how: str
) -> None:
    place = gazetteer.place(outcode)

    assert place is not None
    assert (place.local_authority_code, place.authority_match) == (gss_code, how)
    name, region, nation = FIXTURE_AUTHORITIES[gss_code]
    assert (place.local_authority, place.region, place.nation) == (name, region, nation)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("m99", id="lower case"),
        pytest.param(" M99 ", id="padded"),
        pytest.param("m99 9zz", id="full postcode gives its district"),
        pytest.param("M999ZZ", id="full postcode without a space"),
    ],
)
def test_place_accepts_outcode_spellings(gazetteer: Gazetteer, query: str) -> None:
    place = gazetteer.place(query)

    assert place is not None and place.outcode == "M99"


@pytest.mark.parametrize(
    ("text", "gss_codes"),
    [
        pytest.param("Exampleton", ["E06999001"], id="name"),
        pytest.param("exampleton borough council", ["E06999001"], id="official name"),
        pytest.param("e06999001", ["E06999001"], id="GSS code"),
        pytest.param("SDL", ["E07999002"], id="register code"),
        pytest.param("Old Testford", ["E06999005"], id="former, its successor"),
        pytest.param("E07999004", ["E06999005"], id="former code, its successor"),
        pytest.param("Sampleshire", ["E07999002"], id="county, its districts"),
        pytest.param("sampleshire county council", ["E07999002"], id="county name"),
        pytest.param("Testford", ["E06999005"], id="part of a name"),
        pytest.param("Nowhere", [], id="unknown"),
        pytest.param("", [], id="empty"),
    ],
)
def test_authorities_named(gazetteer: Gazetteer, text: str, gss_codes: list[str]):
    assert [a.gss_code for a in gazetteer.authorities_named(text)] == gss_codes


@pytest.mark.parametrize(
    ("text", "regions"),
    [
        pytest.param("north west", ["North West"], id="any case"),
        pytest.param(" Scotland ", ["Scotland"], id="a nation that is a region"),
        pytest.param("England", ["North West", "South East"], id="a nation's"),
        pytest.param("Atlantis", [], id="unknown"),
    ],
)
def test_regions_named(gazetteer: Gazetteer, text: str, regions: list[str]) -> None:
    assert gazetteer.regions_named(text) == regions


def test_regions_are_those_places_are_given(gazetteer: Gazetteer) -> None:
    regions = gazetteer.regions()

    assert {"North West", "South East", "Scotland", "Wales"} <= set(regions)
    assert regions == sorted(set(regions)) and "" not in regions


def test_place_keeps_district_fields(gazetteer: Gazetteer) -> None:
    place = gazetteer.place("XM1")

    assert place is not None
    assert (place.lat, place.lon, place.town) == (53.01, -2.01, "Exampleton Centre")


@pytest.mark.parametrize(
    ("outcode", "nation"),
    [
        pytest.param("XZ1", None, id="no coordinates and no name match"),
        pytest.param("XC1", None, id="outside the UK regions: no nearest fallback"),
    ],
)
def test_place_without_authority(
    gazetteer: Gazetteer, outcode: str, nation: str | None
) -> None:
    place = gazetteer.place(outcode)

    assert place is not None
    assert place.local_authority is None and place.local_authority_code is None
    assert place.nation == nation and place.authority_match is None


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("ZZ9", id="unknown district"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
    ],
)
def test_place_unknown(gazetteer: Gazetteer, query: str) -> None:
    assert gazetteer.place(query) is None


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        pytest.param(53.011, -2.012, "XM1", id="next to a centroid"),
        pytest.param(53.0, -2.0, "XM1", id="non-geographic district is never nearest"),
        pytest.param(
            53.021, -2.021, "M99", id="district with no live postcodes skipped"
        ),
        pytest.param(57.2, -4.1, "XG1", id="Scotland"),
        pytest.param(40.0, -3.7, None, id="too far from any district"),
        pytest.param(float("nan"), -2.0, None, id="not a number"),
        pytest.param(91.0, 0.0, None, id="latitude out of range"),
    ],
)
def test_nearest_outcode(
    gazetteer: Gazetteer, lat: float, lon: float, expected: str | None
) -> None:
    assert gazetteer.nearest_outcode(lat, lon) == expected


def test_local_authorities_are_current_lower_tier(gazetteer: Gazetteer) -> None:
    names = [a.name for a in gazetteer.local_authorities()]

    assert names == [
        "Cwm Enghraifft and District",
        "Exampleton",
        "Glen Placeholder",
        "Sampleshire Dales",
        "Testford and Mockbury",
    ]


def test_local_authorities_carry_coverage_fields(gazetteer: Gazetteer) -> None:
    by_name = {a.name: a for a in gazetteer.local_authorities(include_upper_tier=True)}

    assert "Sampleshire" in by_name
    exampleton = by_name["Exampleton"]
    assert (exampleton.population, exampleton.lat, exampleton.lon) == (
        100000,
        53.0,
        -2.0,
    )
    assert (exampleton.region, exampleton.nation) == ("North West", "England")
    assert exampleton.gss_code == "E06999001"


@given(text=st.text(max_size=20))
def test_place_never_crashes(gazetteer: Gazetteer, text: str) -> None:
    place = gazetteer.place(text)

    assert place is None or place.outcode


@given(lat=st.floats(allow_nan=True), lon=st.floats(allow_nan=True))
def test_nearest_outcode_never_crashes(
    gazetteer: Gazetteer, lat: float, lon: float
) -> None:
    result = gazetteer.nearest_outcode(lat, lon)

    assert result is None or isinstance(result, str)


# --- file errors -----------------------------------------------------------------


def _write_without(source: Path, target: Path, dropped: set[str]) -> Path:
    with source.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    columns = [c for c in rows[0] if c not in dropped]
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return target


@pytest.mark.parametrize(
    ("which", "dropped"),
    [
        pytest.param("postcode_districts.csv", {"Latitude", "Region"}, id="districts"),
        pytest.param("local_authorities.csv", {"gss-code"}, id="authorities"),
    ],
)
def test_wrong_columns_name_the_file_and_columns(
    tmp_path: Path, which: str, dropped: set[str]
) -> None:
    for name in ("postcode_districts.csv", "local_authorities.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    broken = _write_without(FIXTURES / which, tmp_path / which, dropped)

    with pytest.raises(GazetteerFileError) as excinfo:
        Gazetteer.from_files(
            tmp_path / "postcode_districts.csv", tmp_path / "local_authorities.csv"
        )

    message = str(excinfo.value)
    assert str(broken) in message
    assert all(f"'{column}'" in message for column in dropped)


def test_swapped_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(GazetteerFileError, match="local_authorities.csv: missing"):
        Gazetteer.from_files(
            FIXTURES / "local_authorities.csv", FIXTURES / "postcode_districts.csv"
        )


def test_missing_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"

    with pytest.raises(GazetteerFileError, match="nope.csv"):
        Gazetteer.from_files(missing, FIXTURES / "local_authorities.csv")


# --- the real files, read in place -----------------------------------------------


@needs_real_data
def test_real_files_load_fast() -> None:
    started = time.perf_counter()
    Gazetteer.from_files(REAL_DISTRICTS, REAL_AUTHORITIES)

    assert time.perf_counter() - started < 0.5


ENGLAND_LONDON = ("London", "England")
NI = ("Northern Ireland", "Northern Ireland")


@needs_real_data
@pytest.mark.parametrize(
    ("outcode", "authority", "region_nation"),
    [
        pytest.param("SW1A", "Westminster", ENGLAND_LONDON, id="Westminster"),
        pytest.param("CR2", "Croydon", ENGLAND_LONDON, id="Croydon, GEO-01 case 4"),
        pytest.param("M1", "Manchester", ("North West", "England"), id="Manchester"),
        pytest.param("EH1", "City of Edinburgh", ("Scotland",) * 2, id="Edinburgh"),
        pytest.param("CF10", "Cardiff", ("Wales", "Wales"), id="Cardiff"),
        pytest.param("LL55", "Gwynedd", ("Wales", "Wales"), id="rural Wales"),
        pytest.param("BT1", "Belfast", NI, id="Belfast"),
        pytest.param("BT18", "Ards and North Down", NI, id="pre-2015 NI district"),
        pytest.param("TA1", "Somerset", ("South West", "England"), id="new Somerset"),
        pytest.param("BA4", "Somerset", ("South West", "England"), id="was Mendip"),
        pytest.param("PO1", "Portsmouth", ("South East", "England"), id="county name"),
    ],
)
def test_real_districts_resolve(
    real_gazetteer: Gazetteer,
    outcode: str,
    authority: str,
    region_nation: tuple[str, str],
) -> None:
    place = real_gazetteer.place(outcode)

    assert place is not None
    assert place.local_authority == authority
    assert (place.region, place.nation) == region_nation


@needs_real_data
def test_real_westminster_gss_code(real_gazetteer: Gazetteer) -> None:
    place = real_gazetteer.place("sw1a 1aa")

    assert place is not None and place.local_authority_code == "E09000033"


@needs_real_data
def test_real_share_of_in_use_districts_resolved(real_gazetteer: Gazetteer) -> None:
    with REAL_DISTRICTS.open(newline="", encoding="utf-8") as handle:
        in_use = [
            row["Postcode"]
            for row in csv.DictReader(handle)
            if (row["Active postcodes"] or "0") != "0"
        ]
    places = [real_gazetteer.place(outcode) for outcode in in_use]
    resolved = [p for p in places if p is not None and p.local_authority_code]
    by_name = [p for p in resolved if p.authority_match == "name"]

    share = len(resolved) / len(in_use)
    print(  # shown with pytest -s; the figure goes into the report
        f"in use {len(in_use)}, resolved {len(resolved)} ({share:.1%}), "
        f"by exact name {len(by_name)} ({len(by_name) / len(in_use):.1%})"
    )
    assert len(in_use) == 2955
    assert share > 0.99


@needs_real_data
def test_real_nearest_outcode(real_gazetteer: Gazetteer) -> None:
    # Near Parliament Square; the nearest centroid is a SW1 district.
    outcode = real_gazetteer.nearest_outcode(51.5007, -0.1246)

    assert outcode is not None and outcode.startswith("SW1")


@needs_real_data
def test_real_local_authorities_for_coverage(real_gazetteer: Gazetteer) -> None:
    authorities = real_gazetteer.local_authorities()
    nations = {a.nation for a in authorities}

    assert nations == {"England", "Scotland", "Wales", "Northern Ireland"}
    assert all(a.current and a.lat is not None for a in authorities)
    assert sum(a.population or 0 for a in authorities) > 60_000_000


@pytest.mark.parametrize(
    ("text", "includes", "count"),
    [
        pytest.param("Kent", "Maidstone", 12, id="a county's districts"),
        pytest.param("E06000048", "Northumberland", 1, id="a former GSS code"),
        pytest.param("Greater London", "Islington", 33, id="the boroughs"),
        pytest.param("Northamptonshire", "West Northamptonshire", 2, id="abolished"),
    ],
)
def test_real_authorities_named(
    real_gazetteer: Gazetteer, text: str, includes: str, count: int
) -> None:
    found = real_gazetteer.authorities_named(text)

    assert includes in [a.name for a in found]
    assert len(found) == count
    assert all(a.current and a.lower_tier_or_unitary for a in found)


def test_real_a_county_s_former_district_does_not_bring_its_successor(
    real_gazetteer: Gazetteer,
) -> None:
    """The register names Surrey as Forest Heath's county: its successor, West
    Suffolk, says Suffolk, and is within Suffolk only."""
    surrey = [a.name for a in real_gazetteer.authorities_named("Surrey")]
    suffolk = [a.name for a in real_gazetteer.authorities_named("Suffolk")]

    assert "West Suffolk" not in surrey
    assert len(surrey) == 11
    assert "West Suffolk" in suffolk


@pytest.mark.parametrize(
    ("text", "names"),
    [
        pytest.param("Newcastle upon Tyne", ["Newcastle upon Tyne"], id="own name"),
        pytest.param("Hull", ["Kingston upon Hull"], id="a short name"),
        pytest.param("North Yorkshire", ["North Yorkshire"], id="county to unitary"),
    ],
)
def test_real_an_authority_s_own_name_is_itself(
    real_gazetteer: Gazetteer, text: str, names: list[str]
) -> None:
    """Not the combined authority that also goes by it, nor the county it was."""
    assert [a.name for a in real_gazetteer.authorities_named(text)] == names


@pytest.mark.parametrize("text", ["Kingston", "Newcastle", "City of"])
def test_real_a_name_of_several_authorities_is_ambiguous(
    real_gazetteer: Gazetteer, text: str
) -> None:
    with pytest.raises(AmbiguousName) as raised:
        real_gazetteer.authorities_named(text)

    assert len(raised.value.candidates) >= 2
    assert all(c.gss_code in str(raised.value) for c in raised.value.candidates)
