"""The declarative spider: selectors from the registry, pagination that ends."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from scrapy import Request

from spiders.declarative import DeclarativeSpider
from spiders.items import ListingItem

REPO = Path(__file__).resolve().parents[2]
SITE = "https://brightpath.example.org"
FIELDS = {
    "title": "h3 ::text",
    "url": "h3 a::attr(href)",
    "closing_text": ".closes",
    "location_texts": ".where ::text",
    "pay_text": "./p[@class='pay']/text()",
    "description_html": ".body > *",
}


@pytest.fixture
def spider(make_spider):
    return make_spider(
        DeclarativeSpider,
        start_urls=f"{SITE}/programmes?page=1",
        item="li.programme",
        fields=FIELDS,
        next_page="a.next::attr(href)",
        provider="Brightpath Trust",
    )


@pytest.fixture
def list_page(respond, fixture):
    return respond(
        f"{SITE}/programmes?page=1",
        fixture("declarative", "programmes.html"),
        content_type="text/html",
    )


def split(output):
    output = list(output)
    items = [o for o in output if isinstance(o, ListingItem)]
    return items, [o for o in output if isinstance(o, Request)]


@pytest.fixture
def items(spider, list_page):
    listed, _ = split(spider.parse(list_page, page=1))
    return listed


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(0, "title", "Youth Panel Member", id="text-of-nested-nodes"),
        pytest.param(0, "url", f"{SITE}/programmes/youth-panel", id="absolute-url"),
        pytest.param(
            0, "source_key", f"{SITE}/programmes/youth-panel", id="url-is-the-key"
        ),
        pytest.param(0, "closing_text", "Closes 3rd March", id="element-gives-text"),
        pytest.param(
            0, "location_texts", ["Croydon CR2 6XH", "Online"], id="list-field"
        ),
        pytest.param(
            0,
            "description_html",
            "<p>Join our <strong>panel</strong>.</p>",
            id="html-kept",
        ),
        pytest.param(0, "provider_name", "Brightpath Trust", id="fixed-provider"),
        pytest.param(0, "pay_text", None, id="missing-field-left-empty"),
        pytest.param(1, "pay_text", "£400 bursary", id="xpath-field"),
        pytest.param(1, "location_texts", [], id="missing-list-field"),
    ],
)
def test_fields(items, index, field, expected):
    assert getattr(items[index], field) == expected


def test_an_item_without_a_title_is_counted_not_listed(spider, items, fetched):
    assert len(items) == 2
    assert spider.crawler.stats.get_value("declarative/items_without_title") == 1
    assert {i.fetched_at for i in items} == {fetched}


def test_the_next_page_is_followed_while_pages_add_listings(spider, list_page):
    _, requests = split(spider.parse(list_page, page=1))

    assert [(r.url, r.cb_kwargs) for r in requests] == [
        (f"{SITE}/programmes?page=2", {"page": 2})
    ]


def test_a_page_that_adds_nothing_stops_the_paging(spider, list_page, respond, fixture):
    list(spider.parse(list_page, page=1))
    again = respond(
        f"{SITE}/programmes?page=2",
        fixture("declarative", "programmes.html"),
        content_type="text/html",
    )

    assert list(spider.parse(again, page=2)) == []


def test_paging_stops_at_max_pages(make_spider, list_page):
    spider = make_spider(
        DeclarativeSpider,
        start_urls=f"{SITE}/p",
        item="li.programme",
        fields=FIELDS,
        next_page="a.next::attr(href)",
        max_pages=1,
    )

    _, requests = split(spider.parse(list_page, page=1))

    assert requests == []
    assert spider.crawler.stats.get_value("declarative/max_pages_reached") == 1


def test_detail_fields_are_read_on_the_listing_page(
    make_spider, list_page, respond, fixture
):
    spider = make_spider(
        DeclarativeSpider,
        start_urls=f"{SITE}/p",
        item="li.programme",
        fields=json.dumps({"title": "h3 ::text", "url": "h3 a::attr(href)"}),
        detail_fields={
            "description_html": ".programme-body > *",
            "start_text": ".start",
        },
    )
    _, requests = split(spider.parse(list_page, page=1))
    detail = respond(
        requests[0].url, fixture("declarative", "detail.html"), content_type="text/html"
    )

    item = spider.parse_detail(detail, **requests[0].cb_kwargs)

    assert item.title == "Youth Panel Member"
    assert item.description_html == "<p>Full details of the panel.</p>"
    assert item.start_text == "Starts 1 September 2026"


def test_a_listing_without_a_link_is_keyed_by_its_title(make_spider, list_page):
    spider = make_spider(
        DeclarativeSpider,
        start_urls=f"{SITE}/p",
        item="li.programme",
        fields={"title": "h3 ::text"},
    )

    listed, _ = split(spider.parse(list_page, page=1))

    assert [i.source_key for i in listed] == [
        f"{SITE}/programmes?page=1#Youth Panel Member",
        f"{SITE}/programmes?page=1#Events Intern",
    ]


def test_every_problem_with_the_arguments_is_reported_at_once(make_spider):
    spider = make_spider(DeclarativeSpider, fields={"colour": "b"}, key="categories")

    async def first():
        return [r async for r in spider.start()]

    with pytest.raises(ValueError) as error:
        asyncio.run(first())

    for problem in ("start_urls", "item:", "needs a title", "'colour'", "key:"):
        assert problem in str(error.value)


def test_fields_that_are_not_a_table_are_a_clear_error(make_spider):
    with pytest.raises(ValueError, match="fields must be a table"):
        make_spider(DeclarativeSpider, fields="title=h3")


# -- CASES CRAWL-04: a local site whose last page repeats for ever


LISTINGS = [f"L{n}" for n in range(1, 8)]


def crawl_04_page(number: int) -> bytes:
    """7 listings, 3 a page; page 3 repeats L6, and any higher page is page 3."""
    shown = {1: LISTINGS[0:3], 2: LISTINGS[3:6]}.get(number, ["L6", "L7"])
    rows = "".join(
        f'<li class="opp"><a href="/opps/{name}">{name}</a></li>' for name in shown
    )
    nav = f'<a class="next" href="/opps?page={number + 1}">Next</a>'
    return f"<html><body><ul>{rows}</ul>{nav}</body></html>".encode()


class Crawl04Handler(BaseHTTPRequestHandler):
    pages: list[int] = []

    def do_GET(self) -> None:  # noqa: N802 (the handler's name is fixed)
        parts = urlsplit(self.path)
        if parts.path != "/opps":
            self.send_error(404)
            return
        number = int(parse_qs(parts.query).get("page", ["1"])[0])
        self.pages.append(number)
        body = crawl_04_page(number)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def crawl_04_site():
    Crawl04Handler.pages = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Crawl04Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.mark.slow
def test_crawl_04_pagination_ends_with_seven_listings(crawl_04_site, tmp_path):
    out = tmp_path / "items.jsonl"
    fields = json.dumps({"title": "a ::text", "url": "a::attr(href)"})
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "declarative",
        "-a",
        f"start_urls={crawl_04_site}/opps?page=1",
        "-a",
        "item=li.opp",
        "-a",
        f"fields={fields}",
        "-a",
        "next_page=a.next::attr(href)",
        "-a",
        "max_pages=50",
        "-s",
        "ITEM_PIPELINES={}",
        "-s",
        f"HUB_ALLOWED_PRIVATE_HOSTS={crawl_04_site.removeprefix('http://')}",
        "-s",
        "AUTOTHROTTLE_ENABLED=False",
        "-s",
        "LOG_LEVEL=INFO",
        "-O",
        f"{out}:jsonlines",
    ]
    started = time.monotonic()

    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=60
    )

    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-2000:]
    titles = [json.loads(line)["title"] for line in out.read_text().splitlines()]
    assert sorted(titles) == LISTINGS
    assert max(Crawl04Handler.pages) <= 4
    assert Crawl04Handler.pages.count(4) <= 1
    assert elapsed < 10
