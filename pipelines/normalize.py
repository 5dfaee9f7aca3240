"""Normalisation: text, dates, pay and URLs, each parsed value beside its text.

An unparseable value leaves its field empty, keeps the text, is noted in
``item.parse_failures`` and counted under ``unparsed/<field>``; it never drops
the listing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pipelines.base import CrawlerPipeline
from pipelines.dates import LONDON, parse_closing, parse_date
from pipelines.pay import parse_pay
from pipelines.text import (
    clean_whitespace,
    decode_entities,
    html_to_text,
    sanitize_html,
    summarize_text,
)
from pipelines.urls import canonicalize_url
from spiders.items import ListingItem, Pay

SUMMARY_LENGTH = 300
# the source's words that are plain text: entities decoded (sources escape them,
# sometimes twice), whitespace collapsed, NUL and other control characters gone
PLAIN_TEXT_FIELDS = (
    "title",
    "provider_name",
    "alternate_title",
    "training_provider_name",
    "pay_text",
    "cost_text",
    "closing_text",
    "posted_text",
    "start_text",
    "end_text",
    "opens_text",
    "duration_text",
    "hours_text",
    "level_text",
    "employment_type",
    "workplace_type",
    "reference",
)
PLAIN_TEXT_LISTS = ("location_texts", "categories", "postcodes")
_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r")


class NormalizationPipeline(CrawlerPipeline):
    def process_item(self, item: ListingItem) -> ListingItem:
        self._normalize_text(item)
        self._normalize_dates(item)
        self._normalize_pay(item)
        item.canonical_url = canonicalize_url(item.url)
        if item.apply_url:
            item.canonical_apply_url = canonicalize_url(item.apply_url)
        return item

    def _normalize_text(self, item: ListingItem) -> None:
        for name in PLAIN_TEXT_FIELDS:
            setattr(item, name, _clean(getattr(item, name)))
        for name in PLAIN_TEXT_LISTS:
            setattr(item, name, [t for t in map(_clean, getattr(item, name)) if t])
        if item.description_html:
            item.description_text = html_to_text(item.description_html) or None
            item.description_safe_html = sanitize_html(item.description_html, item.url)
            # the text just made, not the HTML parsed a second time
            item.summary = summarize_text(item.description_text or "", SUMMARY_LENGTH)

    def _normalize_dates(self, item: ListingItem) -> None:
        item.closing_date = self._parsed(
            item, "closing_date", item.closing_text, parse_closing
        )
        item.posted_date = self._parsed(item, "posted_date", item.posted_text, _posted)
        item.start_date = self._parsed(item, "start_date", item.start_text, _instant)
        item.end_date = self._parsed(item, "end_date", item.end_text, _instant)
        item.opens_date = self._parsed(item, "opens_date", item.opens_text, _instant)

    def _parsed(
        self,
        item: ListingItem,
        name: str,
        text: str | None,
        parser: Callable[..., datetime | None],
    ) -> datetime | None:
        if not text:
            return None
        value = parser(text, fetched_at=item.fetched_at)
        if value is None:
            self._failed(item, name, text)
        return value

    def _normalize_pay(self, item: ListingItem) -> None:
        as_of = item.fetched_at.date()
        if item.cost_text:
            item.cost = parse_pay(item.cost_text, as_of=as_of)
        if not item.pay_text and not item.base_salary:
            return
        item.pay = parse_pay(item.pay_text, item.base_salary, as_of=as_of)
        if not _understood(item.pay):
            self._failed(item, "pay", item.pay_text or str(item.base_salary))

    def _failed(self, item: ListingItem, name: str, text: str) -> None:
        item.parse_failures[name] = text[:200]
        self.count(f"unparsed/{name}")


def _instant(
    text: str, *, fetched_at: datetime, prefer: str = "future"
) -> datetime | None:
    """A date or instant as an aware datetime (a bare date: its start in London)."""
    value = parse_date(text, fetched_at=fetched_at, prefer=prefer)
    if value is None or isinstance(value, datetime):
        return value
    return datetime(value.year, value.month, value.day, tzinfo=LONDON)


def _posted(text: str, *, fetched_at: datetime) -> datetime | None:
    """When a listing was posted: a year-less date lies in the past."""
    return _instant(text, fetched_at=fetched_at, prefer="past")


def _understood(pay: Pay | None) -> bool:
    if pay is None:
        return False
    return pay.min is not None or pay.max is not None or pay.undisclosed or pay.unpaid


def _clean(text: object) -> str | None:
    if isinstance(text, int | float) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not text:
        return None
    return clean_whitespace(decode_entities(text).translate(_CONTROL))
