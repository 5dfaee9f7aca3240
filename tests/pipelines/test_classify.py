from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.classify import Classification, classify
from spiders.items import OpportunityType as T

APPRENTICESHIP = T.APPRENTICESHIP


@pytest.mark.parametrize(
    ("title", "kind", "level"),
    [
        # apprenticeships and their levels
        pytest.param("Level 3 Apprenticeship", APPRENTICESHIP, 3, id="stated level"),
        pytest.param(
            "Apprentice Business Administrator (Level 3)",
            APPRENTICESHIP,
            3,
            id="apprentice role with level in brackets",
        ),
        pytest.param(
            "Degree Apprenticeship - Software Engineering",
            APPRENTICESHIP,
            6,
            id="degree apprenticeship is level 6",
        ),
        pytest.param(
            "Solicitor Degree Apprenticeship Level 7",
            APPRENTICESHIP,
            7,
            id="stated level beats the degree default",
        ),
        pytest.param(
            "Higher Apprenticeship in Accounting", APPRENTICESHIP, 4, id="higher is 4"
        ),
        pytest.param(
            "Higher Apprenticeship (Level 5) - Operations",
            APPRENTICESHIP,
            5,
            id="higher with stated level 5",
        ),
        pytest.param(
            "Advanced Apprenticeship - Engineering Maintenance",
            APPRENTICESHIP,
            3,
            id="advanced is 3",
        ),
        pytest.param(
            "Intermediate Apprentice - Hospitality",
            APPRENTICESHIP,
            2,
            id="intermediate",
        ),
        pytest.param(
            "Apprentice Electrician", APPRENTICESHIP, None, id="no level stated"
        ),
        pytest.param(
            "Network Technician Apprentice", APPRENTICESHIP, None, id="apprentice last"
        ),
        pytest.param(
            "Nursing Associate (Apprenticeship)", APPRENTICESHIP, None, id="in brackets"
        ),
        pytest.param(
            "Apprenticeship in Business Administration",
            APPRENTICESHIP,
            None,
            id="apprenticeship in a subject",
        ),
        pytest.param(
            "Level 8 Apprenticeship", APPRENTICESHIP, None, id="no level 8 exists"
        ),
        # traineeships and trainee posts
        pytest.param("Traineeship - Retail", T.TRAINEESHIP, None, id="traineeship"),
        pytest.param(
            "Trainee Nursing Associate",
            T.TRAINEESHIP,
            None,
            id="trainee nursing associate",
        ),
        pytest.param(
            "Trainee Psychological Wellbeing Practitioner",
            T.TRAINEESHIP,
            None,
            id="trainee practitioner",
        ),
        pytest.param("Management Trainee", T.TRAINEESHIP, None, id="trainee last"),
        pytest.param("Student Nurse - Adult", T.TRAINEESHIP, None, id="student nurse"),
        pytest.param("Student Midwife", T.TRAINEESHIP, None, id="student midwife"),
        # internships, placements, work experience, insight
        pytest.param(
            "Summer Internship Programme 2026",
            T.INTERNSHIP,
            None,
            id="summer internship",
        ),
        pytest.param("Marketing Intern", T.INTERNSHIP, None, id="intern"),
        pytest.param(
            "Industrial Placement Student - Chemistry",
            T.PLACEMENT,
            None,
            id="industrial placement",
        ),
        pytest.param(
            "Sandwich Placement Year: Civil Engineering",
            T.PLACEMENT,
            None,
            id="sandwich placement",
        ),
        pytest.param(
            "Year in Industry - Finance", T.PLACEMENT, None, id="year in industry"
        ),
        pytest.param(
            "Work Experience Week for Year 10 Students",
            T.WORK_EXPERIENCE,
            None,
            id="work experience week",
        ),
        pytest.param(
            "Virtual Work Experience: Law", T.WORK_EXPERIENCE, None, id="virtual"
        ),
        pytest.param(
            "Work Experience Placement - Hospital Pharmacy",
            T.WORK_EXPERIENCE,
            None,
            id="work experience placement is work experience",
        ),
        pytest.param(
            "Spring Insight Week 2026", T.INSIGHT_DAY, None, id="insight week"
        ),
        pytest.param(
            "Insight Day: Careers in Banking", T.INSIGHT_DAY, None, id="insight day"
        ),
        pytest.param("Spring Week - Markets", T.INSIGHT_DAY, None, id="spring week"),
        # schemes and programmes
        pytest.param(
            "Graduate Scheme 2026 - Finance",
            T.GRADUATE_SCHEME,
            None,
            id="graduate scheme",
        ),
        pytest.param(
            "Graduate Management Trainee",
            T.GRADUATE_SCHEME,
            None,
            id="graduate trainee is a graduate scheme",
        ),
        pytest.param(
            "Civil Service Fast Stream Graduate Programme",
            T.GRADUATE_SCHEME,
            None,
            id="graduate programme",
        ),
        pytest.param(
            "Sutton Trust Summer School: Engineering",
            T.SUMMER_SCHOOL,
            None,
            id="summer school",
        ),
        pytest.param(
            "Residential Easter School in Medicine", T.SUMMER_SCHOOL, None, id="easter"
        ),
        pytest.param(
            "Pathways to Law Programme",
            T.UNIVERSITY_ACCESS,
            None,
            id="pathways to law",
        ),
        pytest.param(
            "Widening Participation Programme for Year 12",
            T.UNIVERSITY_ACCESS,
            None,
            id="widening participation programme",
        ),
        pytest.param(
            "Mentoring Programme for Year 12 Students",
            T.MENTORING,
            None,
            id="mentoring",
        ),
        pytest.param(
            "E-mentoring for Sixth Formers", T.MENTORING, None, id="e-mentoring"
        ),
        pytest.param(
            "Skills Bootcamp in Software Development",
            T.SKILLS_PROGRAMME,
            None,
            id="skills bootcamp",
        ),
        pytest.param(
            "Pre-employment Programme: Health and Social Care",
            T.SKILLS_PROGRAMME,
            None,
            id="pre-employment programme",
        ),
        pytest.param(
            "Volunteer Shop Assistant", T.VOLUNTEERING, None, id="volunteer role"
        ),
        pytest.param("Volunteer Mentor", T.VOLUNTEERING, None, id="volunteer mentor"),
        pytest.param(
            "Volunteering Opportunity - Food Bank",
            T.VOLUNTEERING,
            None,
            id="volunteering",
        ),
        # traps: posts that run programmes, or look like one
        pytest.param("Senior Mentor Manager", T.JOB, None, id="mentor manager"),
        pytest.param("Learning Mentor", T.JOB, None, id="learning mentor is staff"),
        pytest.param("Internal Auditor", T.JOB, None, id="internal is not intern"),
        pytest.param("International Student Adviser", T.JOB, None, id="international"),
        pytest.param("Placement Coordinator", T.JOB, None, id="placement coordinator"),
        pytest.param(
            "Clinical Placement Facilitator", T.JOB, None, id="placement facilitator"
        ),
        pytest.param("Apprenticeship Assessor", T.JOB, None, id="assessor"),
        pytest.param("Apprenticeship Coordinator", T.JOB, None, id="coordinator"),
        pytest.param(
            "Apprenticeship Levy Finance Officer",
            T.JOB,
            None,
            id="levy finance officer",
        ),
        pytest.param("Head of Apprenticeships", T.JOB, None, id="head of"),
        pytest.param(
            "Internship Programme Manager",
            T.JOB,
            None,
            id="internship programme manager",
        ),
        pytest.param(
            "Work Experience Officer", T.JOB, None, id="work experience officer"
        ),
        pytest.param("Volunteer Coordinator", T.JOB, None, id="volunteer coordinator"),
        pytest.param(
            "Voluntary Services Administrator", T.JOB, None, id="voluntary services"
        ),
        pytest.param("Summer School Tutor", T.JOB, None, id="summer school tutor"),
        pytest.param("Widening Participation Officer", T.JOB, None, id="WP officer"),
        pytest.param(
            "Graduate Teaching Assistant",
            T.JOB,
            None,
            id="graduate teaching assistant is a post, not a scheme",
        ),
        pytest.param(
            "Graduate Recruitment Manager", T.JOB, None, id="graduate recruitment"
        ),
        pytest.param("Business Insight Analyst", T.JOB, None, id="insight analyst"),
        pytest.param(
            "Bank HCA for Student Nurses",
            T.JOB,
            None,
            id="bank work for student nurses",
        ),
        pytest.param(
            "Specialty Trainee in Cardiothoracic Surgery ST1",
            T.JOB,
            None,
            id="doctors in specialty training",
        ),
        pytest.param(
            "Healthcare Assistant - Level 2",
            T.JOB,
            None,
            id="level without apprenticeship",
        ),
        pytest.param("Care Assistant", T.JOB, None, id="plain job"),
        pytest.param("Trainer / Assessor", T.JOB, None, id="trainer is not trainee"),
    ],
)
def test_classify_title(title: str, kind: T, level: int | None) -> None:
    result = classify(title)

    assert (result.type, result.level) == (kind, level)
    assert result.in_scope is (kind is not T.JOB)
    assert result.reason


