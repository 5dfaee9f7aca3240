"""Civil Service Jobs, on a small search page of our own making in the site's layout."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from scrapy import Request
from scrapy.http import HtmlResponse
from scrapy.utils.test import get_crawler

from spiders.civil_service_jobs import CivilServiceJobsSpider, vacancy_number
from spiders.items import ListingItem

SITE = "https://www.civilservicejobs.service.gov.uk"
FETCHED = datetime(2023, 7, 2, 16, 52, tzinfo=UTC)
CLOSES = "11:55 pm on Monday 10th July 2023"
NEXT = "Go to next search results page"


def sid_link(query: str) -> str:
    return f"{SITE}/csr/index.cgi?SID=" + base64.b64encode(query.encode()).decode()


def result_box(vacancy: int, title: str) -> str:
    link = sid_link(f"searchpage=1&joblist_view_vac={vacancy}&owner=5070000")
    return f"""
<li class="search-results-job-box" title="{title}">
<div><h3 class="search-results-job-box-title"><a href="{link}">{title}</a></h3></div>
<div class="search-results-job-box-department">Department for Example</div>
<div class="search-results-job-box-location">Hull, HU1 2AA
</div>
<div class="search-results-job-box-salary">Salary : \xa321,000 to \xa324,500</div>
<div class="search-results-job-box-closingdate">Closes : {CLOSES}</div>
<div class="search-results-job-box-refcode">Reference : 30{vacancy}</div>
</li>"""


def search_page(boxes: str, next_query: str | None) -> HtmlResponse:
    nav = ""
    if next_query:
        nav = f'<a title="{NEXT}" href="{sid_link(next_query)}">next</a>'
    body = f"<html><body>{nav}<ul>{boxes}</ul></body></html>".encode("cp1252")
    request = Request(sid_link("page=1"), meta={"fetched_at": FETCHED})
    return HtmlResponse(
        url=request.url,
        body=body,
        request=request,
        headers={"Content-Type": "text/html; charset=ISO-8859-1"},
    )


@pytest.fixture
def spider() -> CivilServiceJobsSpider:
    crawler = get_crawler(CivilServiceJobsSpider)
    return crawler._create_spider()


def parsed(spider, response):
    requests = list(spider.parse(response))
    items = [r.cb_kwargs["item"] for r in requests if "item" in r.cb_kwargs]
    pages = [r for r in requests if "item" not in r.cb_kwargs]
    return items, pages


def test_vacancy_number_comes_from_the_session_link():
    assert vacancy_number(sid_link("a=1&joblist_view_vac=1862348&b=2")) == "1862348"
    assert vacancy_number(f"{SITE}/csr/jobs.cgi?jcode=42") == "42"
    assert vacancy_number(sid_link("page=2")) is None


def test_a_result_becomes_a_listing_keyed_by_its_vacancy(spider):
    items, _ = parsed(spider, search_page(result_box(1001, "Apprentice Analyst"), None))

    item = items[0]
    assert isinstance(item, ListingItem)
    assert item.source_key == "1001"
    assert item.url == f"{SITE}/csr/jobs.cgi?jcode=1001"
    assert item.title == "Apprentice Analyst"
    assert item.provider_name == "Department for Example"
    assert item.location_texts == ["Hull, HU1 2AA"]
    assert item.closing_text == "11:55 pm on Monday 10th July 2023"
    assert item.reference == "301001"
    assert item.fetched_at == FETCHED


def test_the_pound_sign_survives_the_latin1_page(spider):
    items, _ = parsed(spider, search_page(result_box(1001, "Analyst"), None))

    assert items[0].pay_text == "£21,000 to £24,500"


def test_paging_follows_next_and_stops_when_a_page_adds_nothing(spider):
    first = search_page(result_box(1, "A") + result_box(2, "B"), "page=2")
    repeat = search_page(result_box(2, "B"), "page=3")

    _, pages = parsed(spider, first)
    items, more_pages = parsed(spider, repeat)

    assert len(pages) == 1
    assert items == []
    assert more_pages == []


def test_a_job_page_that_cannot_be_had_keeps_the_search_result(spider):
    items, _ = parsed(spider, search_page(result_box(7, "Trainee Surveyor"), None))

    class Failed:
        request = Request(items[0].url, cb_kwargs={"item": items[0]})

    assert list(spider.keep_result(Failed())) == [items[0]]
