"""Public job-board APIs: one spider per platform, configured per board.

Each is configured per board in ``sources.toml`` by its board token. Greenhouse,
Lever, Ashby and Workable answer one JSON document with every open posting
(checked 2026-08); SmartRecruiters pages its postings by ``offset`` and
``limit``, names the total as ``totalFound``, and keeps each description in the
posting's own document.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from html import escape
from typing import Any, TypeVar

import scrapy
from scrapy.http import Response

from spiders.args import flag
from spiders.base import BaseSpider
from spiders.drops import count_spider_drop
from spiders.items import ListingItem

Posting = dict[str, Any]
T = TypeVar("T")
# what a posting of wrong-typed fields raises while it is mapped
MALFORMED = (KeyError, TypeError, AttributeError, ValueError)

logger = logging.getLogger(__name__)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def posting_id(posting: Posting) -> Any:
    """The posting's own id as the platform names it, if any."""
    return posting.get("id", posting.get("shortcode"))


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
        # checked when the crawl starts, so `scrapy check` can build the spider
        self.board = board or ""
        self.given_provider = provider
        self.provider = provider or (board.title() if board else None)

    def board_url(self, template: str) -> str:
        if not self.board:
            raise ValueError(f"{self.name} needs a board token (-a board=NAME)")
        return template.format(board=self.board)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.board_url(self.api_url), callback=self.parse)

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """The board's postings, as JSON."""
        document = self.document(response, self.postings_key)
        for posting in document[1] if document else []:
            if not isinstance(posting, dict):
                count_spider_drop(self.crawler.stats, "not_a_posting")
                continue
            item = self.guarded(self._parse_posting, response, posting)
            if item is not None:
                yield item

    def guarded(
        self,
        mapper: Callable[[Response, Posting], T],
        response: Response,
        posting: Posting,
    ) -> T | None:
        """``mapper``'s result, or None (counted, warned) for a malformed posting,
        so one bad posting never loses the rest of its document."""
        try:
            return mapper(response, posting)
        except MALFORMED as exc:
            self.crawler.stats.inc_value("job_boards/malformed_posting")
            logger.warning(
                "Skipped malformed %s posting %r on %s: %r",
                self.name,
                posting_id(posting),
                response.url,
                exc,
            )
            return None

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        raise NotImplementedError


class GreenhouseSpider(JobBoardSpider):
    name = "greenhouse"
    allowed_domains = ["boards-api.greenhouse.io"]
    api_url = "https://boards-api.greenhouse.io/v1/boards/{board}/jobs?content=true"
    postings_key = "jobs"

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """The board's postings.

        @url https://boards-api.greenhouse.io/v1/boards/smarterdx/jobs?content=true
        @returns items 1
        @returns requests 0 0
        @scrapes title url source_key
        """
        return super().parse(response)

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        return self.listing(
            response,
            source_key=str(posting["id"]),
            url=posting.get("absolute_url") or response.url,
            title=posting.get("title"),
            provider_name=posting.get("company_name") or self.provider,
            location_texts=_present([_dict(posting.get("location")).get("name")]),
            closing_text=posting.get("application_deadline"),
            posted_text=posting.get("first_published"),
            description_html=posting.get("content"),
            apply_url=posting.get("absolute_url"),
            categories=_present(
                _dict(d).get("name") for d in _list(posting.get("departments"))
            ),
            raw=posting,
        )


class LeverSpider(JobBoardSpider):
    name = "lever"
    allowed_domains = ["api.lever.co"]
    api_url = "https://api.lever.co/v0/postings/{board}?mode=json"

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """The board's postings.

        @url https://api.lever.co/v0/postings/palantir?mode=json
        @returns items 1
        @returns requests 0 0
        @scrapes title url source_key
        """
        return super().parse(response)

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        categories = _dict(posting.get("categories"))
        locations = _list(categories.get("allLocations")) or [
            categories.get("location")
        ]
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

    def parse(self, response: Response) -> Iterator[ListingItem]:
        """The board's postings.

        @url https://api.ashbyhq.com/posting-api/job-board/openevidence?includeCompensation=true
        @returns items 1
        @returns requests 0 0
        @scrapes title url source_key
        """
        return super().parse(response)

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        places = [posting.get("location")] + [
            _dict(s).get("location") for s in _list(posting.get("secondaryLocations"))
        ]
        compensation = _dict(posting.get("compensation"))
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


