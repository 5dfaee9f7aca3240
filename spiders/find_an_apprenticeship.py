"""GOV.UK Find an apprenticeship: the Display Advert API, version 2.

The main feed of apprenticeships in England. ``GET {base_url}?PageNumber=N
&PageSize=M&Sort=AgeDesc`` answers ``{"vacancies": [...], "total",
"totalFiltered", "totalPages"}``; each request carries the subscription key in
``Ocp-Apim-Subscription-Key`` and ``X-Version: 2``. Version 2 gives a vacancy
several addresses (``addresses``); version 1's single ``address`` is read too.

The key comes from the ``HUB_FAA_API_KEY`` setting or environment variable.
Without one the source is *not configured*, which is not a failure: the spider
closes at once with ``finish_reason = "not_configured"`` and the stat
``source/not_configured = 1``, having sent nothing.

The API allows 150 requests in 5 minutes per subscription: a sliding window
holds the spider to that, and an HTTP 429 waits for its ``Retry-After`` (capped)
before the same page is asked again, up to ``MAX_RATE_LIMITED`` times. A replay
sends nothing, so it never waits.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlencode

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import Response

from spiders.args import table
from spiders.base import BaseSpider
from spiders.drops import count_spider_drop
from spiders.items import ListingItem

DEFAULT_BASE_URL = "https://api.apprenticeships.education.gov.uk/vacancies/vacancy"
VACANCY_PAGE = "https://www.findapprenticeship.service.gov.uk/apprenticeship/{}"
KEY_SETTING = "HUB_FAA_API_KEY"
NOT_CONFIGURED = "not_configured"
NOT_CONFIGURED_STAT = "source/not_configured"
WINDOW_REQUESTS = 150
WINDOW_SECONDS = 300.0
MAX_RATE_LIMITED = 3
MAX_RETRY_AFTER = 300.0
DEFAULT_RETRY_AFTER = 60.0

_WAGE_UNITS = {
    "annually": "a year",
    "monthly": "a month",
    "weekly": "a week",
    "daily": "a day",
    "hourly": "an hour",
}
_WAGE_TYPES = {
    "apprenticeshipminimum": "Apprenticeship minimum wage",
    "nationalminimum": "National Minimum Wage",
    "nationalminimumwage": "National Minimum Wage",
    "competitivesalary": "Competitive",
    "competitive": "Competitive",
}

Vacancy = dict[str, Any]


class RequestWindow:
    """At most ``limit`` requests in any ``seconds``-long window."""

    def __init__(
        self,
        limit: int = WINDOW_REQUESTS,
        seconds: float = WINDOW_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.seconds = seconds
        self.clock = clock
        self._sent: deque[float] = deque()

    def delay(self) -> float:
        """Seconds to wait before the next request may be sent."""
        now = self.clock()
        while self._sent and now - self._sent[0] >= self.seconds:
            self._sent.popleft()
        if len(self._sent) < self.limit:
            return 0.0
        return self._sent[0] + self.seconds - now

    def record(self) -> None:
        self._sent.append(self.clock())


def retry_after_seconds(value: bytes | str | None, now: datetime) -> float:
    """A ``Retry-After`` header in seconds: a number or an HTTP date, capped."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if not value or not value.strip():
        return DEFAULT_RETRY_AFTER
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (parsedate_to_datetime(value) - now).total_seconds()
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class FindAnApprenticeshipSpider(BaseSpider):
    name = "find_an_apprenticeship"
    custom_settings = {
        # 429 is handled here, with its Retry-After; Scrapy would retry at once
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "CONCURRENT_REQUESTS_PER_DOMAIN": 1,
    }

    def __init__(
        self,
        *args: Any,
        base_url: str = DEFAULT_BASE_URL,
        page_size: int | str = 100,
        max_pages: int | str = 200,
        sort: str = "AgeDesc",
        filters: dict[str, Any] | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.base_url = base_url
        self.page_size = int(page_size)
        self.max_pages = int(max_pages)
        self.sort = sort
        self.filters = table(filters, "filters")
        self.window = RequestWindow()

    def api_key(self) -> str | None:
        key = self.settings.get(KEY_SETTING)
        return str(key).strip() or None if key else None

    async def start(self) -> AsyncIterator[scrapy.Request]:
        if self.api_key() is None:
            self.crawler.stats.set_value(NOT_CONFIGURED_STAT, 1)
            self.logger.warning(
                "%s is not configured: set %s to the Display Advert API key",
                self.source,
                KEY_SETTING,
            )
            raise CloseSpider(NOT_CONFIGURED)
        yield await self.page_request(1)

    async def page_request(self, page: int, attempt: int = 0) -> scrapy.Request:
        """The request for one page, sent no sooner than the window allows."""
        await self._pause(self.window.delay())
        self.window.record()
        query = {"PageNumber": page, "PageSize": self.page_size, "Sort": self.sort}
        return scrapy.Request(
            f"{self.base_url}?{urlencode({**query, **self.filters})}",
            headers={
                "Ocp-Apim-Subscription-Key": self.api_key() or "",
                "X-Version": "2",
            },
            callback=self.parse,
            cb_kwargs={"page": page},
            meta={"handle_httpstatus_list": [429], "faa_attempt": attempt},
            dont_filter=attempt > 0,
        )

    async def parse(
        self, response: Response, page: int = 1
    ) -> AsyncIterator[ListingItem | scrapy.Request]:
        """A page of vacancies, then the next page."""
        if response.status == 429:
            async for request in self._rate_limited(response, page):
                yield request
            return
        document = self.document(response, "vacancies")
        if document is None:
            return
        data, vacancies = document
        for vacancy in vacancies:
            item = self._parse_vacancy(response, vacancy)
            if item is not None:
                yield item
        if vacancies and page < _total_pages(data) and page < self.max_pages:
            yield await self.page_request(page + 1)

    async def _rate_limited(
        self, response: Response, page: int
    ) -> AsyncIterator[scrapy.Request]:
        stats = self.crawler.stats
        stats.inc_value("faa/rate_limited")
        attempt = response.meta.get("faa_attempt", 0) + 1
        if attempt > MAX_RATE_LIMITED:
            stats.inc_value("faa/rate_limited_gave_up")
            self.logger.error("Gave up on page %d after %d HTTP 429s", page, attempt)
            return
        wait = retry_after_seconds(
            response.headers.get("Retry-After"), datetime.now(UTC)
        )
        self.logger.warning("HTTP 429 on page %d: waiting %.0f s", page, wait)
        await self._pause(wait)
        yield await self.page_request(page, attempt)

    async def _pause(self, seconds: float) -> None:
        if seconds <= 0 or self.settings.get("HUB_REPLAY"):
            return
        self.crawler.stats.inc_value("faa/waited_seconds", round(seconds))
        await asyncio.sleep(seconds)

    def _parse_vacancy(self, response: Response, vacancy: Any) -> ListingItem | None:
        reference = (
            _text(vacancy.get("vacancyReference")) if _is_dict(vacancy) else None
        )
        if reference is None:
            count_spider_drop(self.crawler.stats, "no_vacancy_reference")
            return None
        url = _text(vacancy.get("vacancyUrl")) or VACANCY_PAGE.format(reference)
        return self.listing(
            response,
            **vacancy_fields(vacancy),
            source_key=reference,
            url=url,
            apply_url=url,
            reference=reference,
        )


def vacancy_fields(vacancy: Vacancy) -> dict[str, Any]:
    """The item fields of one advert, in the API's own words."""
    addresses = vacancy_addresses(vacancy)
    course = vacancy.get("course") if _is_dict(vacancy.get("course")) else {}
    return {
        "title": _text(vacancy.get("title")),
        "provider_name": _text(vacancy.get("employerName")),
        "provider_url": _text(vacancy.get("employerWebsiteUrl")),
        "training_provider_name": _text(vacancy.get("providerName")),
        "location_texts": [t for t in map(_address_text, addresses) if t],
        "postcodes": [p for p in (_text(a.get("postcode")) for a in addresses) if p],
        "coordinates": [c for c in map(_coordinates, addresses) if c],
        "pay_text": wage_text(vacancy.get("wage")),
        "closing_text": _text(vacancy.get("closingDate")),
        "posted_text": _text(vacancy.get("postedDate")),
        "start_text": _text(vacancy.get("startDate")),
        "duration_text": _text(vacancy.get("expectedDuration")),
        "hours_text": hours_text(vacancy),
        "level_text": level_text(vacancy, course),
        "description_html": _text(vacancy.get("description")),
        "employment_type": "Apprenticeship",
        "workplace_type": "national" if vacancy.get("isNationalVacancy") else None,
        "categories": _present([course.get("route"), course.get("title")]),
        "positions": _whole(vacancy.get("numberOfPositions")),
        "raw": vacancy,
    }


def vacancy_addresses(vacancy: Vacancy) -> list[dict[str, Any]]:
    found = [vacancy.get("address"), *(vacancy.get("addresses") or [])]
    found += vacancy.get("otherAddresses") or []
    unique: list[dict[str, Any]] = []
    for address in found:
        if _is_dict(address) and address not in unique:
            unique.append(address)
    return unique


def wage_text(wage: Any) -> str | None:
    """The wage as a sentence: "£18,000 a year", "National Minimum Wage"."""
    if not _is_dict(wage):
        return _text(wage)
    if _text(wage.get("wageText")):
        return _text(wage.get("wageText"))
    unit = _WAGE_UNITS.get(str(wage.get("wageUnit") or "").lower(), "")
    amount = _amount_text(wage)
    if amount:
        return f"{amount} {unit}".strip()
    kind = str(wage.get("wageType") or "").lower()
    return _WAGE_TYPES.get(kind) or _text(wage.get("wageType"))


def _amount_text(wage: dict[str, Any]) -> str | None:
    low = _money(wage.get("wageAmountLowerBound"))
    high = _money(wage.get("wageAmountUpperBound"))
    if low and high and low != high:
        return f"{low} - {high}"
    return _money(wage.get("wageAmount")) or low or high


def _money(value: Any) -> str | None:
    try:
        amount = float(value)
    except (TypeError, ValueError):
        return None
    if amount <= 0:
        return None
    return f"£{amount:,.0f}" if amount == int(amount) else f"£{amount:,.2f}"


def hours_text(vacancy: Vacancy) -> str | None:
    hours = _text(vacancy.get("hoursPerWeek"))
    week = _text((vacancy.get("wage") or {}).get("workingWeekDescription"))
    parts = [f"{hours} hours a week" if hours else None, week]
    return ". ".join(p for p in parts if p) or None


def level_text(vacancy: Vacancy, course: dict[str, Any]) -> str | None:
    level = _text(course.get("level"))
    named = _text(vacancy.get("apprenticeshipLevel"))
    if level and named:
        return f"Level {level} ({named})"
    return f"Level {level}" if level else named


def _address_text(address: dict[str, Any]) -> str | None:
    keys = ("addressLine1", "addressLine2", "addressLine3", "addressLine4", "postcode")
    return ", ".join(p for p in (_text(address.get(k)) for k in keys) if p) or None


def _coordinates(address: dict[str, Any]) -> tuple[float, float] | None:
    try:
        lat, lon = float(address["latitude"]), float(address["longitude"])
    except (KeyError, TypeError, ValueError):
        return None
    if (lat, lon) == (0.0, 0.0) or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return (lat, lon)


def _total_pages(data: dict[str, Any]) -> int:
    return _whole(data.get("totalPages")) or 0


def _is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def _text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        found = str(value).strip()
        return found or None
    return None


def _present(values: list[Any]) -> list[str]:
    return [t for t in map(_text, values) if t]


def _whole(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
