"""Helpers for spider tests: spiders built by a crawler, responses from fixtures."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy import Request, Spider
from scrapy.http import Response
from scrapy.http.response.html import HtmlResponse
from scrapy.responsetypes import responsetypes
from scrapy.utils.test import get_crawler

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
FETCHED = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def fixture_bytes(*parts: str) -> bytes:
    return FIXTURES.joinpath(*parts).read_bytes()


def fake_response(
    url: str,
    body: bytes | str,
    *,
    content_type: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **request_kwargs: Any,
) -> Response:
    """A response as the downloader would give it, stamped with ``FETCHED``."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    all_headers = dict(headers or {})
    if content_type:
        all_headers["Content-Type"] = content_type
    request = Request(url, meta={"fetched_at": FETCHED}, **request_kwargs)
    cls = responsetypes.from_args(headers=all_headers, url=url, body=data)
    if cls is Response and content_type and "html" in content_type:
        cls = HtmlResponse
    return cls(url=url, body=data, headers=all_headers, status=status, request=request)


@pytest.fixture
def make_spider() -> Callable[..., Any]:
    """A spider of ``cls`` built as a crawl would build it, with ``settings``."""

    def make(
        cls: type[Spider], settings: dict[str, Any] | None = None, **kwargs: Any
    ) -> Any:
        crawler = get_crawler(cls, settings or {})
        crawler.spider = crawler._create_spider(**kwargs)
        return crawler.spider

    return make


@pytest.fixture
def respond() -> Callable[..., Response]:
    """``fake_response``: a response stamped with the frozen fetch time."""
    return fake_response


@pytest.fixture
def fixture() -> Callable[..., bytes]:
    """The bytes of ``tests/fixtures/<parts>``."""
    return fixture_bytes


@pytest.fixture
def fetched() -> datetime:
    return FETCHED
