"""Validation: a listing without its identity or a title is dropped, with a reason."""

from __future__ import annotations

from pipelines.base import CrawlerPipeline
from pipelines.text import clean_whitespace
from pipelines.urls import safe_http_url
from spiders.items import ListingItem

MAX_KEY_LENGTH = 300


class ValidationPipeline(CrawlerPipeline):
    def process_item(self, item: ListingItem) -> ListingItem:
        if not isinstance(item, ListingItem):
            raise self.drop("not_a_listing", type(item).__name__)
        key = clean_whitespace(_text(item.source_key))
        if not key:
            raise self.drop("no_source_key", item.url)
        if len(key) > MAX_KEY_LENGTH:
            raise self.drop("source_key_too_long", key[:80])
        item.source_key = key.replace("\x00", "")
        url = safe_http_url(item.url)
        if url is None:
            raise self.drop("bad_url", repr(item.url)[:200])
        item.url = url
        # links kept for display: http(s) or nothing
        item.apply_url = safe_http_url(item.apply_url)
        item.provider_url = safe_http_url(item.provider_url)
        title = clean_whitespace(_text(item.title))
        if not title:
            raise self.drop("no_title", item.url)
        item.title = title
        return item


def _text(value: object) -> str | None:
    """A scraped key or title as text: a number as its digits, and anything
    but text or a number (true, a list, an object) as nothing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None
