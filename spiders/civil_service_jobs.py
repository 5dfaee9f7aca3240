"""Civil Service Jobs (civilservicejobs.service.gov.uk): search results and job pages.

Every link on the site carries a session id (``index.cgi?SID=`` + base64 of the
query), so one page has many URLs. A vacancy's stable key is the
``joblist_view_vac`` number inside the SID; its canonical URL is
``/csr/jobs.cgi?jcode=N``. Pages are served as ISO-8859-1 (checked 2023-07).

A search result already names the title, department, location, salary, closing
date and reference; the job page adds the description, the details panel and the
apply link. When a job page cannot be had, the search result is kept as it is.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import scrapy
from parsel import Selector
from scrapy.http import Response
from twisted.python.failure import Failure

from spiders.base import BaseSpider
from spiders.drops import count_spider_drop
from spiders.items import ListingItem

SITE = "https://www.civilservicejobs.service.gov.uk"
JOB_URL = SITE + "/csr/jobs.cgi?jcode={}"
NEXT_PAGE = 'a[title="Go to next search results page"]::attr(href)'
ABOUT_THE_JOB = (
    '//div[@id="section_link_about"]'
    '/following-sibling::div[contains(@class, "vac_display_field")]'
)
_LABEL = re.compile(r"^\s*(Salary|Closes|Reference)\s*:\s*", re.I)


def vacancy_number(url: str) -> str | None:
    """The vacancy number in a job link, from its SID or its ``jcode``."""
    query = parse_qs(urlsplit(url).query)
    if "jcode" in query:
        return query["jcode"][0]
    for sid in query.get("SID", []):
        decoded = _decode_sid(sid)
        vacancy = parse_qs(decoded).get("joblist_view_vac")
        if vacancy:
            return vacancy[0]
    return None


def _decode_sid(sid: str) -> str:
    try:
        return base64.b64decode(sid + "=" * (-len(sid) % 4)).decode("latin-1")
    except (binascii.Error, ValueError):
        return ""


class CivilServiceJobsSpider(BaseSpider):
    name = "civil_service_jobs"
    allowed_domains = ["civilservicejobs.service.gov.uk"]

    def __init__(
        self, *args: Any, start_url: str | None = None, max_pages: int = 50, **kw: Any
    ) -> None:
        super().__init__(*args, **kw)
        self.start_url = start_url or SITE + "/csr/index.cgi"
        self.max_pages = int(max_pages)
        self._seen: set[str] = set()

    async def start(self) -> AsyncIterator[scrapy.Request]:
        yield scrapy.Request(self.start_url, callback=self.parse, cb_kwargs={"page": 1})

    def parse(
        self, response: Response, page: int = 1
    ) -> Iterator[ListingItem | scrapy.Request]:
        """A page of search results (search pages are session links: no contract)."""
        boxes = response.css("li.search-results-job-box")
        new = 0
        for box in boxes:
            item = self._parse_result(response, box)
            if item is None or item.source_key in self._seen:
                continue
            self._seen.add(item.source_key)
            new += 1
            yield scrapy.Request(
                item.url,
                callback=self.parse_job,
                errback=self.keep_result,
                cb_kwargs={"item": item},
            )
        next_page = response.css(NEXT_PAGE)
        request = self.follow_http(
            response, next_page.get(), callback=self.parse, cb_kwargs={"page": page + 1}
        )
        if new and request and page < self.max_pages:
            yield request
        elif boxes and not new:
            self.logger.info("Stopped paging at page %d: no new listings", page)

    def _parse_result(self, response: Response, box: Selector) -> ListingItem | None:
        link = box.css("h3.search-results-job-box-title a")
        vacancy = vacancy_number(link.attrib.get("href", ""))
        if vacancy is None:
            count_spider_drop(self.crawler.stats, "no_vacancy_number")
            self.logger.warning("A result without a vacancy number: %s", response.url)
            return None
        return self.listing(
            response,
            source_key=vacancy,
            url=JOB_URL.format(vacancy),
            title=_text(link),
            provider_name=_field(box, "department"),
            location_texts=[t for t in [_field(box, "location")] if t],
            pay_text=_field(box, "salary"),
            closing_text=_field(box, "closingdate"),
            reference=_field(box, "refcode"),
            raw={"search_result": box.get()},
        )

    def parse_job(self, response: Response, item: ListingItem) -> Iterator[ListingItem]:
        """A job page: the search result plus the description and details."""
        details = self._parse_details(response)
        item.description_html = self._parse_description(response)
        item.apply_url = response.css(
            ".vac_display_apply_external_top a::attr(href)"
        ).get()
        item.closing_text = (
            _clean(response.css("p.vac_display_closing_date::text").get())
            or item.closing_text
        )
        item.employment_type = details.get("Contract type")
        item.categories = [v for k, v in details.items() if k == "Type of role"]
        item.fetched_at = self.fetched_at(response)
        item.raw["details"] = details
        yield item

    def _parse_details(self, response: Response) -> dict[str, str]:
        details = {}
        for field in response.css(".vac_display_panel_side .vac_display_field"):
            label = _text(field.css("h3"))
            values = [_text(v) for v in field.css(".vac_display_field_value")]
            if label:
                details[label] = "; ".join(v for v in values if v)
        return details

    def _parse_description(self, response: Response) -> str | None:
        sections = response.xpath(ABOUT_THE_JOB)
        html = "".join(section.get() for section in sections)
        return html or None

    def keep_result(self, failure: Failure) -> Iterator[ListingItem]:
        """The job page could not be had: keep what the search result said."""
        yield failure.request.cb_kwargs["item"]


def _field(box: Selector, name: str) -> str | None:
    value = _text(box.css(f".search-results-job-box-{name}"))
    return _LABEL.sub("", value) if value else None


def _text(selector: Selector) -> str | None:
    return _clean(" ".join(selector.css("::text").getall()))


def _clean(text: str | None) -> str | None:
    if text is None:
        return None
    text = " ".join(text.split())
    return text or None
