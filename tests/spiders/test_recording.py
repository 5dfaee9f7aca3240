from __future__ import annotations

import io
from pathlib import Path

import pytest
from scrapy import Request
from scrapy.utils.test import get_crawler
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from spiders.base import BaseSpider
from spiders.recording import NotRecorded, Recording, ReplayMiddleware


def write_warc(path: Path, pages: dict[str, tuple[bytes, str]], date: str) -> None:
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, (body, content_type) in pages.items():
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": date},
            )
            writer.write_record(record)


@pytest.fixture
def warc(tmp_path: Path) -> Path:
    path = tmp_path / "small.warc.gz"
    pages = {
        "https://charity.example.org/opps?b=2&a=1": (
            "<h1>Caf\xe9 \xa318,000</h1>".encode("cp1252"),
            "text/html; charset=ISO-8859-1",
        ),
        "https://charity.example.org/feed.json": (b'{"jobs": []}', "application/json"),
    }
    write_warc(path, pages, "2023-07-02T16:52:00Z")
    return path


def middleware(warc: Path) -> ReplayMiddleware:
    crawler = get_crawler(BaseSpider, {"HUB_REPLAY": str(warc)})
    crawler.spider = crawler._create_spider("replay_test")
    return ReplayMiddleware.from_crawler(crawler)


def test_a_recorded_request_is_answered_with_its_body_and_fetch_time(warc):
    request = Request("https://charity.example.org/opps?b=2&a=1")

    response = middleware(warc).process_request(request)

    assert response.text == "<h1>Café £18,000</h1>"
    assert request.meta["fetched_at"].isoformat() == "2023-07-02T16:52:00+00:00"


def test_a_request_differing_only_in_query_order_is_found(warc):
    response = middleware(warc).process_request(
        Request("https://charity.example.org/opps?a=1&b=2")
    )

    assert response.status == 200


def test_a_request_not_in_the_recording_is_never_sent_and_is_counted(warc):
    replay = middleware(warc)

    with pytest.raises(NotRecorded):
        replay.process_request(Request("https://charity.example.org/other"))

    assert replay.crawler.stats.get_value("replay/not_recorded") == 1


def test_a_missing_recording_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Recording(tmp_path / "absent.warc.gz")


def test_robots_txt_missing_from_a_recording_is_counted_apart(warc):
    replay = middleware(warc)

    with pytest.raises(NotRecorded):
        replay.process_request(Request("https://charity.example.org/robots.txt"))

    stats = replay.crawler.stats
    assert stats.get_value("replay/robots_not_recorded") == 1
    assert stats.get_value("replay/not_recorded") is None
