"""Public job-board APIs: Greenhouse, Lever and Ashby, one spider per platform.

Each is configured per board in ``sources.toml`` by its board token. The APIs
answer one JSON document with every open posting (checked 2026-08).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from html import escape
from typing import Any

import scrapy
from scrapy.http import Response

from spiders.base import BaseSpider
from spiders.items import ListingItem

Posting = dict[str, Any]


class JobBoardSpider(BaseSpider):
    """A spider for one board of a platform; subclasses map one posting."""

    api_url: str
    postings_key: str | None = None

    def __init__(
        self,
        *args: Any,
        board: str | None = None,
        provider: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if not board:
            raise ValueError(f"{self.name} needs a board token (-a board=NAME)")
        self.board = board
        self.provider = provider or board.title()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.api_url.format(board=self.board), callback=self.parse)

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """The board's postings, as JSON."""
        data = response.json()
        postings = data.get(self.postings_key, []) if self.postings_key else data
        if not isinstance(postings, list):
            raise ValueError(
                f"{self.name}: expected a list of postings, "
                f"got {type(postings).__name__}"
            )
        for posting in postings:
            if isinstance(posting, dict):
                yield self._parse_posting(response, posting)
            else:
                self.crawler.stats.inc_value("dropped/not_a_posting")

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        raise NotImplementedError


class GreenhouseSpider(JobBoardSpider):
    name = "greenhouse"
    allowed_domains = ["boards-api.greenhouse.io"]
    api_url = "https://boards-api.greenhouse.io/v1/boards/{board}/jobs?content=true"
    postings_key = "jobs"

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        return self.listing(
            response,
            source_key=str(posting["id"]),
            url=posting.get("absolute_url") or response.url,
            title=posting.get("title"),
            provider_name=posting.get("company_name") or self.provider,
            location_texts=_present([(posting.get("location") or {}).get("name")]),
            closing_text=posting.get("application_deadline"),
            posted_text=posting.get("first_published"),
            description_html=posting.get("content"),
            apply_url=posting.get("absolute_url"),
            categories=_present(d.get("name") for d in posting.get("departments", [])),
            raw=posting,
        )


class LeverSpider(JobBoardSpider):
    name = "lever"
    allowed_domains = ["api.lever.co"]
    api_url = "https://api.lever.co/v0/postings/{board}?mode=json"

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        categories = posting.get("categories") or {}
        locations = categories.get("allLocations") or [categories.get("location")]
        return self.listing(
            response,
            source_key=str(posting["id"]),
            url=posting.get("hostedUrl") or response.url,
            title=posting.get("text"),
            provider_name=self.provider,
            location_texts=_present(locations),
            pay_text=_lever_pay(posting.get("salaryRange")),
            description_html=_lever_description(posting),
            employment_type=categories.get("commitment"),
            workplace_type=posting.get("workplaceType"),
            apply_url=posting.get("applyUrl"),
            categories=_present([categories.get("team"), categories.get("department")]),
            raw=posting,
        )


class AshbySpider(JobBoardSpider):
    name = "ashby"
    allowed_domains = ["api.ashbyhq.com"]
    api_url = (
        "https://api.ashbyhq.com/posting-api/job-board/{board}?includeCompensation=true"
    )
    postings_key = "jobs"

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        places = [posting.get("location")] + [
            s.get("location") for s in posting.get("secondaryLocations") or []
        ]
        compensation = posting.get("compensation") or {}
        return self.listing(
            response,
            source_key=str(posting["id"]),
            url=posting.get("jobUrl") or response.url,
            title=posting.get("title"),
            provider_name=self.provider,
            location_texts=_present(places),
            pay_text=compensation.get("scrapeableCompensationSalarySummary"),
            posted_text=posting.get("publishedAt"),
            description_html=posting.get("descriptionHtml"),
            employment_type=posting.get("employmentType"),
            workplace_type="remote"
            if posting.get("isRemote")
            else posting.get("workplaceType"),
            apply_url=posting.get("applyUrl"),
            categories=_present([posting.get("department"), posting.get("team")]),
            raw=posting,
        )


def _present(values: Any) -> list[str]:
    return [str(v).strip() for v in values if v and str(v).strip()]


def _lever_description(posting: dict[str, Any]) -> str | None:
    parts = [posting.get("description") or ""]
    for section in posting.get("lists") or []:
        heading = escape(str(section.get("text", "")))
        parts.append(f"<h3>{heading}</h3><ul>{section.get('content', '')}</ul>")
    parts.append(posting.get("additional") or "")
    html = "".join(parts)
    return html or None


def _lever_pay(salary: Any) -> str | None:
    if not isinstance(salary, dict) or salary.get("min") is None:
        return None
    currency = salary.get("currency", "")
    interval = salary.get("interval", "")
    return f"{currency} {salary['min']} - {salary.get('max', '')} {interval}".strip()
