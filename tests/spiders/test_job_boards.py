"""Workable and SmartRecruiters boards, from answers of our own making."""

from __future__ import annotations

import asyncio

import pytest
from scrapy import Request

from spiders.items import ListingItem
from spiders.job_boards import (
    GreenhouseSpider,
    SmartRecruitersSpider,
    WorkableSpider,
    next_offset,
)

SR_API = "https://api.smartrecruiters.com/v1/companies/ExamplePlc/postings"


def json_response(respond, fixture, url, name):
    return respond(url, fixture("job_boards", name), content_type="application/json")


# -- Workable


@pytest.fixture
def workable_items(make_spider, respond, fixture):
    spider = make_spider(WorkableSpider, board="example")
    url = "https://apply.workable.com/api/v1/widget/accounts/example?details=true"
    items = list(spider.parse(json_response(respond, fixture, url, "workable.json")))
    return spider, items


def test_workable_keeps_every_posting_and_counts_what_is_not_one(workable_items):
    spider, items = workable_items

    assert [i.source_key for i in items] == ["A1B2C3D4E5", "F6G7H8"]
    assert spider.crawler.stats.get_value("dropped/not_a_posting") == 1


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(0, "title", "Junior Data Apprentice", id="title"),
        pytest.param(0, "url", "https://apply.workable.com/j/A1B2C3D4E5", id="url"),
        pytest.param(0, "provider_name", "Example Ltd", id="account-name"),
        pytest.param(
            0,
            "location_texts",
            ["Leeds, England, United Kingdom"],
            id="hidden-location-left-out",
        ),
        pytest.param(0, "posted_text", "2026-07-20", id="published-on"),
        pytest.param(0, "employment_type", "Full-time", id="employment-type"),
        pytest.param(0, "workplace_type", None, id="on-site"),
        pytest.param(0, "reference", "REF-17", id="code"),
        pytest.param(
            0,
            "apply_url",
            "https://apply.workable.com/j/A1B2C3D4E5/apply",
            id="apply-url",
        ),
        pytest.param(
            0, "categories", ["Data", "Analytics", "Entry level"], id="categories"
        ),
        pytest.param(
            0,
            "description_html",
            "<p>Learn data skills on a Level 3 apprenticeship.</p>",
            id="description",
        ),
        pytest.param(1, "workplace_type", "remote", id="telecommuting"),
        pytest.param(1, "location_texts", ["United Kingdom"], id="flat-location"),
        pytest.param(1, "posted_text", "2026-07-01", id="created-at-fallback"),
        pytest.param(1, "reference", None, id="empty-code"),
        pytest.param(
            1,
            "apply_url",
            "https://apply.workable.com/j/F6G7H8",
            id="apply-falls-back-to-url",
        ),
    ],
)
def test_workable_fields(workable_items, index, field, expected):
    _, items = workable_items

    assert getattr(items[index], field) == expected


def test_a_given_provider_wins_over_the_account_name(make_spider, respond, fixture):
    spider = make_spider(WorkableSpider, board="example", provider="Example Group")
    url = "https://apply.workable.com/api/v1/widget/accounts/example?details=true"

    items = list(spider.parse(json_response(respond, fixture, url, "workable.json")))

    assert {i.provider_name for i in items} == {"Example Group"}


# -- SmartRecruiters


@pytest.fixture
def sr_spider(make_spider):
    return make_spider(SmartRecruitersSpider, board="ExamplePlc")


def test_smartrecruiters_starts_at_offset_zero(sr_spider):
    async def first():
        return [r async for r in sr_spider.start()]

    (request,) = asyncio.run(first())

    assert request.url == f"{SR_API}?offset=0&limit=100"


def test_smartrecruiters_asks_for_each_posting_then_the_next_page(
    sr_spider, respond, fixture
):
    page = json_response(
        respond, fixture, f"{SR_API}?offset=0&limit=2", "smartrecruiters_page1.json"
    )

    requests = list(sr_spider.parse(page, page=1))

    assert [r.url for r in requests] == [
        f"{SR_API}/744000012345678",
        f"{SR_API}/744000012345679",
        f"{SR_API}?offset=2&limit=100",
    ]


