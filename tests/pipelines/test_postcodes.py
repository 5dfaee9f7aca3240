from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.postcodes import (
    POSTCODE_AREAS,
    PostcodeMatch,
    find_postcodes,
    normalise_postcode,
)

SHARED_DISTRICTS = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "data"
    / "geo"
    / "postcode_districts.csv"
)


def full(postcode: str) -> PostcodeMatch:
    outcode, incode = postcode.split()
    return PostcodeMatch(postcode, outcode, incode, "full")


def outcode_only(outcode: str) -> PostcodeMatch:
    return PostcodeMatch(None, outcode, None, "outcode")


def area(outcode: str) -> str:
    return re.sub(r"[0-9].*", "", outcode)


# GEO-01, inputs 1-9 exactly as stated in CASES.md.
GEO_01 = [
    pytest.param("sw1a1aa", [full("SW1A 1AA")], id="GEO-01 1 lower case, no space"),
    pytest.param("SW1A  1AA", [full("SW1A 1AA")], id="GEO-01 2 double space"),
    pytest.param("Sw1a 1aa", [full("SW1A 1AA")], id="GEO-01 3 mixed case"),
    pytest.param(
        "Venue: Example Hall, 10 Example Street, Croydon CR2 6XH, UK",
        [full("CR2 6XH")],
        id="GEO-01 4 inside an address",
    ),
    pytest.param(
        "Location: Manchester M1", [outcode_only("M1")], id="GEO-01 5 outcode only"
    ),
    pytest.param("dn551pt", [full("DN55 1PT")], id="GEO-01 6 two-digit district"),
    pytest.param("Course code A12 77Y", [], id="GEO-01 7 invalid inward code"),
    pytest.param("Call 0161 496 0000", [], id="GEO-01 8 phone number"),
    pytest.param("EC1A1BB.", [full("EC1A 1BB")], id="GEO-01 9 trailing full stop"),
]


@pytest.mark.parametrize(("text", "expected"), GEO_01)
def test_geo_01_find_postcodes(text: str, expected: list[PostcodeMatch]) -> None:
    assert find_postcodes(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("M1 1AE", [full("M1 1AE")], id="single-letter area"),
        pytest.param("W1A 0AX", [full("W1A 0AX")], id="district with a letter"),
        pytest.param("b33 8th", [full("B33 8TH")], id="lower case two digits"),
        pytest.param("CR2\t6XH", [full("CR2 6XH")], id="tab between the parts"),
        pytest.param("CR2\u00a06XH", [full("CR2 6XH")], id="non-breaking space"),
        pytest.param("(LS1 4AP)", [full("LS1 4AP")], id="in brackets"),
        pytest.param("GIR 0AA", [full("GIR 0AA")], id="Girobank special case"),
        pytest.param(
            "Leeds LS1 4AP or Bradford BD1 1AA",
            [full("LS1 4AP"), full("BD1 1AA")],
            id="two postcodes in order",
        ),
        pytest.param(
            "SW1A 1AA; sw1a1aa", [full("SW1A 1AA")], id="repeats reported once"
        ),
        pytest.param("Postcode: M1", [outcode_only("M1")], id="postcode label"),
        pytest.param(
            "Location: Leeds LS1, Yorkshire",
            [outcode_only("LS1")],
            id="outcode followed by a county",
        ),
        pytest.param(
            "Based in Bristol BS1 (city centre)",
            [outcode_only("BS1")],
            id="outcode followed by a bracket",
        ),
    ],
)
def test_find_postcodes(text: str, expected: list[PostcodeMatch]) -> None:
    assert find_postcodes(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("SW1A 1CA", id="inward letter C is never used"),
        pytest.param("SW1A 1AI", id="inward letter I is never used"),
        pytest.param("M1 1KM", id="inward letters K and M are never used"),
        pytest.param("SW1A 1OV", id="inward letters O and V are never used"),
        pytest.param("QA1 1AA", id="no Q postcode area"),
        pytest.param("XSW1A1AAX", id="glued to other letters"),
        pytest.param("Ref SW1A1AA2", id="followed by a digit"),
        pytest.param("Manchester M1", id="bare outcode in free text has no label"),
        pytest.param("The office is just off the M1.", id="motorway"),
        pytest.param("Location: Birmingham, Room B12", id="room number"),
        pytest.param("Location: online; English B2 or higher", id="language level"),
        pytest.param("Location: Leeds ls1", id="outcode only in lower case"),
        pytest.param("Location: Manchester M1 and M2", id="outcode not closing"),
        pytest.param("Tel 020 7946 0000", id="London phone number"),
        pytest.param("Grade 7 (G7) role, salary 45000", id="civil service grade"),
        pytest.param("", id="empty"),
    ],
)
def test_find_postcodes_ignores(text: str) -> None:
    assert find_postcodes(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Manchester M1", [outcode_only("M1")], id="place then outcode"),
        pytest.param("Leeds LS1, UK", [outcode_only("LS1")], id="with the country"),
        pytest.param("Room B12", [], id="not after a room"),
        pytest.param("Unit E1, Leeds", [], id="not after a unit"),
    ],
)
def test_find_postcodes_in_an_address(text: str, expected: list[PostcodeMatch]) -> None:
    assert find_postcodes(text, address=True) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("sw1a1aa", full("SW1A 1AA"), id="full, no space"),
        pytest.param(" SW1A   1AA ", full("SW1A 1AA"), id="padded, wide gap"),
        pytest.param("ec1a 1bb.", full("EC1A 1BB"), id="trailing full stop"),
        pytest.param("gir0aa", full("GIR 0AA"), id="Girobank"),
        pytest.param("M1", outcode_only("M1"), id="outcode"),
        pytest.param("dn55", outcode_only("DN55"), id="outcode, lower case"),
        pytest.param("A12 77Y", None, id="course code"),
        pytest.param("0161 496 0000", None, id="phone number"),
        pytest.param("Croydon CR2 6XH", None, id="an address is not a postcode value"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="None"),
    ],
)
def test_normalise_postcode(value: str | None, expected: PostcodeMatch | None) -> None:
    assert normalise_postcode(value) == expected