class WorkableSpider(JobBoardSpider):
    """Workable's public job widget API: one document, ``jobs`` with details."""

    name = "workable"
    allowed_domains = ["apply.workable.com"]
    api_url = "https://apply.workable.com/api/v1/widget/accounts/{board}?details=true"
    postings_key = "jobs"

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        link = posting.get("url") or posting.get("shortlink")
        return self.listing(
            response,
            source_key=str(posting["shortcode"]),
            url=link or response.url,
            title=posting.get("title"),
            provider_name=self.given_provider
            or _account_name(response)
            or self.provider,
            location_texts=_workable_places(posting),
            posted_text=posting.get("published_on") or posting.get("created_at"),
            description_html=posting.get("description"),
            employment_type=posting.get("employment_type"),
            workplace_type="remote" if posting.get("telecommuting") else None,
            reference=posting.get("code") or None,
            apply_url=posting.get("application_url") or link,
            categories=_present(
                posting.get(k) for k in ("department", "function", "experience")
            ),
            raw=posting,
        )


def _account_name(response: Response) -> str | None:
    name = _dict(response.json()).get("name")
    return str(name) if name else None


def _workable_places(posting: Posting) -> list[str]:
    places = [
        _joined_place(p.get("city"), p.get("region"), p.get("country"))
        for p in _list(posting.get("locations"))
        if isinstance(p, dict) and not p.get("hidden")
    ]
    if not places:
        parts = (posting.get(k) for k in ("city", "state", "country"))
        places = [_joined_place(*parts)]
    return _present(places)


def _joined_place(*parts: Any) -> str:
    return ", ".join(str(p).strip() for p in parts if p and str(p).strip())


def _present(values: Any) -> list[str]:
    return [str(v).strip() for v in values if v and str(v).strip()]


def _lever_description(posting: dict[str, Any]) -> str | None:
    parts = [posting.get("description") or ""]
    for section in map(_dict, _list(posting.get("lists"))):
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