def test_smartrecruiters_stops_when_every_posting_is_had(sr_spider, respond, fixture):
    page = json_response(
        respond, fixture, f"{SR_API}?offset=2&limit=2", "smartrecruiters_page2.json"
    )

    output = list(sr_spider.parse(page, page=2))

    assert [r.url for r in output] == [f"{SR_API}/744000012345680"]


@pytest.mark.parametrize(
    ("page", "received", "expected"),
    [
        pytest.param({"offset": 0, "totalFound": 3}, 2, 2, id="more-to-come"),
        pytest.param({"offset": 2, "totalFound": 3}, 1, None, id="last-page"),
        pytest.param({"offset": 0, "totalFound": 50}, 0, None, id="empty-page-stops"),
        pytest.param({"offset": "x", "totalFound": 3}, 2, None, id="garbled-offset"),
    ],
)
def test_next_offset(page, received, expected):
    assert next_offset(page, received) == expected


@pytest.fixture
def sr_summary(sr_spider, respond, fixture):
    page = json_response(
        respond, fixture, f"{SR_API}?offset=0&limit=2", "smartrecruiters_page1.json"
    )
    first = next(iter(sr_spider.parse(page, page=1)))
    return first.cb_kwargs["item"]


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("source_key", "744000012345678", id="key"),
        pytest.param("title", "Business Administration Apprentice", id="title"),
        pytest.param(
            "url",
            "https://jobs.smartrecruiters.com/ExamplePlc/744000012345678",
            id="public-url",
        ),
        pytest.param("provider_name", "Example plc", id="company-name"),
        pytest.param(
            "location_texts",
            ["Birmingham, England, United Kingdom"],
            id="full-location",
        ),
        pytest.param("postcodes", ["B1 1AA"], id="postcode"),
        pytest.param("posted_text", "2026-07-28T09:15:00.000Z", id="released"),
        pytest.param("employment_type", "Full-time", id="type-of-employment"),
        pytest.param("workplace_type", "hybrid", id="hybrid"),
        pytest.param("reference", "REF123", id="ref-number"),
        pytest.param(
            "categories",
            ["Operations", "Administrative", "Entry Level"],
            id="categories",
        ),
    ],
)
def test_smartrecruiters_summary_fields(sr_summary, field, expected):
    assert getattr(sr_summary, field) == expected


def test_smartrecruiters_posting_adds_the_ad_and_links(
    sr_spider, sr_summary, respond, fixture
):
    detail = json_response(
        respond, fixture, f"{SR_API}/744000012345678", "smartrecruiters_posting.json"
    )

    item = sr_spider.parse_posting(detail, sr_summary)

    assert item.description_html == (
        "<h3>Job Description</h3><p>A Level 3 apprenticeship in business admin.</p>"
        "<h3>Qualifications</h3><ul><li>GCSE English & Maths</li></ul>"
    )
    assert item.apply_url.endswith("?oga=true")
    assert item.url.endswith("-business-administration-apprentice")
    assert item.raw["details"]["id"] == "744000012345678"


def test_smartrecruiters_keeps_the_summary_when_the_posting_fails(
    sr_spider, sr_summary
):
    class Failed:
        request = Request(f"{SR_API}/1", cb_kwargs={"item": sr_summary})

    assert list(sr_spider.keep_summary(Failed())) == [sr_summary]
    assert sr_spider.crawler.stats.get_value("smartrecruiters/details_missing") == 1


def test_smartrecruiters_without_details_yields_the_summaries(
    make_spider, respond, fixture
):
    spider = make_spider(SmartRecruitersSpider, board="ExamplePlc", details="false")
    page = json_response(
        respond, fixture, f"{SR_API}?offset=0&limit=2", "smartrecruiters_page1.json"
    )

    output = list(spider.parse(page, page=1))

    assert [type(o) for o in output] == [ListingItem, ListingItem, Request]
    assert output[1].workplace_type == "remote"


def test_a_board_is_needed_when_the_crawl_starts(make_spider):
    spider = make_spider(GreenhouseSpider)

    async def first():
        return [r async for r in spider.start()]

    with pytest.raises(ValueError, match="needs a board token"):
        asyncio.run(first())
