"""An API that answers something other than its JSON is counted and warned
about (``dropped/bad_document``), never raised: every JSON spider alike."""

from __future__ import annotations

import pytest

from spiders.find_an_apprenticeship import FindAnApprenticeshipSpider
from spiders.job_boards import (
    AshbySpider,
    GreenhouseSpider,
    LeverSpider,
    SmartRecruitersSpider,
    WorkableSpider,
)

DEEP = b"[" * 100_000 + b"]" * 100_000
BODIES = [
    pytest.param(b"<html>maintenance</html>", id="html"),
    pytest.param(b'{"jobs": [{"title": "cut', id="truncated"),
    pytest.param(b"\xdd\xfe\x00garbage", id="not-utf-8"),
    pytest.param(DEEP, id="nested-too-deep"),
    pytest.param(b"", id="empty"),
    pytest.param(b'"a string"', id="wrong-top-type"),
    pytest.param(
        b'{"jobs": {"title": "x"}, "content": 3, "vacancies": null}', id="shape"
    ),
]
SPIDERS = [
    pytest.param(GreenhouseSpider, {"board": "b"}, id="greenhouse"),
    pytest.param(LeverSpider, {"board": "b"}, id="lever"),
    pytest.param(AshbySpider, {"board": "b"}, id="ashby"),
    pytest.param(WorkableSpider, {"board": "b"}, id="workable"),
    pytest.param(SmartRecruitersSpider, {"board": "b"}, id="smartrecruiters"),
]


async def _collect(spider, response):
    return [item async for item in spider.parse(response)]


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize(("cls", "kwargs"), SPIDERS)
def test_a_board_answering_garbage_is_a_counted_drop(
    make_spider, respond, cls, kwargs, body, caplog
):
    spider = make_spider(cls, **kwargs)
    response = respond("https://boards.example/api", body)

    assert list(spider.parse(response)) == []
    assert spider.crawler.stats.get_value("dropped/bad_document") == 1
    # a spider's drop: no item was made, so none is in item_dropped_count
    assert spider.crawler.stats.get_value("spider_dropped/bad_document") == 1
    assert "skipped https://boards.example/api" in caplog.text


@pytest.mark.parametrize("body", BODIES)
def test_find_an_apprenticeship_answering_garbage_is_a_counted_drop(
    make_spider, respond, body
):
    import asyncio

    spider = make_spider(FindAnApprenticeshipSpider, settings={"HUB_FAA_API_KEY": "k"})
    response = respond("https://api.example/vacancy", body)

    assert asyncio.run(_collect(spider, response)) == []
    assert spider.crawler.stats.get_value("dropped/bad_document") == 1
