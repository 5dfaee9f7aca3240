from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.eligibility import extract_eligibility, residency_areas
from spiders.items import Eligibility

DATE_02_G = (
    "You may apply if you are aged 16-18. Do you have a car? Page 1 of 3. "
    "Open to Year 12."
)


def test_date_02_g_eligibility_side_effect() -> None:
    result = extract_eligibility(DATE_02_G)

    assert (result.age_min, result.age_max) == (16, 18)
    assert result.school_years == ["year_12"]
    assert result.criteria == []
    assert result.evidence == {
        "age": "You may apply if you are aged 16-18.",
        "school_years": "Open to Year 12.",
    }


@pytest.mark.parametrize(
    ("text", "age_min", "age_max"),
    [
        pytest.param("Open to young people aged 16-18.", 16, 18, id="aged 16-18"),
        pytest.param("Aged 16–18 (en dash).", 16, 18, id="en dash"),
        pytest.param("For 16 to 24 year olds.", 16, 24, id="16 to 24 year olds"),
        pytest.param("For 16-24-year-olds.", 16, 24, id="hyphenated year-olds"),
        pytest.param("Courses for 16-19s.", 16, 19, id="16-19s"),
        pytest.param("Between the ages of 14 and 18.", 14, 18, id="between the ages"),
        pytest.param("Applicants must be aged 18+.", 18, None, id="aged 18+"),
        pytest.param("Open to 18+ only.", 18, None, id="18+ only"),
        pytest.param("Open to over 16s.", 16, None, id="over 16s"),
        pytest.param("Open to over-16s.", 16, None, id="over-16s"),
        pytest.param("You must be 18 years old or over.", 18, None, id="or over"),
        pytest.param("You must be over 18.", 18, None, id="must be over"),
        pytest.param("For under 25s.", None, 24, id="under 25s"),
        pytest.param("You must be under 25.", None, 24, id="under 25"),
        pytest.param("Under the age of 19.", None, 18, id="under the age of"),
        pytest.param(
            "This role is NOT suitable for:\n\n- Students.\n- Candidates under the"
            " age of 18 or not turning 18 before the training week.\n\nWhat it"
            " involves.",
            18,
            None,
            id="a list of whom it is not for",
        ),
        pytest.param(
            "Not suitable for: • Students • Candidates under 18",
            18,
            None,
            id="a bulleted list of whom it is not for",
        ),
        pytest.param(
            "This role is not suitable for applicants under 21.",
            21,
            None,
            id="not for those under",
        ),
        pytest.param(
            "Applicants aged 65 or over cannot apply.", None, 64, id="cannot apply"
        ),
        pytest.param(
            "Not suitable for:\n- Students\nCandidates under 18 are welcome.",
            None,
            17,
            id="the list ends where its items do",
        ),
        pytest.param("Aged up to 24.", None, 24, id="aged up to"),
        pytest.param("Young people aged 25 and under.", None, 25, id="and under"),
        pytest.param(
            "Applicants must be aged 18+. Places are for under 25s.",
            18,
            24,
            id="bounds from two sentences",
        ),
        pytest.param("Work 16-18 hours per week.", None, None, id="hours, not ages"),
        pytest.param("A 16-18 week course.", None, None, id="weeks, not ages"),
        pytest.param("Salary 18-24k.", None, None, id="money, not ages"),
        pytest.param("Under 25 miles from Leeds.", None, None, id="miles"),
        pytest.param(
            "You need at least 16 hours free.", None, None, id="at least hours"
        ),
        pytest.param("Must have 5+ GCSEs.", None, None, id="GCSE count"),
        pytest.param("Page 1 of 3.", None, None, id="page numbers"),
        pytest.param("Call 0161 496 0000.", None, None, id="phone number"),
        pytest.param("Closes 16-18 March.", None, None, id="date range"),
    ],
)
def test_ages(text: str, age_min: int | None, age_max: int | None) -> None:
    result = extract_eligibility(text)

    assert (result.age_min, result.age_max) == (age_min, age_max)
    assert ("age" in result.evidence) is (age_min is not None or age_max is not None)


