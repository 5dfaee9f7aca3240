"""RSS 2.0, Atom and iCalendar feed spiders, on feeds of our own making."""

from __future__ import annotations

import asyncio

import pytest

from spiders.feeds import IcalFeedSpider, RssFeedSpider

RSS_URL = "https://northfield.example.org/opportunities/feed/"
ATOM_URL = "https://brightpath.example.org/opportunities.atom"
ICS_URL = "https://riverside.example.org/events.ics"


def feed_items(spider, respond, fixture, url, name, content_type):
    response = respond(url, fixture("feeds", name), content_type=content_type)
    return list(spider.parse(response))


@pytest.fixture
def rss(make_spider, respond, fixture):
    spider = make_spider(RssFeedSpider, feed_urls=RSS_URL)
    return feed_items(
        spider, respond, fixture, RSS_URL, "rss.xml", "application/rss+xml"
    )


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(0, "source_key", "northfield-1234", id="guid-is-the-key"),
        pytest.param(
            0,
            "url",
            "https://northfield.example.org/opportunities/summer-school/",
            id="link",
        ),
        pytest.param(0, "title", "Summer School in Engineering & Design", id="title"),
        pytest.param(0, "provider_name", "Northfield Futures", id="channel-title"),
        pytest.param(0, "posted_text", "Mon, 02 Feb 2026 10:00:00 +0000", id="pubdate"),
        pytest.param(0, "categories", ["Summer school", "Year 12"], id="categories"),
        pytest.param(
            0,
            "description_html",
            "<p>A week of <strong>hands-on</strong> projects.</p>",
            id="content-encoded-wins",
        ),
        pytest.param(0, "start_text", "2026-07-27", id="event-module-start"),
        pytest.param(0, "end_text", "2026-07-31", id="event-module-end"),
        pytest.param(
            0,
            "location_texts",
            ["Northfield Campus, Sheffield S1 2HE"],
            id="event-module-location",
        ),
        pytest.param(0, "coordinates", [(53.38, -1.47)], id="georss-point"),
        pytest.param(
            2,
            "url",
            "https://northfield.example.org/opportunities/peer-mentor/",
            id="permalink-guid-as-url",
        ),
        pytest.param(2, "posted_text", "2026-02-04T09:00:00Z", id="dc-date"),
        pytest.param(
            2,
            "description_html",
            "<p>Volunteer as a peer mentor.</p>",
            id="escaped-description",
        ),
    ],
)
def test_rss_fields(rss, index, field, expected):
    assert getattr(rss[index], field) == expected


def test_rss_items_carry_the_frozen_fetch_time(rss, fetched):
    assert {i.fetched_at for i in rss} == {fetched}


def test_keep_pattern_leaves_out_news(make_spider, respond, fixture):
    spider = make_spider(
        RssFeedSpider, feed_urls=RSS_URL, keep_pattern="summer school|mentor"
    )

    items = feed_items(spider, respond, fixture, RSS_URL, "rss.xml", "text/xml")

    assert [i.title for i in items] == [
        "Summer School in Engineering & Design",
        "Peer mentor wanted",
    ]
    assert spider.crawler.stats.get_value("feed/entries_not_kept") == 1


@pytest.fixture
def atom(make_spider, respond, fixture):
    spider = make_spider(RssFeedSpider, feed_urls=ATOM_URL, provider="Brightpath Trust")
    return feed_items(
        spider, respond, fixture, ATOM_URL, "atom.xml", "application/atom+xml"
    )


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(
            0,
            "source_key",
            "tag:brightpath.example.org,2026:insight-finance",
            id="id-is-the-key",
        ),
        pytest.param(
            0,
            "url",
            "https://brightpath.example.org/opportunities/insight-finance/",
            id="alternate-link-made-absolute",
        ),
        pytest.param(0, "provider_name", "Brightpath Trust", id="given-provider"),
        pytest.param(0, "posted_text", "2026-02-09T08:00:00Z", id="published"),
        pytest.param(0, "categories", ["Insight day"], id="category-term"),
        pytest.param(
            0,
            "description_html",
            "<div><p>Spend a day with our <em>finance</em> partners.</p></div>",
            id="xhtml-content",
        ),
        pytest.param(
            1,
            "url",
            "https://brightpath.example.org/opportunities/work-experience/",
            id="link-without-rel",
        ),
        pytest.param(1, "posted_text", "2026-02-08T12:00:00Z", id="updated-fallback"),
        pytest.param(
            1, "description_html", "<p>Five days in an office.</p>", id="html-summary"
        ),
    ],
)
def test_atom_fields(atom, index, field, expected):
    assert getattr(atom[index], field) == expected


@pytest.fixture
def ical(make_spider, respond, fixture):
    spider = make_spider(IcalFeedSpider, feed_urls=ICS_URL)
    items = feed_items(spider, respond, fixture, ICS_URL, "events.ics", "text/calendar")
    return spider, items


def test_a_cancelled_event_is_skipped_and_counted(ical):
    spider, items = ical

    assert "Cancelled Workshop" not in [i.title for i in items]
    assert len(items) == 4
    assert spider.crawler.stats.get_value("feed/cancelled_events") == 1
    assert spider.crawler.stats.get_value("feed/event_problems") == 1


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(
            0, "source_key", "open-evening-2026@riverside.example.org", id="uid"
        ),
        pytest.param(0, "title", "Open Evening, Sixth Form", id="summary"),
        pytest.param(
            0, "provider_name", "Riverside Sixth Form College", id="calendar-name"
        ),
        pytest.param(0, "start_text", "2026-06-24T18:00:00+01:00", id="start"),
        pytest.param(0, "end_text", "2026-06-24T20:00:00+01:00", id="end"),
        pytest.param(
            0, "closing_text", "2026-06-24T18:00:00+01:00", id="closes-when-it-starts"
        ),
        pytest.param(
            0, "url", "https://riverside.example.org/events/open-evening", id="url"
        ),
        pytest.param(
            0, "location_texts", ["Riverside College, Hull HU1 2AA"], id="location"
        ),
        pytest.param(1, "start_text", "2026-07-07", id="all-day-start"),
        pytest.param(1, "end_text", "2026-07-08", id="all-day-end"),
        pytest.param(1, "url", ICS_URL, id="feed-url-without-url"),
        pytest.param(2, "end_text", "2026-09-15T12:30:00+00:00", id="duration-end"),
    ],
)
def test_ical_fields(ical, index, field, expected):
    _, items = ical

    assert getattr(items[index], field) == expected


@pytest.mark.parametrize(
    "cls",
    [pytest.param(RssFeedSpider, id="rss"), pytest.param(IcalFeedSpider, id="ics")],
)
def test_feed_urls_are_needed_when_the_crawl_starts(make_spider, cls):
    spider = make_spider(cls)

    async def first():
        return [r async for r in spider.start()]

    with pytest.raises(ValueError, match="needs feed_urls"):
        asyncio.run(first())
