"""One hostile record per fault kind: it is skipped or repaired, never fatal."""

from __future__ import annotations

import json
from typing import Any

import pytest

from spiders.declarative import DeclarativeSpider
from spiders.job_boards import AshbySpider, GreenhouseSpider, LeverSpider
from spiders.jsonld import extract_entities
from spiders.schema_org import SchemaOrgSpider
from tests.spiders.conftest import fake_response

GOOD = {"id": 2, "title": "kept", "text": "kept"}


@pytest.mark.parametrize(
    ("cls", "body", "bad"),
    [
        pytest.param(GreenhouseSpider, {"jobs": [{"id": 1, "title": "t",
            "departments": "Eng"}, GOOD]}, 0, id="greenhouse-departments-str"),
        pytest.param(GreenhouseSpider, {"jobs": [{"id": 1, "title": "t",
            "location": "Leeds"}, GOOD]}, 0, id="greenhouse-location-str"),
        pytest.param(GreenhouseSpider, {"jobs": [{"title": "t"}, GOOD]}, 1,
            id="greenhouse-no-id"),
        pytest.param(LeverSpider, [{"id": 1, "categories": ["x"]}, GOOD], 0,
            id="lever-categories-list"),
        pytest.param(LeverSpider, [{"id": 1, "lists": ["x"]}, GOOD], 0,
            id="lever-lists-of-str"),
        pytest.param(AshbySpider, {"jobs": [{"id": 1, "secondaryLocations": [1]},
            GOOD]}, 0, id="ashby-secondary-int"),
        pytest.param(AshbySpider, {"jobs": [{"id": 1, "compensation": "x"}, GOOD]},
            0, id="ashby-compensation-str"),
    ],
)  # fmt: skip
def test_a_bad_posting_never_loses_the_rest(
    make_spider: Any, cls: type, body: Any, bad: int
) -> None:
    spider = make_spider(cls, board="b")
    response = fake_response("https://api.example.org/b", json.dumps(body),
                             content_type="application/json")  # fmt: skip
    items = list(spider.parse(response))

    assert "2" in [i.source_key for i in items]
    assert len(items) == 2 - bad
    assert spider.crawler.stats.get_value("job_boards/malformed_posting") == (
        bad or None
    )


def _block(text: str) -> str:
    return f'<script type="application/ld+json">{text}</script>'


@pytest.mark.parametrize(
    ("html", "entities", "broken"),
    [
        pytest.param(_block("[" * 5000 + "]" * 5000), 0, 1, id="nested-5000"),
        pytest.param(_block('{"@id": [1], "a": {"@id": {"x": 1}}}'), 1, 0,
            id="unhashable-ids"),
        pytest.param('{"@type": "JobPosting"}', 0, 0, id="json-body"),
    ],
)  # fmt: skip
def test_jsonld_extraction_survives(html: str, entities: int, broken: int) -> None:
    found = extract_entities(html)

    assert (len(found.entities), found.broken_blocks) == (entities, broken)


PAGE = "https://jobs.example.org/vacancy/1"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("javascript:alert(1)", id="javascript"),
        pytest.param("data:text/html,x", id="data"),
        pytest.param("\x00http://evil.example.net", id="nul-prefixed"),
    ],
)
def test_a_non_http_jsonld_url_falls_back_to_the_page(
    make_spider: Any, url: str
) -> None:
    spider = make_spider(SchemaOrgSpider, sitemap_urls="https://jobs.example.org/s")
    entity = {"@type": "JobPosting", "title": "t", "url": url}
    response = fake_response(PAGE, _block(json.dumps(entity)), content_type="text/html")

    assert [i.url for i in spider.parse(response)] == [PAGE]


@pytest.mark.parametrize(
    ("loc", "kept"),
    [
        pytest.param("//evil.example.net/x", False, id="scheme-relative"),
        pytest.param("javascript:alert(1)", False, id="javascript"),
        pytest.param("https://jobs.example.org/v/1", True, id="https"),
    ],
)
def test_sitemap_locs_must_be_http(make_spider: Any, loc: str, kept: bool) -> None:
    spider = make_spider(SchemaOrgSpider, sitemap_urls="https://jobs.example.org/s")

    assert bool(list(spider.sitemap_filter([{"loc": loc}]))) is kept
    assert spider.crawler.stats.get_value("ignored/non_http_url") == (
        None if kept else 1
    )


LIST = "https://b.example.org/list"


@pytest.mark.parametrize(
    ("href", "stat"),
    [
        pytest.param("http://[::1", "ignored/bad_url", id="bad-ipv6"),
        pytest.param("javascript:alert(1)", "ignored/non_http_url", id="javascript"),
    ],
)
def test_declarative_skips_bad_links(make_spider: Any, href: str, stat: str) -> None:
    spider = make_spider(DeclarativeSpider, start_urls=LIST, item="li",
        fields={"title": "a::text", "url": "a::attr(href)"},
        detail_fields={"description_html": "main"},
        next_page="a.next::attr(href)")  # fmt: skip
    html = f'<li><a href="{href}">t</a></li><a class="next" href="{href}">n</a>'
    results = list(spider.parse(fake_response(LIST, html, content_type="text/html")))

    assert [r.url for r in results] == [LIST]
    assert spider.crawler.stats.get_value(stat) == 2  # the item link, the next link


def test_a_non_text_detail_page_keeps_the_item(make_spider: Any) -> None:
    spider = make_spider(
        DeclarativeSpider,
        start_urls=LIST,
        item="li",
        fields={"title": "a::text"},
        detail_fields={"description_html": "main"},
    )
    item = spider.listing(fake_response(LIST, "<p/>", content_type="text/html"),
                          source_key="k", title="t")  # fmt: skip
    response = fake_response(LIST + "/1", b"\x00\x01",
                             content_type="application/octet-stream")  # fmt: skip

    assert spider.parse_detail(response, item) is item
    assert spider.crawler.stats.get_value("declarative/not_html") == 1