@pytest.mark.parametrize(
    ("text", "years"),
    [
        pytest.param("Open to Year 10 students.", ["year_10"], id="Year 10"),
        pytest.param("For Year 12 students.", ["year_12"], id="Year 12 students"),
        pytest.param("Open to Year 13.", ["year_13"], id="Year 13, full stop"),
        pytest.param(
            "For pupils in Years 10-13.",
            ["year_10", "year_11", "year_12", "year_13"],
            id="range of years",
        ),
        pytest.param(
            "Years 12 and 13 welcome.", ["year_12", "year_13"], id="years 12 and 13"
        ),
        pytest.param("Y12/Y13 only.", ["year_12", "year_13"], id="Y12/Y13"),
        pytest.param(
            "Year 13 and Year 12 students.",
            ["year_12", "year_13"],
            id="ordered by year",
        ),
        pytest.param("Sixth form students.", ["sixth_form"], id="sixth form"),
        pytest.param("Calling all sixth-formers!", ["sixth_form"], id="sixth-formers"),
        pytest.param("For college students.", ["college"], id="college students"),
        pytest.param(
            "Year 12 or college students.", ["year_12", "college"], id="mixed"
        ),
        pytest.param("Founded in the Year 2023.", [], id="Year 2023"),
        pytest.param("In year 1 of your degree.", [], id="university year 1"),
        pytest.param("A 2 year 10 month contract.", [], id="duration"),
        pytest.param("Paid after year 12 months.", [], id="months"),
        pytest.param("Years 16-18.", [], id="not school years"),
    ],
)
def test_school_years(text: str, years: list[str]) -> None:
    result = extract_eligibility(text)

    assert result.school_years == years
    assert ("school_years" in result.evidence) is bool(years)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            "You must be eligible for free school meals.",
            "free_school_meals",
            id="free school meals",
        ),
        pytest.param(
            "Priority for students in receipt of pupil premium.",
            "free_school_meals",
            id="pupil premium",
        ),
        pytest.param(
            "You will be the first in your family to go to university.",
            "first_in_family",
            id="first in family",
        ),
        pytest.param(
            "Open to first generation students.",
            "first_in_family",
            id="first generation",
        ),
        pytest.param(
            "Neither of your parents went to university.",
            "first_in_family",
            id="parents did not go",
        ),
        pytest.param(
            "Open to care-experienced young people.",
            "care_experienced",
            id="care-experienced",
        ),
        pytest.param(
            "Care leavers are eligible.", "care_experienced", id="care leavers"
        ),
        pytest.param(
            "If you have been in care you can apply.",
            "care_experienced",
            id="been in care",
        ),
        pytest.param("Young carers are welcome.", "young_carer", id="young carers"),
        pytest.param(
            "You must attend a state school.", "state_school", id="state school"
        ),
        pytest.param(
            "Non-fee-paying schools only.", "state_school", id="non-fee-paying"
        ),
        pytest.param(
            "Applicants from POLAR4 quintile 1 or 2 postcodes.", "polar4", id="POLAR4"
        ),
        pytest.param(
            "You live in a low participation neighbourhood.",
            "polar4",
            id="low participation neighbourhood",
        ),
        pytest.param(
            "Open to students with a disability.", "disability", id="disability"
        ),
        pytest.param(
            "For young people with a long-term health condition.",
            "disability",
            id="long-term health condition",
        ),
        pytest.param(
            "Disabled students are especially encouraged to apply.",
            "disability",
            id="disabled students",
        ),
        pytest.param(
            "Tell us if you have a disability or long-term condition.",
            "disability",
            id="if you have",
        ),
        pytest.param(
            "You must live in Greater Manchester.", "region", id="live in a region"
        ),
    ],
)
def test_criteria(text: str, code: str) -> None:
    result = extract_eligibility(text)

    assert result.criteria == [code]
    assert result.evidence[code] == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("We need a care assistant.", id="care assistant"),
        pytest.param("Previous care experience is desirable.", id="care experience"),
        pytest.param(
            "We are a Disability Confident employer.", id="Disability Confident"
        ),
        pytest.param(
            "We welcome applicants regardless of age, disability or background.",
            id="equal opportunities boilerplate",
        ),
        pytest.param("The role is based in London.", id="job location"),
        pytest.param("Lunch is free at school.", id="free lunch"),
        pytest.param("You must live in the UK.", id="UK residency is not a region"),
        pytest.param("Students living in Year 12 halls.", id="Year is not a place"),
        pytest.param("Disability access is available at the venue.", id="access"),
        pytest.param(
            "Our vision is for outstanding learning disability care in the trust.",
            id="the work's field, not the applicant",
        ),
        pytest.param(
            "You will support adults with learning disabilities to live well.",
            id="who the work cares for",
        ),
        pytest.param(
            "A team for people with disabilities and their families.",
            id="a service's users",
        ),
        pytest.param(
            "If you have a disability that makes the application form hard to "
            "complete, ask us for another way to apply.",
            id="help with applying",
        ),
    ],
)
def test_no_false_criteria(text: str) -> None:
    assert extract_eligibility(text).criteria == []