@pytest.mark.parametrize(
    ("title", "description", "kind", "level"),
    [
        pytest.param(
            "Customer Service Advisor",
            "This is a Level 2 apprenticeship with one day a week at college.",
            APPRENTICESHIP,
            2,
            id="strong description phrase",
        ),
        pytest.param(
            "Apprentice Healthcare Assistant",
            "You will work towards a Level 3 Senior Healthcare Support Worker "
            "apprenticeship.",
            APPRENTICESHIP,
            3,
            id="level from the description",
        ),
        pytest.param(
            "Degree Apprenticeship - Nursing",
            "Many of our nurses started on a level 3 apprenticeship.",
            APPRENTICESHIP,
            6,
            id="title level word outranks description level",
        ),
        pytest.param(
            "Summer Internship",
            "This summer school style programme runs for 8 weeks.",
            T.INTERNSHIP,
            None,
            id="title outranks description",
        ),
        pytest.param(
            "Sales Assistant",
            "We also offer apprenticeships, internships and graduate schemes.",
            T.JOB,
            None,
            id="a mention is not evidence",
        ),
        pytest.param(
            "Senior Healthcare Support Worker",
            "Training to complete the Care Certificate and a Level 3 Healthcare "
            "apprenticeship.",
            T.JOB,
            None,
            id="training offered with a job is not an apprenticeship listing",
        ),
        pytest.param(
            "Consultant Psychiatrist",
            "We have an internal leadership and mentoring programme.",
            T.JOB,
            None,
            id="staff mentoring programme",
        ),
        pytest.param(
            "Apprenticeship Assessor",
            "This apprenticeship team assesses learners on the Level 3 standard.",
            T.JOB,
            None,
            id="staff title outranks description",
        ),
        pytest.param(
            "Charity Shop Helper",
            "This is a voluntary role of 4 hours a week.",
            T.VOLUNTEERING,
            None,
            id="voluntary role in description",
        ),
        pytest.param(
            "Future Leaders",
            "You will be matched with a mentor from a leading employer.",
            T.MENTORING,
            None,
            id="matched with a mentor",
        ),
    ],
)
def test_classify_with_description(
    title: str, description: str, kind: T, level: int | None
) -> None:
    result = classify(title, description)

    assert (result.type, result.level) == (kind, level)
    assert result.in_scope is (kind is not T.JOB)


