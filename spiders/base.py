"""Shared duties of every spider: the source name, the fetch clock, items."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import scrapy
from scrapy.http import Response

from spiders.drops import count_spider_drop
from spiders.items import ListingItem
from spiders.middlewares import http_link

logger = logging.getLogger(__name__)


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

    def document(
        self, response: Response, key: str | None = None
    ) -> tuple[Any, list[Any]] | None:
        """An API answer decoded, and the list it holds (at ``key`` of its
        object, or the answer itself); None for an answer that is not that
        JSON: counted as ``dropped/bad_document`` and warned, never raised, so a
        source that answers garbage is reported, not crashed on."""
        try:
            data = json.loads(response.body)
        except (ValueError, RecursionError) as exc:
            # UnicodeDecodeError and JSONDecodeError are ValueErrors; nesting
            # too deep for the decoder is a RecursionError
            self.bad_document(response, f"not JSON ({type(exc).__name__}: {exc})")
            return None
        found = data.get(key) if key and isinstance(data, dict) else data
        if not isinstance(found, list):
            where = f"under {key!r}" if key else "at the top"
            self.bad_document(
                response, f"expected a list {where}, got {type(found).__name__}"
            )
            return None
        return data, found

    def bad_document(self, response: Response, reason: str) -> None:
        count_spider_drop(self.crawler.stats, "bad_document")
        logger.warning("%s: skipped %s: %s", self.name, response.url, reason[:300])

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
