"""schema.org JSON-LD listings: jobs, courses, programmes, events; sitemaps, lists."""

from __future__ import annotations

import asyncio
import gzip
import logging

import pytest
from scrapy import Request

from pipelines.normalize import NormalizationPipeline
from pipelines.text import to_one_line
from spiders.items import ListingItem
from spiders.schema_org import SchemaOrgSpider

SITE = "https://brightpath.example.org"


@pytest.fixture
def spider(make_spider):
    return make_spider(SchemaOrgSpider, sitemap_urls=f"{SITE}/robots.txt")


@pytest.fixture
def page(respond, fixture):
    def make(name: str, url: str = f"{SITE}/page/"):
        return respond(url, fixture("schema_org", name), content_type="text/html")

    return make


def items_of(spider, response) -> list[ListingItem]:
    return [i for i in spider.parse(response) if isinstance(i, ListingItem)]


# -- JSONLD-02: @graph, arrays, @id references


def test_jsonld_02_graph_and_arrays_give_one_job_and_two_events(spider, page):
    items = items_of(spider, page("jsonld_02.html", f"{SITE}/mentoring/"))

    assert [i.title for i in items] == [
        "Peer Mentor (Volunteer)",
        "Mentor Training Day 1",
        "Mentor Training Day 2",
    ]


def test_jsonld_02_provider_is_resolved_through_its_id(spider, page):
    job = items_of(spider, page("jsonld_02.html"))[0]

    assert job.provider_name == "Northfield Futures CIC"
    assert job.closing_text == "2026-07-31"
    assert job.source_key == "https://northfield.example.org/mentoring/#job"


def test_jsonld_02_events_keep_context_and_have_distinct_keys(spider, page):
    _, day1, day2 = items_of(spider, page("jsonld_02.html", f"{SITE}/mentoring/"))

    assert day1.raw["@context"] == "https://schema.org"
    assert (day1.start_text, day2.start_text) == ("2026-08-04", "2026-08-11")
    assert day1.source_key != day2.source_key
    assert day1.source_key.startswith(f"{SITE}/mentoring/#")


def test_jsonld_02_keys_survive_a_reordered_page(spider, page, respond, fixture):
    before = [i.source_key for i in items_of(spider, page("jsonld_02.html"))]
    html = fixture("schema_org", "jsonld_02.html").decode()
    swapped = html.replace("Training Day 1", "@@").replace(
        "Training Day 2", "Training Day 1"
    )
    swapped = swapped.replace("@@", "Training Day 2")
    swapped = swapped.replace("2026-08-04", "@@").replace("2026-08-11", "2026-08-04")
    swapped = swapped.replace("@@", "2026-08-11")
    response = respond(f"{SITE}/page/", swapped, content_type="text/html")

    after = [i.source_key for i in items_of(spider, response)]

    assert set(after) == set(before)


def test_a_webpage_alone_gives_no_listing_and_is_counted(spider, respond):
    html = (
        '<script type="application/ld+json">'
        '{"@type": "WebPage", "name": "Home"}</script>'
    )

    assert items_of(spider, respond(f"{SITE}/", html, content_type="text/html")) == []
    assert spider.crawler.stats.get_value("jsonld/pages_without_listing") == 1


# -- JSONLD-03: entities and markup inside strings, end to end


@pytest.fixture
def jsonld_03_item(spider, respond, fixture):
    body = fixture("schema_org", "jsonld_03.json").decode()
    html = f'<html><script type="application/ld+json">{body}</script></html>'
    (item,) = items_of(spider, respond(f"{SITE}/law/", html, content_type="text/html"))
    return item


def test_jsonld_03_the_spider_passes_the_source_strings_through(jsonld_03_item):
    assert jsonld_03_item.title == "Law &amp;amp; Society Summer School"
    assert jsonld_03_item.provider_name == "Riverside Sixth Form &amp; College"
    assert jsonld_03_item.description_html.startswith("<p>Open to Year&nbsp;12")


def test_jsonld_03_json_escapes_are_decoded_without_mojibake(jsonld_03_item):
    assert jsonld_03_item.alternate_title == "Café Skills – Level 2"


def test_jsonld_03_normalisation_decodes_the_text(spider, jsonld_03_item):
    pipeline = NormalizationPipeline.from_crawler(spider.crawler)

    item = pipeline.process_item(jsonld_03_item)

    assert item.title == "Law & Society Summer School"
    assert item.provider_name == "Riverside Sixth Form & College"
    assert "<" not in item.description_text
    assert to_one_line(item.description_text) == (
        "Open to Year 12 students. Free travel. Meals & accommodation"
    )


def test_a_literal_ampersand_survives_normalisation(spider, respond):
    html = (
        '<script type="application/ld+json">{"@type": "JobPosting",'
        ' "title": "A&E Volunteer"}</script>'
    )
    (item,) = items_of(spider, respond(f"{SITE}/ae/", html, content_type="text/html"))

    item = NormalizationPipeline.from_crawler(spider.crawler).process_item(item)

    assert item.title == "A&E Volunteer"