@pytest.mark.parametrize(
    ("employment_type", "categories", "kind", "where"),
    [
        pytest.param("INTERN", (), T.INTERNSHIP, "employment type", id="schema INTERN"),
        pytest.param(
            "VOLUNTEER", (), T.VOLUNTEERING, "employment type", id="schema VOLUNTEER"
        ),
        pytest.param(
            "FULL_TIME", (), T.JOB, "no entry-route", id="full time says nothing"
        ),
        pytest.param(
            None,
            ("Engineering", "Apprenticeships"),
            APPRENTICESHIP,
            "category",
            id="category",
        ),
        pytest.param(
            None,
            ("Apprenticeship Assessors",),
            T.JOB,
            "no entry-route",
            id="staff category is no evidence",
        ),
    ],
)
def test_classify_with_source_fields(
    employment_type: str | None, categories: tuple[str, ...], kind: T, where: str
) -> None:
    result = classify("Marketing Assistant", None, employment_type, categories)

    assert result.type is kind
    assert result.reason.startswith(where)


def test_title_outranks_employment_type() -> None:
    result = classify("Volunteer Driver", employment_type="INTERN")

    assert result.type is T.VOLUNTEERING


def test_html_entities_in_title() -> None:
    result = classify("Children&#39;s Services Apprentice &amp; Trainee")

    assert result.type is APPRENTICESHIP


@pytest.mark.parametrize(
    "title",
    [pytest.param(None, id="no title"), pytest.param("", id="empty title")],
)
def test_missing_title_is_a_job(title: str | None) -> None:
    assert classify(title) == Classification(
        T.JOB, None, False, "no entry-route words in title or description"
    )


@given(
    st.one_of(st.none(), st.text()),
    st.one_of(st.none(), st.text()),
    st.one_of(st.none(), st.text()),
    st.lists(st.text(), max_size=3),
)
def test_no_input_crashes_classify(
    title: str | None,
    description: str | None,
    employment_type: str | None,
    categories: list[str],
) -> None:
    result = classify(title, description, employment_type, categories)

    assert result.in_scope is (result.type is not T.JOB)
    assert result.level is None or 2 <= result.level <= 7
    assert result.level is None or result.type is APPRENTICESHIP