def test_every_real_district_is_a_valid_outcode() -> None:
    if not SHARED_DISTRICTS.is_file():
        pytest.skip(f"shared geography data not found at {SHARED_DISTRICTS}")
    with SHARED_DISTRICTS.open(newline="", encoding="utf-8") as handle:
        outcodes = [row["Postcode"] for row in csv.DictReader(handle)]
    # GIR is the Girobank special case; NPT is a retired Newport area.
    ordinary = [code for code in outcodes if code not in {"GIR", "NPT"}]

    rejected = [code for code in ordinary if normalise_postcode(code) is None]
    assert rejected == []
    areas = {area(code) for code in ordinary}
    assert POSTCODE_AREAS - areas == {"BX"}


OUTWARD = st.from_regex(r"[A-PR-UWYZ][A-HK-Y]?[0-9][0-9A-Z]?", fullmatch=True)
INWARD = st.from_regex(r"[0-9][ABD-HJLNP-UW-Z]{2}", fullmatch=True)


@given(st.text())
def test_no_text_crashes_the_finders(text: str) -> None:
    matches = find_postcodes(text)
    normalised = normalise_postcode(text)

    assert all(isinstance(m, PostcodeMatch) for m in matches)
    assert normalised is None or isinstance(normalised, PostcodeMatch)


@given(st.text(alphabet="SWA1 0aGIR.\t\n"))
def test_normalised_postcode_is_stable(text: str) -> None:
    match = normalise_postcode(text)
    if match is None:
        return

    stored = match.postcode or match.outcode
    assert normalise_postcode(stored) == match
    assert stored == stored.upper() and "  " not in stored


@given(OUTWARD, INWARD, st.sampled_from(["", " ", "  ", "   "]), st.booleans())
def test_generated_postcodes_round_trip(
    outward: str, inward: str, gap: str, lower: bool
) -> None:
    text = f"{outward}{gap}{inward}"
    match = normalise_postcode(text.lower() if lower else text)
    if match is None:  # not a real postcode area
        assert area(outward) not in POSTCODE_AREAS
        return

    assert match.postcode == f"{outward} {inward}"
    assert normalise_postcode(match.postcode) == match
    assert find_postcodes(f"Address: 1 High Street, Town {text}, UK") == [match]