# -- Course, programme and event fields


@pytest.fixture
def course(spider, page):
    (item,) = items_of(spider, page("course.html"))
    return item


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("title", "Engineering Taster Week", id="title"),
        pytest.param(
            "source_key",
            f"{SITE}/opportunities/engineering-taster/#course",
            id="key-from-id",
        ),
        pytest.param("url", f"{SITE}/opportunities/engineering-taster/", id="url"),
        pytest.param("provider_name", "Brightpath Trust", id="provider"),
        pytest.param("provider_url", f"{SITE}/", id="provider-url"),
        pytest.param("start_text", "2026-07-06", id="start-first-instance"),
        pytest.param("end_text", "2026-07-10", id="end-first-instance"),
        pytest.param("closing_text", "2026-05-15T23:59:00+01:00", id="offer-deadline"),
        pytest.param("opens_text", "2026-03-01", id="offer-opens"),
        pytest.param("cost_text", "Free", id="zero-price-is-free"),
        pytest.param("level_text", "Level 3", id="level"),
        pytest.param("duration_text", "P5D", id="duration"),
        pytest.param("workplace_type", "in person", id="onsite-mode"),
        pytest.param(
            "location_texts", ["10 Example Street, Croydon, CR2 6XH"], id="address"
        ),
        pytest.param("postcodes", ["CR2 6XH"], id="postcode"),
        pytest.param("coordinates", [(51.36, -0.09)], id="geo"),
        pytest.param("fetched_at", "frozen", id="frozen-clock"),
    ],
)
def test_course_fields(course, fetched, field, expected):
    expected = fetched if expected == "frozen" else expected

    assert getattr(course, field) == expected


@pytest.fixture
def program(spider, page):
    (item,) = items_of(spider, page("program.html"))
    return item


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        pytest.param("title", "Digital Skills Apprenticeship Programme", id="title"),
        pytest.param("alternate_title", "DSA", id="alternate-name"),
        pytest.param("source_key", "DSA-2026", id="key-from-identifier"),
        pytest.param("provider_name", "Riverside College", id="provider"),
        pytest.param(
            "provider_url", "https://riverside.example.org/", id="provider-url"
        ),
        pytest.param("start_text", "2026-09-07", id="start"),
        pytest.param("end_text", "2028-08-31", id="end"),
        pytest.param("closing_text", "2026-06-30", id="application-deadline"),
        pytest.param("opens_text", "2026-01-10", id="application-start"),
        pytest.param("cost_text", "Free", id="cost"),
        pytest.param("duration_text", "P2Y", id="time-to-complete"),
        pytest.param("level_text", "Level 3", id="level-from-defined-term"),
        pytest.param("employment_type", "full-time", id="programme-mode"),
        pytest.param("categories", ["Apprenticeship", "15-1252.00"], id="categories"),
        pytest.param("positions", 12, id="maximum-enrollment"),
        pytest.param(
            "location_texts", ["Riverside College, Hull HU1 2AA"], id="address-as-text"
        ),
    ],
)
def test_program_fields(program, field, expected):
    assert getattr(program, field) == expected


@pytest.fixture
def events(spider, page, caplog):
    with caplog.at_level(logging.WARNING):
        items = items_of(
            spider, page("events.html", "https://riverside.example.org/ev/")
        )
    return items


def test_a_broken_block_and_a_cancelled_event_leave_the_valid_events(
    spider, events, caplog
):
    assert [e.title for e in events] == ["Online Open Evening", "Taster Saturday"]
    assert spider.crawler.stats.get_value("jsonld/broken_blocks") == 1
    assert spider.crawler.stats.get_value("schema_org/cancelled_events") == 1
    warnings = [r.getMessage() for r in caplog.get_records("setup")]
    assert any("broken JSON-LD block(s) on https://riverside" in w for w in warnings)


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(0, "workplace_type", "remote", id="online-mode-is-remote"),
        pytest.param(0, "location_texts", ["Online"], id="virtual-location"),
        pytest.param(
            0, "provider_name", "Riverside Sixth Form College", id="organizer"
        ),
        pytest.param(0, "start_text", "2026-10-14T18:00:00+01:00", id="start"),
        pytest.param(0, "end_text", "2026-10-14T19:30:00+01:00", id="end"),
        pytest.param(0, "cost_text", "Free", id="accessible-for-free"),
        pytest.param(0, "categories", ["open day", "sixth form"], id="keywords"),
        pytest.param(
            0,
            "apply_url",
            "https://riverside.example.org/events/online-open-evening",
            id="apply-url-is-the-event",
        ),
        pytest.param(1, "workplace_type", "hybrid", id="place-and-virtual-is-hybrid"),
        pytest.param(
            1, "location_texts", ["Hull, HU1 2AA", "Livestream"], id="both-places"
        ),
        pytest.param(1, "postcodes", ["HU1 2AA"], id="postcode"),
        pytest.param(
            1, "provider_name", "Riverside Sixth Form College", id="organizer-list"
        ),
        pytest.param(1, "cost_text", "GBP 5.00", id="price"),
        pytest.param(1, "closing_text", "2026-11-01", id="offer-valid-through"),
        pytest.param(
            1, "apply_url", "https://riverside.example.org/book/taster", id="offer-url"
        ),
    ],
)
def test_event_fields(events, index, field, expected):
    assert getattr(events[index], field) == expected


