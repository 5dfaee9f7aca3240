"""A spider written in the registry: selectors for simple listing sites.

An operator adds a charity's programme page without Python::

    [[source]]
    name = "brightpath_programmes"
    spider = "declarative"
    [source.args]
    start_urls = ["https://brightpath.example.org/opportunities"]
    item = "li.opportunity"                  # one element per listing
    next_page = "a[rel=next]::attr(href)"    # optional
    max_pages = 20                           # optional, default 50
    provider = "Brightpath Trust"            # optional, a fixed provider name
    [source.args.fields]                     # selectors inside each item
    title = "h3 ::text"
    url = "h3 a::attr(href)"
    closing_text = ".closes ::text"
    location_texts = ".where ::text"
    [source.args.detail_fields]              # optional: read on the item's url
    description_html = "main .body"

Selectors are CSS, or XPath when they start like a path (``//``, ``./``,
``(``). A selector that picks elements gives their text, except for
``description_html``, which keeps the markup. URL fields are made absolute.
``key`` names the field that identifies a listing (default ``url``).

Paging stops at ``max_pages``, at a next link already followed, or at a page
that adds no listing not seen before (CASES CRAWL-04: sites that serve their
last page again for any higher page number).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import scrapy
from parsel import Selector
from scrapy.http import Response, TextResponse
from twisted.python.failure import Failure

from pipelines.urls import safe_http_url
from spiders.args import table, url_list
from spiders.base import BaseSpider
from spiders.items import ListingItem
from spiders.middlewares import http_link
from spiders.selectors import select

DEFAULT_MAX_PAGES = 50
TEXT_FIELDS = frozenset(
    {
        "source_key",
        "title",
        "alternate_title",
        "provider_name",
        "training_provider_name",
        "pay_text",
        "cost_text",
        "closing_text",
        "opens_text",
        "posted_text",
        "start_text",
        "end_text",
        "duration_text",
        "hours_text",
        "level_text",
        "employment_type",
        "workplace_type",
        "reference",
    }
)
URL_FIELDS = frozenset({"url", "apply_url", "provider_url"})
LIST_FIELDS = frozenset({"location_texts", "postcodes", "categories"})
HTML_FIELDS = frozenset({"description_html"})
KNOWN_FIELDS = TEXT_FIELDS | URL_FIELDS | LIST_FIELDS | HTML_FIELDS


class DeclarativeSpider(BaseSpider):
    name = "declarative"

    def __init__(
        self,
        *args: Any,
        start_urls: list[str] | str | None = None,
        item: str | None = None,
        fields: dict[str, str] | str | None = None,
        detail_fields: dict[str, str] | str | None = None,
        next_page: str | None = None,
        max_pages: int | str = DEFAULT_MAX_PAGES,
        key: str = "url",
        provider: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.start_urls = url_list(start_urls)
        self.item_selector = item
        self.fields = table(fields, "fields")
        self.detail_fields = table(detail_fields, "detail_fields")
        self.next_page = next_page
        self.max_pages = int(max_pages)
        self.key = key
        self.provider = provider
        self._seen_keys: set[str] = set()
        self._seen_pages: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        self.check_arguments()
        for url in self.start_urls:
            self._seen_pages.add(url)
            yield scrapy.Request(url, callback=self.parse, cb_kwargs={"page": 1})

    def check_arguments(self) -> None:
        """Every problem with the arguments at once, before anything is fetched."""
        problems = []
        if not self.start_urls:
            problems.append("start_urls: at least one URL")
        if not self.item_selector:
            problems.append("item: a selector for one listing")
        if "title" not in self.fields:
            problems.append("fields: needs a title selector")
        for name in sorted({*self.fields, *self.detail_fields} - KNOWN_FIELDS):
            problems.append(f"fields: unknown field {name!r}")
        if self.key not in KNOWN_FIELDS - LIST_FIELDS:
            problems.append(f"key: not a single-valued field: {self.key!r}")
        if problems:
            raise ValueError("declarative: " + "; ".join(problems))

    def link(self, response: Response, href: str | None) -> str | None:
        """``href`` made absolute if it is an http(s) link, else None (counted)."""
        return http_link(response, href, self.crawler.stats)

    def parse(
        self, response: Response, page: int = 1
    ) -> Iterator[ListingItem | scrapy.Request]:
        """A listing page: its items, then the next page while pages add some."""
        if not _is_text(response, self.crawler.stats):
            return
        new = 0
        for node in select(response.selector, self.item_selector or ""):
            item = self._parse_item(response, node)
            if item is None or item.source_key in self._seen_keys:
                continue
            self._seen_keys.add(item.source_key)
            new += 1
            yield from self._with_details(item, response.url)
        yield from self._next(response, page, new)

    def _parse_item(self, response: Response, node: Selector) -> ListingItem | None:
        values = extract_fields(node, self.fields, lambda h: self.link(response, h))
        title = values.get("title")
        if not title:
            self.crawler.stats.inc_value("declarative/items_without_title")
            return None
        # without its own key a listing is told apart on its page by its title
        values["source_key"] = values.get(self.key) or f"{response.url}#{title}"
        values.setdefault("url", response.url)
        if self.provider:
            values.setdefault("provider_name", self.provider)
        return self.listing(response, **values, raw={"item": node.get()})

    def _with_details(
        self, item: ListingItem, page_url: str
    ) -> Iterator[ListingItem | scrapy.Request]:
        url = safe_http_url(item.url)
        if not self.detail_fields or url is None or url == page_url:
            yield item
            return
        yield scrapy.Request(
            url,
            callback=self.parse_detail,
            errback=self.keep_item,
            cb_kwargs={"item": item},
        )

    def parse_detail(self, response: Response, item: ListingItem) -> ListingItem:
        """A listing's own page: fields the list does not show."""
        if not _is_text(response, self.crawler.stats):
            return item
        for name, value in extract_fields(
            response.selector, self.detail_fields, lambda h: self.link(response, h)
        ).items():
            setattr(item, name, value)
        item.fetched_at = self.fetched_at(response)
        return item

    def keep_item(self, failure: Failure) -> Iterator[ListingItem]:
        """The listing's page could not be had: keep what the list said."""
        self.crawler.stats.inc_value("declarative/details_missing")
        yield failure.request.cb_kwargs["item"]

    def _next(
        self, response: Response, page: int, new: int
    ) -> Iterator[scrapy.Request]:
        if not self.next_page:
            return
        if not new:
            self.logger.info("Stopped paging at page %d: no new listings", page)
            return
        url = self.link(response, select(response.selector, self.next_page).get())
        if not url:
            return
        if page >= self.max_pages:
            self.crawler.stats.set_value("declarative/max_pages_reached", page)
            return
        if url in self._seen_pages:
            return
        self._seen_pages.add(url)
        yield scrapy.Request(url, callback=self.parse, cb_kwargs={"page": page + 1})


def _is_text(response: Response, stats: Any) -> bool:
    if isinstance(response, TextResponse):
        return True
    stats.inc_value("declarative/not_html")
    return False


def extract_fields(
    node: Selector, selectors: dict[str, str], urljoin: Any
) -> dict[str, Any]:
    """Each field's value under ``node``; a field that finds nothing is left out."""
    values: dict[str, Any] = {}
    for name, query in selectors.items():
        found = [v for v in _values(node, query, html=name in HTML_FIELDS) if v]
        if not found:
            continue
        if name in LIST_FIELDS:
            values[name] = found
        elif name in URL_FIELDS:
            url = urljoin(found[0])
            if url:
                values[name] = url
        elif name in HTML_FIELDS:
            values[name] = "".join(found)
        else:
            values[name] = " ".join(found)
    return values


def _values(node: Selector, query: str, *, html: bool) -> Iterator[str]:
    for match in select(node, query):
        if isinstance(match.root, str):
            yield " ".join(match.root.split())
        elif html:
            yield match.get().strip()
        else:
            yield " ".join(" ".join(match.xpath(".//text()").getall()).split())
