"""The item pipelines in order, on listings of our own making."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from scrapy.utils.test import get_crawler

from pipelines.base import Drop
from pipelines.enrich import EnrichmentPipeline
from pipelines.normalize import NormalizationPipeline
from pipelines.validate import ValidationPipeline
from spiders.base import BaseSpider
from spiders.items import ListingItem, Mode, OpportunityType, PayPeriod

FETCHED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def crawler(geo_dir):
    crawler = get_crawler(BaseSpider, {"HUB_GEO_DIR": str(geo_dir)})
    crawler.spider = crawler._create_spider("pipeline_test")
    return crawler


def run(crawler, item: ListingItem) -> ListingItem:
    for pipeline in (ValidationPipeline, NormalizationPipeline, EnrichmentPipeline):
        item = pipeline.from_crawler(crawler).process_item(item)
    return item


def listing(**fields) -> ListingItem:
    defaults = {
        "source": "brightpath",
        "source_key": "law-summer-school",
        "url": "https://brightpath.example.org/opportunities/law?utm_source=x",
        "fetched_at": FETCHED,
        "title": "Law &amp;amp; Society Summer School",
    }
    return ListingItem(**{**defaults, **fields})


def test_a_listing_is_normalised_and_enriched(crawler):
    item = run(
        crawler,
        listing(
            provider_name="Riverside Sixth Form &amp; College",
            description_html=(
                "<p>Open to Year&nbsp;12 students aged 16-18.</p>"
                "<ul><li>Free travel</li><li>Meals &amp; accommodation</li></ul>"
            ),
            closing_text="Closing date: 3rd March",
            cost_text="Free",
            pay_text="Up to £400 bursary",
            location_texts=["Example Hall, Croydon CR2 6XH"],
        ),
    )

    assert item.title == "Law & Society Summer School"
    assert item.provider_name == "Riverside Sixth Form & College"
    assert (
        item.summary
        == "Open to Year 12 students aged 16-18. Free travel. Meals & accommodation"
    )
    assert item.closing_date == datetime(2026, 3, 3, 23, 59, 59, tzinfo=UTC)
    assert item.canonical_url == "https://brightpath.example.org/opportunities/law"
    assert item.pay.bursary and item.pay.max == 400
    assert item.pay.period == PayPeriod.ONE_OFF
    assert item.opportunity_type == OpportunityType.SUMMER_SCHOOL and item.in_scope
    assert (item.eligibility.age_min, item.eligibility.age_max) == (16, 18)
    assert "travel" in item.support
    place = item.locations[0]
    assert (place.postcode, place.local_authority, place.region) == (
        "CR2 6XH",
        "Croydon",
        "London",
    )
    assert item.mode == Mode.IN_PERSON


def test_an_unparseable_value_keeps_its_text_and_is_counted(crawler):
    item = run(crawler, listing(closing_text="when the cohort is full"))

    assert item.closing_date is None
    assert item.closing_text == "when the cohort is full"
    assert item.parse_failures == {"closing_date": "when the cohort is full"}
    assert crawler.stats.get_value("unparsed/closing_date") == 1


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        pytest.param({"title": "   "}, "no_title", id="blank title"),
        pytest.param({"url": "javascript:alert(1)"}, "bad_url", id="script link"),
        pytest.param({"source_key": ""}, "no_source_key", id="no key"),
        pytest.param({"title": True}, "no_title", id="a true title"),
        pytest.param({"title": ["x"]}, "no_title", id="a list title"),
        pytest.param({"source_key": {"id": 1}}, "no_source_key", id="an object key"),
        pytest.param({"source_key": False}, "no_source_key", id="a false key"),
    ],
)
def test_a_listing_without_its_identity_is_dropped_with_a_reason(
    crawler, fields, reason
):
    with pytest.raises(Drop) as dropped:
        run(crawler, listing(**fields))

    assert dropped.value.reason == reason
    assert crawler.stats.get_value(f"dropped/{reason}") == 1


def test_a_numeric_key_and_title_are_kept_as_text(crawler):
    item = run(crawler, listing(source_key=12345, title=2026))

    assert (item.source_key, item.title) == ("12345", "2026")


def test_a_field_that_is_not_text_is_emptied_and_counted(crawler):
    """An API that sends a list where text belongs (seen in hostile answers)."""
    item = run(
        crawler,
        listing(
            description_html=["<p>a</p>", None],
            reference=40517,
            pay_text={"min": 1},
            location_texts=[1, "Leeds", None, {"x": 1}],
            categories="not a list",
        ),
    )

    assert item.description_html is None and item.description_text is None
    assert item.reference == "40517"
    assert item.pay_text is None
    assert item.location_texts == ["1", "Leeds"]
    assert item.categories == []
    stats = crawler.stats.get_stats()
    assert {k: v for k, v in stats.items() if k.startswith("not_text/")} == {
        "not_text/description_html": 1,
        "not_text/reference": 1,
        "not_text/pay_text": 1,
        "not_text/location_texts": 1,
        "not_text/categories": 1,
    }


def test_a_script_apply_link_is_removed(crawler):
    item = run(crawler, listing(apply_url="javascript:alert(1)"))

    assert item.apply_url is None


def test_every_plain_text_field_is_decoded_and_cleaned(crawler):
    item = run(
        crawler,
        listing(
            location_texts=["Wolverhampton &amp; surrounding areas, WV1 1LE"],
            pay_text="£9.21 an hour + holiday pay &amp;amp; pension",
            reference="REF\x00-42",
        ),
    )

    assert item.location_texts == ["Wolverhampton & surrounding areas, WV1 1LE"]
    assert item.pay_text == "£9.21 an hour + holiday pay & pension"
    assert item.reference == "REF-42"


def test_nothing_stored_holds_a_nul(crawler):
    from pipelines.store import to_row

    item = run(
        crawler,
        listing(description_html="<p>a\x00b</p>", raw={"title": "x\x00y"}),
    )

    row = to_row(item)

    assert "\\u0000" not in json.dumps([row.fields, row.raw, row.columns], default=str)


@pytest.mark.parametrize(
    "link",
    ["javascript:alert(1)", "data:text/html,x", "file:///etc/passwd", "//evil.example"],
)
def test_every_kept_link_is_http(crawler, link):
    item = run(crawler, listing(apply_url=link, provider_url=link))

    assert item.apply_url is None
    assert item.provider_url is None


@pytest.mark.parametrize(
    ("workplace_type", "places", "mode"),
    [
        pytest.param("national", [], Mode.NATIONAL, id="a national vacancy"),
        pytest.param(None, ["National, Leeds"], Mode.NATIONAL, id="national part"),
        pytest.param(None, ["UK wide, Shrewsbury"], Mode.NATIONAL, id="uk wide"),
        pytest.param(
            None,
            ["National: England, Northern Ireland, Scotland And Wales"],
            Mode.NATIONAL,
            id="the nations named",
        ),
        pytest.param(
            None,
            ["Various locations available trustwide, WF1 3SP"],
            Mode.IN_PERSON,
            id="a trust's sites",
        ),
        pytest.param(
            None,
            ["Lancashire & South Cumbria - various locations available"],
            Mode.IN_PERSON,
            id="a region's towns",
        ),
        pytest.param(
            None, ["National Trust, Cliveden"], Mode.IN_PERSON, id="a national body"
        ),
        pytest.param(
            None, ["Homebased/Flexible, National"], Mode.REMOTE, id="home based"
        ),
    ],
)
def test_national_is_the_whole_country_not_several_places(
    crawler, workplace_type, places, mode
):
    item = listing(workplace_type=workplace_type, location_texts=places)
    assert run(crawler, item).mode == mode
