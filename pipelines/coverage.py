"""The validation gate's counts: how many listings carry each feed field.

After normalisation and enrichment every listing adds 1 to ``coverage/items``
and 1 to ``coverage/<field>`` for each field it has. The fields a source must
fill (``HUB_REQUIRED_FIELDS``, plus ``closing_date`` where
``HUB_CLOSING_DATE_REQUIRED`` is set) are written to ``coverage/required``;
:func:`coverage_shortfalls` names those below the required share, for the crawl
flow's judgement and for ``hub sources check``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

from scrapy import signals

from pipelines.base import CrawlerPipeline
from spiders.items import ListingItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

ITEMS_STAT = "coverage/items"
REQUIRED_STAT = "coverage/required"
REQUIRED_SHARE = 0.9
DEFAULT_REQUIRED = ("title", "provider_name", "url")


# a listing as the crawl yields it, or as it is stored (its fields as JSON)
Listing = ListingItem | Mapping[str, Any]


def _value(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def _filled(name: str) -> Callable[[Listing], bool]:
    def filled(item: Listing) -> bool:
        value = _value(item, name)
        return value is not None and value != "" and value != [] and value != {}

    return filled


def _has_postcode(item: Listing) -> bool:
    return any(_value(place, "postcode") for place in _value(item, "locations") or [])


def _has_eligibility(item: Listing) -> bool:
    e = _value(item, "eligibility")
    return e is not None and bool(
        _value(e, "age_min") is not None
        or _value(e, "age_max") is not None
        or _value(e, "school_years")
        or _value(e, "criteria")
    )


FIELDS: dict[str, Callable[[Listing], bool]] = {
    **{
        name: _filled(name)
        for name in (
            "title",
            "provider_name",
            "url",
            "apply_url",
            "closing_date",
            "posted_date",
            "start_date",
            "pay",
            "locations",
            "opportunity_type",
            "description_text",
        )
    },
    "postcode": _has_postcode,
    "eligibility": _has_eligibility,
}


def present_fields(item: Listing) -> list[str]:
    return [name for name, filled in FIELDS.items() if filled(item)]


class CoveragePipeline(CrawlerPipeline):
    def __init__(self, crawler: Crawler, required: list[str]) -> None:
        super().__init__(crawler)
        self.required = required
        crawler.signals.connect(self.opened, signal=signals.spider_opened)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, required_fields(crawler.settings))

    def opened(self, *_: Any) -> None:
        self.crawler.stats.set_value(REQUIRED_STAT, self.required)

    def process_item(self, item: ListingItem) -> ListingItem:
        self.count(ITEMS_STAT)
        for name in present_fields(item):
            self.count(f"coverage/{name}")
        return item


def required_fields(settings: Any) -> list[str]:
    """The fields every listing of a source must have, from its settings."""
    fields = list(settings.getlist("HUB_REQUIRED_FIELDS") or DEFAULT_REQUIRED)
    if settings.getbool("HUB_CLOSING_DATE_REQUIRED") and "closing_date" not in fields:
        fields.append("closing_date")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise ValueError(
            f"HUB_REQUIRED_FIELDS names unknown fields {unknown}; "
            f"known: {sorted(FIELDS)}"
        )
    return fields


def coverage_shares(stats: Mapping[str, Any]) -> dict[str, float]:
    """Each field's share of the run's listings (empty when there were none)."""
    items = stats.get(ITEMS_STAT, 0)
    if not items:
        return {}
    return {name: stats.get(f"coverage/{name}", 0) / items for name in FIELDS}


def coverage_shortfalls(
    stats: Mapping[str, Any],
    required: Iterable[str] | None = None,
    share: float = REQUIRED_SHARE,
) -> list[str]:
    """The required fields below ``share`` of the listings, each as a phrase."""
    shares = coverage_shares(stats)
    if not shares:
        return []
    names = required if required is not None else stats.get(REQUIRED_STAT)
    return [
        f"{name} on {shares[name]:.0%} of {stats[ITEMS_STAT]} listings "
        f"(needs {share:.0%})"
        for name in names or DEFAULT_REQUIRED
        if shares.get(name, 0.0) < share
    ]
