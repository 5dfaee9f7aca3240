"""Shared duties of every spider: the source name, the fetch clock, items."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response

from spiders.items import ListingItem
from spiders.middlewares import http_link


class BaseSpider(scrapy.Spider):
    """A spider that yields :class:`ListingItem` for one registry source.

    ``source`` is the registry name the items are stored under; it defaults to
    the spider's name, so ``scrapy crawl NAME`` works without the registry.
    """

    source: str

    def __init__(self, *args: Any, source: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.source = source or self.name

    def fetched_at(self, response: Response) -> datetime:
        """When this page was fetched: the recording's date on a replay, the
        fixed clock of ``HUB_AS_OF`` where set, else now."""
        as_of = self.settings.get("HUB_AS_OF")
        if as_of:
            return _aware(datetime.fromisoformat(as_of))
        fetched = response.meta.get("fetched_at")
        return fetched if isinstance(fetched, datetime) else datetime.now(UTC)

    def follow_http(
        self, response: Response, href: str | None, **kwargs: Any
    ) -> scrapy.Request | None:
        """A request for ``href`` if it is an http(s) link, else None (counted)."""
        url = http_link(response, href, self.crawler.stats)
        return response.follow(url, **kwargs) if url else None

    def listing(self, response: Response, **fields: Any) -> ListingItem:
        fields.setdefault("url", response.url)
        return ListingItem(
            source=self.source, fetched_at=self.fetched_at(response), **fields
        )


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