def test_entity_types_limit_what_is_listed(make_spider, page):
    spider = make_spider(
        SchemaOrgSpider, listing_urls=f"{SITE}/", entity_types="JobPosting"
    )

    items = items_of(spider, page("jsonld_02.html"))

    assert [i.title for i in items] == ["Peer Mentor (Volunteer)"]


def test_an_unknown_entity_type_is_a_clear_error(make_spider):
    with pytest.raises(ValueError, match="unknown entity_types"):
        make_spider(SchemaOrgSpider, sitemap_urls=f"{SITE}/", entity_types="Recipe")


# -- finding pages: robots.txt, sitemap index, gzip; listing pages


def sitemap_requests(spider, response) -> list[Request]:
    return list(spider._parse_sitemap(response))


def test_robots_txt_sitemap_lines_are_followed(spider, respond, fixture):
    robots = respond(
        f"{SITE}/robots.txt",
        fixture("schema_org", "robots.txt"),
        content_type="text/plain",
    )

    urls = [r.url for r in sitemap_requests(spider, robots)]

    assert urls == [f"{SITE}/sitemap_index.xml"]


def test_a_sitemap_index_leads_to_its_sitemaps(spider, respond, fixture):
    index = respond(
        f"{SITE}/sitemap_index.xml",
        fixture("schema_org", "sitemap_index.xml"),
        content_type="application/xml",
    )

    urls = [r.url for r in sitemap_requests(spider, index)]

    assert urls == [f"{SITE}/opportunities-sitemap.xml.gz", f"{SITE}/posts-sitemap.xml"]


def test_sitemap_follow_limits_the_index(make_spider, respond, fixture):
    spider = make_spider(
        SchemaOrgSpider, sitemap_urls=f"{SITE}/robots.txt", sitemap_follow="opportun"
    )
    index = respond(
        f"{SITE}/sitemap_index.xml",
        fixture("schema_org", "sitemap_index.xml"),
        content_type="application/xml",
    )

    urls = [r.url for r in sitemap_requests(spider, index)]

    assert urls == [f"{SITE}/opportunities-sitemap.xml.gz"]


def test_a_gzipped_sitemap_leads_to_pages_parsed_for_listings(spider, respond, fixture):
    body = gzip.compress(fixture("schema_org", "opportunities-sitemap.xml"))
    response = respond(
        f"{SITE}/opportunities-sitemap.xml.gz", body, content_type="application/gzip"
    )

    requests = sitemap_requests(spider, response)

    assert [r.url for r in requests] == [
        f"{SITE}/opportunities/engineering-taster/",
        f"{SITE}/opportunities/digital-skills/",
    ]
    assert all(r.callback == spider.parse for r in requests)


def test_a_listing_page_follows_matching_links_once_and_the_next_page(
    make_spider, page
):
    spider = make_spider(
        SchemaOrgSpider,
        listing_urls=f"{SITE}/opportunities/",
        link_pattern=r"/opportunities/[^/?]+/?$",
        next_page="a[rel=next]::attr(href)",
    )

    output = list(
        spider.parse_listing_page(page("listing.html", f"{SITE}/opportunities/"))
    )

    items = [o for o in output if isinstance(o, ListingItem)]
    requests = [o for o in output if isinstance(o, Request)]
    assert [i.title for i in items] == ["Summer Fair Stall"]
    assert [(r.url, r.callback.__name__) for r in requests] == [
        (f"{SITE}/opportunities/engineering-taster/", "parse"),
        (f"{SITE}/opportunities/digital-skills/", "parse"),
        (f"{SITE}/opportunities/?page=2", "parse_listing_page"),
    ]


def test_listing_pages_stop_at_max_pages(make_spider, page):
    spider = make_spider(
        SchemaOrgSpider,
        listing_urls=f"{SITE}/opportunities/",
        next_page="a[rel=next]::attr(href)",
        max_pages=3,
    )

    output = list(spider.parse_listing_page(page("listing.html"), page=3))

    assert not [o for o in output if isinstance(o, Request)]


async def first_requests(spider) -> list[Request]:
    return [r async for r in spider.start()]


def test_start_asks_for_sitemaps_and_listing_pages(make_spider):
    spider = make_spider(
        SchemaOrgSpider,
        sitemap_urls=[f"{SITE}/robots.txt"],
        listing_urls=[f"{SITE}/opportunities/"],
    )

    requests = asyncio.run(first_requests(spider))

    assert [r.url for r in requests] == [f"{SITE}/robots.txt", f"{SITE}/opportunities/"]


def test_start_without_any_url_is_a_clear_error(make_spider):
    spider = make_spider(SchemaOrgSpider)

    with pytest.raises(ValueError, match="sitemap_urls .* or listing_urls"):
        asyncio.run(first_requests(spider))
