from __future__ import annotations

import pytest

from pipelines.coverage import FIELDS, present_fields
from storage.models import CrawlRun
from storage.repository import finish_crawl_run
from storage.session import transaction
from tests.web.feed_builders import golden


@pytest.fixture
def client(feed_db, make_client):
    for n in range(4):
        feed_db.add(f"opp_{n}", golden(f"Apprenticeship {n}", sources=["gov_jobs"]))
    feed_db.add("opp_x", golden("Mentoring", sources=["brightpath"]))
    stats = {
        "coverage/items": 4,
        "coverage/title": 4,
        "coverage/closing_date": 1,
        "coverage/required": ["title", "url"],
        "item_scraped_count": 4,
    }
    with transaction(feed_db.factory) as session:
        runs = {run.source.name: run.id for run in session.query(CrawlRun)}
        finish_crawl_run(session, runs["gov_jobs"], "ok", stats)
        finish_crawl_run(session, runs["brightpath"], "ok", {})
    return make_client()


def coverage(client, name: str) -> dict[str, float]:
    sources = {s["name"]: s for s in client.get("/sources").json()["sources"]}
    return sources[name]["last_run"]["field_coverage"]


def test_field_coverage_from_the_crawl_is_a_share_of_its_listings(client):
    counted = coverage(client, "gov_jobs")
    assert counted["title"] == 1.0
    assert counted["closing_date"] == 0.25
    assert counted["pay"] == 0.0  # a field no listing had is there, at 0


def test_field_coverage_measured_from_listings_is_counted_as_the_crawl_does(
    client,
):
    measured = coverage(client, "brightpath")
    assert measured.keys() == coverage(client, "gov_jobs").keys() == set(FIELDS)
    assert measured["title"] == 1.0
    assert measured["closing_date"] == 0.0
    assert measured["eligibility"] == 0.0  # an empty eligibility is none


def test_stored_fields_count_as_the_listing_they_came_from():
    stored = {
        "title": "Apprenticeship",
        "locations": [{"text": "Leeds", "postcode": "LS1 4AP"}],
        "eligibility": {"age_min": None, "criteria": [], "school_years": []},
        "pay": {},
    }
    assert present_fields(stored) == ["title", "locations", "postcode"]
