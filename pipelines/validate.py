"""Validation: a listing without its identity or a title is dropped, with a reason.

A field that should hold text but holds something else (a list, an object, a
bool: an API that changed, or a hostile one) is emptied and counted under
``not_text/<field>``: a number becomes its digits, a list of texts keeps its
texts. The pipelines after this one can then trust every text field's type.
"""

from __future__ import annotations

import logging
from dataclasses import fields
from typing import Any, get_type_hints

from pipelines.base import CrawlerPipeline
from pipelines.text import clean_whitespace
from pipelines.urls import safe_http_url
from spiders.items import ListingItem

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 300
NOT_TEXT_STAT = "not_text/{}"


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
        self._texts_only(item)
        return item

    def _texts_only(self, item: ListingItem) -> None:
        for name in TEXT_FIELDS:
            value = getattr(item, name)
            if value is not None and not isinstance(value, str):
                setattr(item, name, _text(value))
                self._not_text(item, name, value)
        for name in TEXT_LIST_FIELDS:
            values = getattr(item, name)
            if not isinstance(values, list) or not all(
                isinstance(v, str) for v in values
            ):
                kept = values if isinstance(values, list) else []
                setattr(item, name, [t for t in map(_text, kept) if t])
                self._not_text(item, name, values)

    def _not_text(self, item: ListingItem, name: str, value: Any) -> None:
        self.count(NOT_TEXT_STAT.format(name))
        logger.debug(
            "%s %s: %s was %s, not text", item.source, item.source_key, name,
            type(value).__name__,
        )  # fmt: skip


def _text(value: object) -> str | None:
    """A scraped key or title as text: a number as its digits, and anything
    but text or a number (true, a list, an object) as nothing."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return value if isinstance(value, str) else None


def _typed_fields(kind: object) -> tuple[str, ...]:
    hints = get_type_hints(ListingItem)
    return tuple(f.name for f in fields(ListingItem) if hints[f.name] == kind)


# the fields of the vocabulary that hold text, or a list of texts
TEXT_FIELDS = tuple(
    name for name in _typed_fields(str | None) if name not in ("title", "source_key")
)
TEXT_LIST_FIELDS = _typed_fields(list[str])
