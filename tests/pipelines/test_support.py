from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.support import extract_support


@pytest.mark.parametrize(
    ("text", "offered"),
    [
        pytest.param("Travel expenses are reimbursed.", ["travel"], id="travel"),
        pytest.param(
            "Expenses, including travel, are reimbursed.",
            ["travel"],
            id="travel named among expenses",
        ),
        pytest.param(
            "Expenses (including travel) are reimbursed.",
            ["travel"],
            id="travel named in brackets",
        ),
        pytest.param(
            "Travel (within the region) is required and paid overtime is available.",
            [],
            id="a bracket is no bridge to a later clause",
        ),
        pytest.param("We pay train fares up to £50.", ["travel"], id="fares paid"),
        pytest.param(
            "Accommodation and meals are provided for the week.",
            ["accommodation", "meals"],
            id="residential week",
        ),
        pytest.param(
            "Every apprentice gets a free laptop.", ["equipment"], id="laptop"
        ),
        pytest.param("A £400 bursary for each student.", ["bursary"], id="bursary"),
        pytest.param("Travel is not covered.", [], id="negated"),
        pytest.param("You will travel between our sites.", [], id="travel as a duty"),
        pytest.param("", [], id="empty"),
        pytest.param(
            "You must be able to travel across the county; this is a paid post.",
            [],
            id="travel as a duty beside a paid post",
        ),
        pytest.param(
            "Free parking and good transport links to the city.",
            [],
            id="transport links",
        ),
        pytest.param(
            "Our office is close to the station, with easy access to transport.",
            [],
            id="access to transport",
        ),
        pytest.param(
            "Staff get interest free travel loans.", [], id="a loan is not paid travel"
        ),
        pytest.param(
            "We will provide reasonable accommodations for disabled applicants.",
            [],
            id="reasonable accommodation is an adjustment",
        ),
        pytest.param(
            "The unit provides accommodation and support to adults with autism.",
            [],
            id="the service's accommodation",
        ),
        pytest.param(
            "The new ward will offer patients modern accommodation.",
            [],
            id="accommodation for patients",
        ),
        pytest.param(
            "Benefits: a pension, paid leave, parking, meals at cost.",
            [],
            id="offer word and thing in different clauses",
        ),
        pytest.param(
            "Travel and accommodation are booked and covered by us.",
            ["travel", "accommodation"],
            id="two things, one offer",
        ),
        pytest.param("We pay for your bus tickets.", ["travel"], id="active verb"),
        pytest.param("Subsidised lunches every day.", ["meals"], id="subsidised"),
        pytest.param("- Childcare vouchers", ["childcare"], id="childcare vouchers"),
        pytest.param("Travel to the venue is paid.", ["travel"], id="travel to, paid"),
        pytest.param(
            "Travel to interviews will be reimbursed.",
            ["travel"],
            id="travel to interviews",
        ),
        pytest.param(
            "Free travel to and from the venue.", ["travel"], id="free travel to"
        ),
        pytest.param(
            "Travel, accommodation and meals are covered.",
            ["travel", "accommodation", "meals"],
            id="a list, one offer",
        ),
        pytest.param(
            "Travel is required and paid overtime is available.",
            [],
            id="paid as an adjective of something else",
        ),
        pytest.param(
            "Transport safety standards must be met at all times.",
            [],
            id="standards met",
        ),
        pytest.param(
            "The hostel provides accommodation for young people leaving care.",
            [],
            id="a service's accommodation",
        ),
        pytest.param(
            "We provide food to people in need.", [], id="food for people in need"
        ),
        pytest.param("You must pay for your own travel.", [], id="the applicant pays"),
        pytest.param(
            "Candidates must provide their own uniform.",
            [],
            id="their own uniform",
        ),
        pytest.param(
            "You will receive a laptop and we cover your lunch.",
            ["meals", "equipment"],
            id="the provider's offer",
        ),
        pytest.param(
            "Uniforms provided free of charge.", ["equipment"], id="provided free"
        ),
        pytest.param("A one hour paid lunch.", [], id="a paid lunch break"),
        pytest.param(
            "Meals & accommodation\nFree travel",
            ["travel"],
            id="list lines: only those that say it is offered",
        ),
    ],
)
def test_support_offered(text, offered):
    assert extract_support(text).offered == offered


def test_each_code_keeps_its_sentence():
    support = extract_support("Open to Year 12. Travel costs are paid by us.")

    assert support.evidence == {"travel": "Travel costs are paid by us."}


@given(st.text())
def test_no_text_crashes_it(text):
    extract_support(text)