@pytest.mark.parametrize(
    ("text", "areas"),
    [
        pytest.param(
            "You must live in Greater Manchester.",
            ["Greater Manchester"],
            id="one area",
        ),
        pytest.param(
            "Open to young people living in the North East or Cumbria.",
            ["North East or Cumbria"],
            id="two areas in one phrase",
        ),
        pytest.param(
            "Students at schools in Tower Hamlets, Hackney or Newham.",
            ["Tower Hamlets, Hackney or Newham"],
            id="schools in boroughs",
        ),
        pytest.param("Residents of Wales can apply.", ["Wales"], id="residents of"),
        pytest.param("The job is based in Leeds.", [], id="based in is the job"),
    ],
)
def test_residency_areas(text: str, areas: list[str]) -> None:
    assert residency_areas(text) == areas


def test_region_evidence_keeps_sentence_and_phrase() -> None:
    text = "Free for Year 12. You must live in Greater Manchester or Lancashire."

    result = extract_eligibility(text)

    assert (
        result.evidence["region"]
        == "You must live in Greater Manchester or Lancashire."
    )
    assert result.evidence["region_area"] == "Greater Manchester or Lancashire"


def test_full_listing() -> None:
    text = (
        "<p>Our summer school is free.</p>\n"
        "• Open to Year 12 students aged 16-17 at a state school in London\n"
        "• Priority for those eligible for free school meals, young carers and "
        "care leavers.\n"
        "• We are proud to be a Disability Confident employer."
    )

    result = extract_eligibility(text)

    assert (result.age_min, result.age_max) == (16, 17)
    assert result.school_years == ["year_12"]
    assert result.criteria == [
        "state_school",
        "region",
        "free_school_meals",
        "care_experienced",
        "young_carer",
    ]
    assert result.evidence["age"].startswith("Open to Year 12 students")


@pytest.mark.parametrize(
    "text",
    [pytest.param(None, id="None"), pytest.param("", id="empty")],
)
def test_nothing_to_read(text: str | None) -> None:
    assert extract_eligibility(text) == Eligibility()


@given(st.one_of(st.none(), st.text()))
def test_no_text_crashes_extract_eligibility(text: str | None) -> None:
    result = extract_eligibility(text)

    assert result.age_min is None or 5 <= result.age_min <= 99
    assert result.age_max is None or 4 <= result.age_max <= 99
    assert set(result.criteria) <= set(result.evidence)


@given(st.one_of(st.none(), st.text()))
def test_no_text_crashes_residency_areas(text: str | None) -> None:
    areas = residency_areas(text)

    assert all(area and area[0].isupper() for area in areas)


@given(st.integers(10, 13), st.integers(14, 30))
def test_generated_age_ranges(low: int, high: int) -> None:
    result = extract_eligibility(
        f"Open to people aged {low}-{high}. Work {low}-{high} hours."
    )

    assert (result.age_min, result.age_max) == (low, high)