class SmartRecruitersSpider(JobBoardSpider):
    """SmartRecruiters' public Posting API: pages of postings, then each posting.

    A page names ``offset``, ``limit``, ``totalFound`` and its ``content``; the
    description and the apply link are only in the posting's own document, which
    is fetched unless ``details=false``. When it cannot be had, the page's
    summary is kept.
    """

    name = "smartrecruiters"
    allowed_domains = ["api.smartrecruiters.com"]
    api_url = "https://api.smartrecruiters.com/v1/companies/{board}/postings"
    posting_page = "https://jobs.smartrecruiters.com/{board}/{id}"
    page_size = 100

    def __init__(
        self,
        *args: Any,
        details: bool | str = True,
        max_pages: int | str = 50,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.details = flag(details)
        self.max_pages = int(max_pages)

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield self._page_request(0, page=1)

    def _page_request(self, offset: int, page: int) -> scrapy.Request:
        url = f"{self.board_url(self.api_url)}?offset={offset}&limit={self.page_size}"
        return scrapy.Request(url, callback=self.parse, cb_kwargs={"page": page})

    def parse(
        self, response: Response, page: int = 1
    ) -> Iterator[ListingItem | scrapy.Request]:
        """A page of postings, and the request for the next page."""
        document = self.document(response, "content")
        if document is None:
            return
        data, content = document
        for posting in content:
            if isinstance(posting, dict):
                yield from self._summary_or_details(response, posting)
            else:
                count_spider_drop(self.crawler.stats, "not_a_posting")
        following = next_offset(data, len(content))
        if following is not None and page < self.max_pages:
            yield self._page_request(following, page + 1)

    def _summary_or_details(
        self, response: Response, posting: Posting
    ) -> Iterator[ListingItem | scrapy.Request]:
        item = self.guarded(self._parse_posting, response, posting)
        if item is None:
            return
        if not self.details:
            yield item
            return
        yield scrapy.Request(
            f"{self.board_url(self.api_url)}/{posting['id']}",
            callback=self.parse_posting,
            errback=self.keep_summary,
            cb_kwargs={"item": item},
        )

    def parse_posting(self, response: Response, item: ListingItem) -> ListingItem:
        """One posting's own document: the job ad and its links."""
        try:
            posting = _dict(json.loads(response.body))
        except (ValueError, RecursionError) as exc:
            self.crawler.stats.inc_value("smartrecruiters/details_malformed")
            logger.warning("Kept the summary of %s: %r", response.url, exc)
            return item
        try:
            return self._add_details(response, item, posting)
        except MALFORMED as exc:
            self.crawler.stats.inc_value("smartrecruiters/details_malformed")
            logger.warning("Kept the summary of %s: %r", response.url, exc)
            return item

    def _add_details(
        self, response: Response, item: ListingItem, posting: Posting
    ) -> ListingItem:
        item.description_html = _smartrecruiters_ad(posting) or item.description_html
        item.apply_url = posting.get("applyUrl") or item.apply_url
        item.url = posting.get("postingUrl") or item.url
        item.raw = {**item.raw, "details": posting}
        item.fetched_at = self.fetched_at(response)
        return item

    def keep_summary(self, failure: Any) -> Iterator[ListingItem]:
        """The posting's document could not be had: keep the page's summary."""
        self.crawler.stats.inc_value("smartrecruiters/details_missing")
        yield failure.request.cb_kwargs["item"]

    def _parse_posting(self, response: Response, posting: Posting) -> ListingItem:
        location = _dict(posting.get("location"))
        company = _dict(posting.get("company"))
        url = self.posting_page.format(board=self.board, id=posting["id"])
        return self.listing(
            response,
            source_key=str(posting["id"]),
            url=url,
            title=posting.get("name"),
            provider_name=self.given_provider or company.get("name") or self.provider,
            location_texts=_present([_smartrecruiters_place(location)]),
            postcodes=_present([location.get("postalCode")]),
            posted_text=posting.get("releasedDate"),
            employment_type=_label(posting.get("typeOfEmployment")),
            workplace_type=_smartrecruiters_workplace(location),
            reference=posting.get("refNumber"),
            apply_url=url,
            categories=_present(
                _label(posting.get(k))
                for k in ("department", "function", "experienceLevel")
            ),
            raw=posting,
        )


def next_offset(page: dict[str, Any], received: int) -> int | None:
    """Where the next page starts, or None when this page was the last."""
    try:
        offset = int(page.get("offset", 0))
        total = int(page.get("totalFound", 0))
    except (TypeError, ValueError):
        return None
    following = offset + received
    return following if received and following < total else None


def _label(value: Any) -> str | None:
    return value.get("label") if isinstance(value, dict) else None


def _smartrecruiters_place(location: dict[str, Any]) -> str | None:
    full = location.get("fullLocation")
    if full:
        return str(full)
    parts = [location.get(k) for k in ("address", "city", "region", "country")]
    return _joined_place(*parts) or None


def _smartrecruiters_workplace(location: dict[str, Any]) -> str | None:
    if location.get("hybrid"):
        return "hybrid"
    return "remote" if location.get("remote") else None


def _smartrecruiters_ad(posting: dict[str, Any]) -> str | None:
    sections = _dict(_dict(posting.get("jobAd")).get("sections"))
    parts = []
    for key in ("jobDescription", "qualifications", "additionalInformation"):
        section = _dict(sections.get(key))
        if not section.get("text"):
            continue
        if section.get("title"):
            parts.append(f"<h3>{escape(str(section['title']))}</h3>")
        parts.append(str(section["text"]))
    return "".join(parts) or None
