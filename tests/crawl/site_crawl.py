"""One live crawl of the test sites: ``python tests/crawl/site_crawl.py CONFIG.json``.

Run in a child process by the tests (the reactor cannot restart in one
process). The crawl uses the project's settings, middlewares and pipelines up
to coverage (nothing is stored), with the config's settings on top, and writes
its stats and the listings it scraped to the config's ``out`` file.

The spider reads a tiny listing-page layout of our own: ``li.listing`` with a
``data-id``, ``a.title``, ``.provider``, ``.closes`` and ``a.apply``; ``a.next``
pages on while a page brings new listings (at most ``max_pages``); ``a.link``
is followed as another listing page.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import scrapy
from scrapy import signals
from scrapy.crawler import CrawlerProcess
from scrapy.http import Response
from scrapy.utils.project import get_project_settings
from twisted.internet import defer
from twisted.internet.error import DNSLookupError
from twisted.internet.interfaces import IResolverSimple
from zope.interface import implementer

from pipelines.store import to_jsonable
from spiders.base import BaseSpider
from spiders.items import ListingItem
from spiders.middlewares import http_link


class SiteSpider(BaseSpider):
    name = "site"

    def __init__(
        self,
        *args: Any,
        start_urls: list[str] | None = None,
        max_pages: int = 50,
        follow_apply: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.start_urls = start_urls or []
        self.max_pages = int(max_pages)
        self.follow_apply = follow_apply
        self._seen: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        for url in self.start_urls:
            yield scrapy.Request(url, callback=self.parse)

    def parse(
        self, response: Response, page: int = 1
    ) -> Iterator[ListingItem | scrapy.Request]:
        new = 0
        for box in response.css("li.listing"):
            item = self._parse_listing(response, box)
            if item.source_key in self._seen:
                continue
            self._seen.add(item.source_key)
            new += 1
            yield item
            if self.follow_apply and item.apply_url:
                yield response.follow(item.apply_url, callback=self.parse_apply)
        for href in response.css("a.link::attr(href)").getall():
            link = http_link(response, href, self.crawler.stats)
            if link:
                yield scrapy.Request(link, callback=self.parse)
        next_page = http_link(response, response.css("a.next::attr(href)").get())
        if new and next_page and page < self.max_pages:
            yield response.follow(
                next_page, callback=self.parse, cb_kwargs={"page": page + 1}
            )

    def parse_apply(self, response: Response) -> Iterator[ListingItem]:
        yield from ()

    def _parse_listing(self, response: Response, box: Any) -> ListingItem:
        title = box.css("a.title")
        apply_url = box.css("a.apply::attr(href)").get()
        return self.listing(
            response,
            source_key=box.attrib.get("data-id") or response.url,
            url=response.urljoin(title.attrib.get("href", response.url)),
            title=title.css("::text").get(),
            provider_name=box.css(".provider::text").get(),
            closing_text=box.css(".closes::text").get(),
            apply_url=response.urljoin(apply_url) if apply_url else None,
        )


@implementer(IResolverSimple)
class FailingResolver:
    """A resolver for which every name fails, as when DNS is down: no lookup
    leaves the machine."""

    def __init__(self, reactor: Any) -> None:
        self.reactor = reactor

    @classmethod
    def from_crawler(cls, crawler: Any, reactor: Any) -> FailingResolver:
        return cls(reactor)

    def install_on_reactor(self) -> None:
        self.reactor.installResolver(self)

    def getHostByName(self, name: str, timeout: Any = ()) -> defer.Deferred:  # noqa: N802
        return defer.fail(DNSLookupError(f"no such host: {name}"))


class Collector:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def scraped(self, item: ListingItem, **_: Any) -> None:
        self.items.append(
            {
                "source_key": item.source_key,
                "title": item.title,
                "url": item.url,
                "apply_url": item.apply_url,
            }
        )


def main(config_path: str) -> int:
    config = json.loads(Path(config_path).read_text(encoding="utf-8"))
    settings = get_project_settings()
    pipelines = settings.getdict("ITEM_PIPELINES")
    pipelines.pop("pipelines.store.StorePipeline")
    settings.setdict({"ITEM_PIPELINES": pipelines, **config["settings"]}, "cmdline")
    process = CrawlerProcess(settings, install_root_handler=True)
    crawler = process.create_crawler(SiteSpider)
    collector = Collector()
    crawler.signals.connect(collector.scraped, signal=signals.item_scraped)
    process.crawl(crawler, source="site", **config["spider"])
    process.start()
    result = {"stats": to_jsonable(crawler.stats.get_stats()), "items": collector.items}
    Path(config["out"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1]))
