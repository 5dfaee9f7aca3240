"""A generic spider for sites that publish schema.org listings as JSON-LD.

It yields one listing per JobPosting, Course, EducationalOccupationalProgram or
Event on each page, mapped by :mod:`spiders.schema_org_fields`. Pages are found
through the site's sitemaps (``Sitemap:`` lines in robots.txt, sitemap indexes,
gzip; Scrapy's SitemapSpider), through listing pages (``listing_urls``, whose
links matching ``link_pattern`` are followed), or both. NHS Jobs is the first
source on it (checked 2020-11: one JobPosting a page).

Arguments come from the registry (lists) or from ``scrapy crawl -a`` (strings,
comma-separated): ``sitemap_urls``, ``sitemap_follow``, ``listing_urls``,
``link_pattern`` (a regular expression searched in each link's absolute URL),
``entity_types`` (a subset of the types above) and ``max_pages`` (listing pages
followed through ``next_page``, a CSS or XPath selector of the next link).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import scrapy
from scrapy.http import Response
from scrapy.spiders import SitemapSpider

from pipelines.urls import safe_http_url
from spiders.args import url_list
from spiders.base import BaseSpider
from spiders.items import ListingItem
from spiders.jsonld import extract_entities, types_of
from spiders.middlewares import http_link
from spiders.schema_org_fields import LISTING_TYPES, listing_fields, text
from spiders.selectors import select

DEFAULT_MAX_PAGES = 50
_CANCELLED = "EventCancelled"
# what an entity of wrong-typed fields raises while it is mapped
MALFORMED = (KeyError, TypeError, AttributeError, ValueError)

logger = logging.getLogger(__name__)


class SchemaOrgSpider(BaseSpider, SitemapSpider):
    name = "schema_org"

    def __init__(
        self,
        *args: Any,
        sitemap_urls: list[str] | str | None = None,
        sitemap_follow: list[str] | str | None = None,
        listing_urls: list[str] | str | None = None,
        link_pattern: str | None = None,
        next_page: str | None = None,
        entity_types: list[str] | str | None = None,
        max_pages: int | str = DEFAULT_MAX_PAGES,
        **kwargs: Any,
    ) -> None:
        if sitemap_follow:
            self.sitemap_follow = url_list(sitemap_follow)
        super().__init__(*args, **kwargs)
        self.sitemap_urls = url_list(sitemap_urls)
        self.listing_urls = url_list(listing_urls)
        self.link_pattern = re.compile(link_pattern) if link_pattern else None
        self.next_page = next_page
        self.max_pages = int(max_pages)
        self.entity_types = _entity_types(entity_types)
        self._seen_pages: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if not self.sitemap_urls and not self.listing_urls:
            raise ValueError(
                "schema_org needs sitemap_urls (a robots.txt or sitemap URL) "
                "or listing_urls (pages linking to the listings)"
            )
        async for request in super().start():
            yield request
        for url in self.listing_urls:
            yield scrapy.Request(
                url, callback=self.parse_listing_page, cb_kwargs={"page": 1}
            )

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """A page that may hold listing records.

        @url https://www.jobs.nhs.uk/xi/vacancy/916012379
        @returns items 1 1
        @returns requests 0 0
        @scrapes title url source_key provider_name closing_text
        """
        if not isinstance(response, scrapy.http.TextResponse):
            self.crawler.stats.inc_value("schema_org/not_text")
            return
        yield from self._parse_entities(response)

    def parse_listing_page(
        self, response: Response, page: int = 1
    ) -> Iterator[ListingItem | scrapy.Request]:
        """A page linking to listings; it may hold listings of its own too."""
        yield from self.parse(response)
        for url in self._listing_links(response):
            yield scrapy.Request(url, callback=self.parse)
        next_url = self._next_page_url(response)
        if next_url and page < self.max_pages and next_url not in self._seen_pages:
            self._seen_pages.add(next_url)
            yield scrapy.Request(
                next_url, callback=self.parse_listing_page, cb_kwargs={"page": page + 1}
            )

    def _parse_entities(self, response: Response) -> Iterator[ListingItem]:
        extraction = extract_entities(response.text)
        stats = self.crawler.stats
        if extraction.broken_blocks:
            stats.inc_value("jsonld/broken_blocks", extraction.broken_blocks)
            self.logger.warning(
                "Skipped %d broken JSON-LD block(s) on %s: %s",
                extraction.broken_blocks,
                response.url,
                "; ".join(extraction.problems),
            )
        entities = [e for e in extraction.entities if types_of(e) & self.entity_types]
        if not entities:
            stats.inc_value("jsonld/pages_without_listing")
        for index, entity in enumerate(entities):
            if _CANCELLED in (text(entity.get("eventStatus")) or ""):
                stats.inc_value("schema_org/cancelled_events")
                continue
            item = self._guarded(response, entity, index, len(entities))
            if item is not None:
                yield item

    def _guarded(
        self, response: Response, entity: dict[str, Any], index: int, count: int
    ) -> ListingItem | None:
        try:
            return self._parse_entity(response, entity, index, count)
        except MALFORMED as exc:
            self.crawler.stats.inc_value("schema_org/malformed_entity")
            logger.warning(
                "Skipped malformed entity %d on %s: %r", index, response.url, exc
            )
            return None

    def _parse_entity(
        self, response: Response, entity: dict[str, Any], index: int, count: int
    ) -> ListingItem:
        fields = listing_fields(entity)
        return self.listing(
            response,
            source_key=entity_key(entity, response.url, index, count),
            url=self._page_link(response, entity.get("url")) or response.url,
            **fields,
        )

    def sitemap_filter(
        self, entries: Iterable[dict[str, Any]]
    ) -> Iterator[dict[str, Any]]:
        """Only entries whose ``<loc>`` is an absolute http(s) URL; the rest
        (``//host/x``, ``javascript:``) are counted under ``ignored/non_http_url``."""
        for entry in entries:
            if safe_http_url(entry.get("loc")):
                if "alternate" in entry:
                    entry["alternate"] = [
                        a for a in entry["alternate"] if safe_http_url(a)
                    ]
                yield entry
            else:
                self.crawler.stats.inc_value("ignored/non_http_url")

    def _page_link(self, response: Response, value: Any) -> str | None:
        """The entity's own http(s) URL; control characters or another scheme
        (``javascript:``, ``data:``) leave the page's URL to stand for it."""
        return safe_http_url(self._link(response, text(value)))

    def _link(self, response: Response, href: str | None) -> str | None:
        return http_link(response, href, self.crawler.stats)

    def _listing_links(self, response: Response) -> Iterator[str]:
        if self.link_pattern is None:
            return
        seen: set[str] = set()
        for href in response.css("a::attr(href)").getall():
            url = (self._link(response, href) or "").split("#", 1)[0]
            if url and url not in seen and self.link_pattern.search(url):
                seen.add(url)
                yield url

    def _next_page_url(self, response: Response) -> str | None:
        if not self.next_page:
            return None
        return self._link(response, select(response.selector, self.next_page).get())


def entity_key(entity: dict[str, Any], page_url: str, index: int, count: int) -> str:
    """The listing's own identifier, its ``@id``, else the page's URL.

    Several listings on one page without an id are told apart by a hash of
    their type, name and start, so a reordered page keeps each key.
    """
    identifier = entity.get("identifier")
    if isinstance(identifier, dict):
        identifier = identifier.get("value")
    found = text(identifier) or text(entity.get("@id"))
    if found:
        return found
    if count == 1:
        return page_url
    words = [sorted(types_of(entity)), entity.get("name"), entity.get("startDate")]
    if not any(words[1:]):
        return f"{page_url}#{index}"
    digest = hashlib.sha1(repr(words).encode(), usedforsecurity=False)
    return f"{page_url}#{digest.hexdigest()[:12]}"


def _entity_types(value: list[str] | str | None) -> frozenset[str]:
    wanted = frozenset(url_list(value))
    unknown = wanted - LISTING_TYPES
    if unknown:
        raise ValueError(
            f"schema_org: unknown entity_types {sorted(unknown)}; "
            f"known: {sorted(LISTING_TYPES)}"
        )
    return wanted or LISTING_TYPES
