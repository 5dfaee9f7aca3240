"""Find an apprenticeship (Display Advert API v2), on answers of our own making."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.exceptions import CloseSpider

from spiders.find_an_apprenticeship import (
    DEFAULT_BASE_URL,
    MAX_RATE_LIMITED,
    FindAnApprenticeshipSpider,
    RequestWindow,
    retry_after_seconds,
    wage_text,
)
from spiders.items import ListingItem

REPO = Path(__file__).resolve().parents[2]
KEY = {"HUB_FAA_API_KEY": "test-key-123"}


@pytest.fixture
def spider(make_spider, monkeypatch):
    monkeypatch.delenv("HUB_FAA_API_KEY", raising=False)
    spider = make_spider(FindAnApprenticeshipSpider, settings=KEY, page_size=2)
    pauses: list[float] = []

    async def pause(seconds: float) -> None:
        pauses.append(seconds)

    spider._pause = pause
    spider.pauses = pauses
    return spider


async def collect(agen) -> list:
    return [x async for x in agen]


def run(agen) -> list:
    return asyncio.run(collect(agen))


def page(respond, fixture, name, number, status=200, headers=None):
    url = f"{DEFAULT_BASE_URL}?PageNumber={number}&PageSize=2&Sort=AgeDesc"
    body = fixture("find_an_apprenticeship", name) if name else b""
    return respond(
        url, body, content_type="application/json", status=status, headers=headers
    )


def test_the_first_request_carries_the_key_the_version_and_the_paging(spider):
    (request,) = run(spider.start())

    assert request.url == f"{DEFAULT_BASE_URL}?PageNumber=1&PageSize=2&Sort=AgeDesc"
    assert request.headers["Ocp-Apim-Subscription-Key"] == b"test-key-123"
    assert request.headers["X-Version"] == b"2"
    assert request.meta["handle_httpstatus_list"] == [429]


def test_without_a_key_the_source_is_not_configured(make_spider, monkeypatch):
    monkeypatch.delenv("HUB_FAA_API_KEY", raising=False)
    spider = make_spider(FindAnApprenticeshipSpider)

    with pytest.raises(CloseSpider) as closed:
        run(spider.start())

    assert closed.value.reason == "not_configured"
    assert spider.crawler.stats.get_value("source/not_configured") == 1


def test_the_key_comes_from_the_environment_through_the_settings(
    make_spider, monkeypatch
):
    import importlib

    import hub.settings

    monkeypatch.setenv("HUB_FAA_API_KEY", "from-env")
    key = importlib.reload(hub.settings).HUB_FAA_API_KEY
    monkeypatch.delenv("HUB_FAA_API_KEY")
    importlib.reload(hub.settings)
    spider = make_spider(FindAnApprenticeshipSpider, {"HUB_FAA_API_KEY": key})

    (request,) = run(spider.start())

    assert request.headers["Ocp-Apim-Subscription-Key"] == b"from-env"


def test_a_base_url_and_filters_come_from_the_arguments(make_spider):
    spider = make_spider(
        FindAnApprenticeshipSpider,
        settings=KEY,
        base_url="http://127.0.0.1:9/vacancy",
        filters='{"Routes": "Digital"}',
    )

    (request,) = run(spider.start())

    assert request.url.startswith("http://127.0.0.1:9/vacancy?PageNumber=1&")
    assert request.url.endswith("&Routes=Digital")


def test_a_page_gives_its_vacancies_and_asks_for_the_next(spider, respond, fixture):
    output = run(spider.parse(page(respond, fixture, "page1.json", 1), page=1))

    items = [o for o in output if isinstance(o, ListingItem)]
    requests = [o for o in output if isinstance(o, Request)]
    assert [i.source_key for i in items] == ["VAC1000000001", "VAC1000000002"]
    assert [r.cb_kwargs["page"] for r in requests] == [2]


def test_the_last_page_asks_for_nothing_and_drops_a_vacancy_without_reference(
    spider, respond, fixture
):
    output = run(spider.parse(page(respond, fixture, "page2.json", 2), page=2))

    assert [o.source_key for o in output] == ["VAC1000000003"]
    assert spider.crawler.stats.get_value("dropped/no_vacancy_reference") == 1


@pytest.fixture
def vacancies(spider, respond, fixture):
    output = run(spider.parse(page(respond, fixture, "page1.json", 1), page=1))
    return [o for o in output if isinstance(o, ListingItem)]


@pytest.mark.parametrize(
    ("index", "field", "expected"),
    [
        pytest.param(
            0, "title", "Level 3 Business Administrator Apprenticeship", id="title"
        ),
        pytest.param(
            0,
            "url",
            "https://www.findapprenticeship.service.gov.uk/"
            "apprenticeship/VAC1000000001",
            id="vacancy-url",
        ),
        pytest.param(0, "reference", "VAC1000000001", id="reference"),
        pytest.param(0, "provider_name", "Example Services Ltd", id="employer"),
        pytest.param(
            0, "provider_url", "https://services.example.org", id="employer-website"
        ),
        pytest.param(
            0,
            "training_provider_name",
            "Example Training Provider",
            id="training-provider",
        ),
        pytest.param(
            0,
            "location_texts",
            [
                "Example House, 1 Example Road, Leeds, LS1 4AP",
                "Second Site, Bradford, BD1 1AA",
            ],
            id="several-addresses",
        ),
        pytest.param(0, "postcodes", ["LS1 4AP", "BD1 1AA"], id="postcodes"),
        pytest.param(0, "coordinates", [(53.797, -1.548)], id="zero-zero-dropped"),
        pytest.param(0, "pay_text", "£18,500 a year", id="custom-wage"),
        pytest.param(0, "closing_text", "2026-03-31T23:59:59Z", id="closing"),
        pytest.param(0, "start_text", "2026-05-04T00:00:00Z", id="start"),
        pytest.param(0, "posted_text", "2026-02-20T09:00:00Z", id="posted"),
        pytest.param(0, "duration_text", "18 months", id="duration"),
        pytest.param(
            0,
            "hours_text",
            "37.5 hours a week. Monday to Friday, 9am to 5pm",
            id="hours",
        ),
        pytest.param(0, "level_text", "Level 3 (Advanced)", id="level"),
        pytest.param(
            0,
            "categories",
            ["Business and administration", "Business administrator (level 3)"],
            id="route-and-course",
        ),
        pytest.param(0, "employment_type", "Apprenticeship", id="employment-type"),
        pytest.param(0, "positions", 2, id="positions"),
        pytest.param(0, "workplace_type", None, id="not-national"),
        pytest.param(
            1,
            "location_texts",
            ["Head Office, Manchester, M1 1AE"],
            id="v1-single-address",
        ),
        pytest.param(1, "pay_text", "National Minimum Wage", id="wage-type"),
        pytest.param(1, "workplace_type", "national", id="national-vacancy"),
        pytest.param(
            1,
            "url",
            "https://www.findapprenticeship.service.gov.uk/"
            "apprenticeship/VAC1000000002",
            id="url-from-reference",
        ),
        pytest.param(1, "level_text", "Level 2 (Intermediate)", id="level-2"),
    ],
)
def test_vacancy_fields(vacancies, index, field, expected):
    assert getattr(vacancies[index], field) == expected


def test_what_has_no_field_stays_in_raw(vacancies, fetched):
    raw = vacancies[0].raw

    assert raw["isDisabilityConfident"] is True
    assert raw["ukprn"] == 10000001
    assert raw["wage"]["wageAdditionalInformation"] == "Reviewed after 12 months"
    assert vacancies[0].fetched_at == fetched


@pytest.mark.parametrize(
    ("wage", "expected"),
    [
        pytest.param(
            {"wageType": "ApprenticeshipMinimum", "wageUnit": "Annually"},
            "Apprenticeship minimum wage",
            id="apprenticeship-minimum",
        ),
        pytest.param(
            {"wageType": "CompetitiveSalary"}, "Competitive", id="competitive"
        ),
        pytest.param(
            {"wageAmount": 7.55, "wageUnit": "Hourly"},
            "£7.55 an hour",
            id="hourly-pence",
        ),
        pytest.param(
            {
                "wageAmountLowerBound": 20000,
                "wageAmountUpperBound": 24000,
                "wageUnit": "Annually",
            },
            "£20,000 - £24,000 a year",
            id="range",
        ),
        pytest.param({"wageText": "£300 a week"}, "£300 a week", id="text-given"),
        pytest.param(
            {"wageAmount": 0, "wageType": "Unknown"},
            "Unknown",
            id="zero-amount-is-no-amount",
        ),
        pytest.param(None, None, id="absent"),
    ],
)
def test_wage_text(wage, expected):
    assert wage_text(wage) == expected


# -- politeness: the request window and HTTP 429


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_150_requests_in_5_minutes_then_waits():
    clock = Clock()
    window = RequestWindow(clock=clock)
    for _ in range(150):
        assert window.delay() == 0
        window.record()
        clock.now += 1

    assert window.delay() == pytest.approx(150.0)
    clock.now += 150
    assert window.delay() == 0


def test_the_spider_waits_for_the_window_before_a_page(spider):
    spider.window = RequestWindow(limit=1, seconds=300, clock=Clock())
    run(spider.start())

    asyncio.run(spider.page_request(2))

    assert spider.pauses == [0.0, 300.0]


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        pytest.param(b"120", 120.0, id="seconds"),
        pytest.param("Sun, 01 Mar 2026 09:32:00 GMT", 120.0, id="http-date"),
        pytest.param(b"100000", 300.0, id="capped"),
        pytest.param(b"-5", 0.0, id="negative"),
        pytest.param(None, 60.0, id="absent"),
        pytest.param(b"soon", 60.0, id="garbled"),
    ],
)
def test_retry_after_seconds(header, expected):
    now = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)

    assert retry_after_seconds(header, now) == expected


def test_a_429_waits_for_retry_after_and_asks_the_same_page_again(
    spider, respond, fixture
):
    limited = page(respond, None, None, 3, status=429, headers={"Retry-After": "120"})

    (request,) = run(spider.parse(limited, page=3))

    assert 120.0 in spider.pauses
    assert request.cb_kwargs["page"] == 3
    assert request.dont_filter is True
    assert request.meta["faa_attempt"] == 1
    assert spider.crawler.stats.get_value("faa/rate_limited") == 1


def test_repeated_429s_give_up_on_the_page(spider, respond, fixture):
    limited = page(respond, None, None, 3, status=429)
    limited.request.meta["faa_attempt"] = MAX_RATE_LIMITED

    assert run(spider.parse(limited, page=3)) == []
    assert spider.crawler.stats.get_value("faa/rate_limited_gave_up") == 1


@pytest.mark.slow
def test_a_crawl_without_a_key_finishes_as_not_configured(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "HUB_FAA_API_KEY"}
    command = [
        sys.executable,
        "-m",
        "scrapy",
        "crawl",
        "find_an_apprenticeship",
        "-s",
        "ITEM_PIPELINES={}",
        "-s",
        "LOG_LEVEL=INFO",
    ]

    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )

    assert result.returncode == 0, result.stderr[-2000:]
    assert "'finish_reason': 'not_configured'" in result.stderr
    assert "'source/not_configured': 1" in result.stderr
    assert "downloader/request_count" not in result.stderr
