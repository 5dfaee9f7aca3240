"""The OpenAPI description's answer shapes are those the server sends.

The answers are copied from stored records, not built through the models of
``hub.web.schemas``, so nothing but these tests keeps the two alike: each
route's 200 schema, taken from ``/openapi.json`` as a client generator would,
must accept real answers, the fullest records and the emptiest.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from dedupe.adapter import FEED_FIELDS
from hub.web.schemas import OpportunityDetail, OpportunityPage
from spiders.items import Eligibility, Location, Pay, PayPeriod
from storage.feed import record_change
from storage.models import CrawlRun, Opportunity
from storage.records import SUMMARY_FIELDS
from storage.repository import finish_crawl_run
from storage.session import transaction
from tests.web.feed_builders import T0, days, golden, place

FULL = golden(
    "Engineering Apprenticeship",
    level=3,
    closing_date=(T0 + days(10)).isoformat(),
    posted_date=(T0 - days(3)).isoformat(),
    start_date=(T0 + days(40)).isoformat(),
    end_date=None,
    pay=asdict(
        Pay(
            text="£18,000 a year",
            min=18000.0,
            max=18000.0,
            currency="GBP",
            period=PayPeriod.YEAR,
            annual_min_gbp=18000.0,
            annual_max_gbp=18000.0,
        )
    ),
    locations=[place("M1"), asdict(Location(text="Anywhere in the UK"))],
    eligibility=asdict(
        Eligibility(
            age_min=16,
            age_max=18,
            school_years=["year_13"],
            criteria=["care_experienced"],
            evidence={"care_experienced": "Open to care leavers."},
        )
    ),
    description_text="Learn on the job.\n\nTravel is paid.",
    description_safe_html="<p>Learn on the job.</p><p>Travel is paid.</p>",
    support=["travel"],
    support_evidence={"travel": "Travel is paid."},
    sources=["brightpath", "gov_jobs"],
    hours_text="37 hours a week",
    a_later_field="kept",  # a field the description does not name
)
EMPTY = {
    "title": "Mentoring",
    "sources": ["brightpath"],
    "in_scope": True,
    "opportunity_type": "mentoring",
}


@pytest.fixture
def client(feed_db, make_client):
    feed_db.add("opp_full", FULL)
    feed_db.add("opp_empty", EMPTY)
    feed_db.add("opp_away", golden("Engineering Apprenticeship (copy)"))
    feed_db.add("opp_closed", golden("Closed Apprenticeship"), status="closed")
    feed_db.publish()
    with transaction(feed_db.factory) as session:
        away = session.get(Opportunity, "opp_away")
        away.state, away.merged_into = "merged", "opp_full"
        record_change(session, away, "merged", {"ids": ["opp_full"]})
        runs = {run.source.name: run.id for run in session.query(CrawlRun)}
        finish_crawl_run(session, runs["gov_jobs"], "ok", {"coverage/items": 1})
    feed_db.publish()
    return make_client()


def shape(client, path: str) -> Draft202012Validator:
    description = client.get("/openapi.json").json()
    answer = description["paths"][path]["get"]["responses"]["200"]
    schema = answer["content"]["application/json"]["schema"]
    document = {**schema, "components": description["components"]}
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document)


def check(validator: Draft202012Validator, body: Any) -> None:
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(body)
    ]
    assert not problems, problems


@pytest.mark.parametrize(
    "params",
    [
        pytest.param({}, id="published"),
        pytest.param({"in_scope": "any", "limit": 1}, id="a page with next"),
        pytest.param({"near": "M1 1AA", "sort": "distance"}, id="with distances"),
    ],
)
def test_a_search_page_has_the_described_shape(client, params):
    answer = client.get("/opportunities", params=params)

    assert answer.status_code == 200, answer.text
    assert answer.json()["items"]
    check(shape(client, "/opportunities"), answer.json())


@pytest.mark.parametrize("opportunity_id", ["opp_full", "opp_empty", "opp_closed"])
def test_a_record_has_the_described_shape(client, opportunity_id):
    answer = client.get(f"/opportunities/{opportunity_id}")

    assert answer.status_code == 200, answer.text
    check(shape(client, "/opportunities/{opportunity_id}"), answer.json())


@pytest.mark.parametrize("scope", ["published", "all"])
def test_every_change_feed_page_has_the_described_shape(client, scope):
    validator = shape(client, "/feed")
    url, kinds = f"/feed?limit=2&scope={scope}", set()
    while True:
        page = client.get(url).json()
        check(validator, page)
        kinds |= {(i["state"], "events" in i) for i in page["items"]}
        if not page["items"]:
            break
        url = page["next"]
    # updates, and a tombstone with the merge that made it
    assert {("updated", False), ("deleted", True)} <= kinds


def test_the_sources_and_the_index_have_the_described_shape(client):
    sources = client.get("/sources").json()

    assert {s["last_run"] is None for s in sources["sources"]} == {False}
    check(shape(client, "/sources"), sources)
    check(shape(client, "/"), client.get("/").json())


def test_the_shapes_name_every_field_the_records_are_made_of():
    """The description is worth reading, and kept so: every field a list item
    or a full record is made of is named, with its type, not left to
    "additional properties"."""
    detail = OpportunityDetail.model_json_schema()["properties"]
    item = OpportunityPage.model_json_schema()["$defs"]["OpportunitySummary"]

    assert set(SUMMARY_FIELDS) <= set(item["properties"])
    assert set(FEED_FIELDS) | set(SUMMARY_FIELDS) | {"field_sources"} <= set(detail)
    assert "listings" in detail
