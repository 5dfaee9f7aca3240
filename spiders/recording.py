"""Recordings: answer requests from a WARC file, or write what a live crawl fetched.

``ReplayMiddleware`` (setting ``HUB_REPLAY``) answers every request from the
recording and never lets one reach the network: a request that is not in it is
counted under ``replay/not_recorded`` and ignored. Each response carries the time
it was recorded (its WARC-Date) in ``request.meta["fetched_at"]``, so parsers
judge "closes in 5 days" against the day the page was fetched.

``RecordMiddleware`` (setting ``HUB_RECORD``) appends every response of a live
crawl to a WARC file.
"""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import IgnoreRequest, NotConfigured
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from w3lib.url import canonicalize_url
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

if TYPE_CHECKING:
    from scrapy import Request, Spider
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)


class NotRecorded(IgnoreRequest):
    """The request has no response in the recording; it was not sent."""


class Recording:
    """An index of a WARC file's responses by URL; bodies are read on demand."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offsets: dict[str, int] = {}
        self._canonical: dict[str, int] = {}
        self.first_urls: list[str] = []
        self._index()

    def _index(self) -> None:
        if not self.path.is_file():
            raise FileNotFoundError(f"recording {self.path} does not exist")
        with self.path.open("rb") as stream:
            records = ArchiveIterator(stream)
            for record in records:
                if record.rec_type != "response":
                    continue
                url = record.rec_headers.get_header("WARC-Target-URI")
                offset = records.get_record_offset()
                self._offsets.setdefault(url, offset)
                self._canonical.setdefault(canonicalize_url(url), offset)
                self.first_urls.append(url)

    def __len__(self) -> int:
        return len(self._offsets)

    def urls(self) -> list[str]:
        return list(self._offsets)

    def lookup(self, url: str) -> RecordedResponse | None:
        offset = self._offsets.get(url)
        if offset is None:
            offset = self._canonical.get(canonicalize_url(url))
        if offset is None:
            return None
        return self._read(offset)

    def _read(self, offset: int) -> RecordedResponse:
        with self.path.open("rb") as stream:
            stream.seek(offset)
            record = next(iter(ArchiveIterator(stream)))
            http = record.http_headers
            return RecordedResponse(
                url=record.rec_headers.get_header("WARC-Target-URI"),
                status=int(http.get_statuscode()),
                headers=list(http.headers),
                body=record.content_stream().read(),
                recorded_at=_warc_date(record.rec_headers.get_header("WARC-Date")),
            )


class RecordedResponse:
    __slots__ = ("url", "status", "headers", "body", "recorded_at")

    def __init__(
        self,
        url: str,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        recorded_at: datetime,
    ) -> None:
        self.url = url
        self.status = status
        self.headers = headers
        self.body = body
        self.recorded_at = recorded_at


def _warc_date(value: str | None) -> datetime:
    if not value:
        return datetime.now(UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


class ReplayMiddleware:
    """Downloader middleware that answers requests from a recording."""

    def __init__(self, crawler: Crawler, recording: Recording) -> None:
        self.crawler = crawler
        self.recording = recording

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("HUB_REPLAY")
        if not path:
            raise NotConfigured("no recording to replay (HUB_REPLAY is not set)")
        return cls(crawler, Recording(Path(path)))

    def process_request(self, request: Request) -> Response:
        stats = self.crawler.stats
        recorded = self.recording.lookup(request.url)
        if recorded is None:
            # robots.txt missing from a recording allows all, as a 404 would
            robots = urlsplit(request.url).path == "/robots.txt"
            stats.inc_value(
                "replay/robots_not_recorded" if robots else "replay/not_recorded"
            )
            logger.info("Not recorded: %s", request.url)
            raise NotRecorded(f"not recorded: {request.url}")
        stats.inc_value("replay/answered")
        request.meta["fetched_at"] = recorded.recorded_at
        headers = Headers(recorded.headers)
        headers.pop(b"Content-Encoding", None)
        headers.pop(b"Transfer-Encoding", None)
        response_class = responsetypes.from_args(
            headers=headers, url=request.url, body=recorded.body
        )
        return response_class(
            url=request.url,
            status=recorded.status,
            headers=headers,
            body=recorded.body,
            request=request,
        )


class FetchTimeMiddleware:
    """Stamps a live response with the time it arrived, unless replay did."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        request.meta.setdefault("fetched_at", datetime.now(UTC))
        return response


class RecordMiddleware:
    """Downloader middleware that appends every live response to a WARC file."""

    def __init__(self, crawler: Crawler, path: Path) -> None:
        self.crawler = crawler
        path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = path.open("ab")
        self._writer = WARCWriter(self._stream, gzip=True)
        crawler.signals.connect(self.close, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        path = crawler.settings.get("HUB_RECORD")
        if not path:
            raise NotConfigured("no recording to write (HUB_RECORD is not set)")
        return cls(crawler, Path(path))

    def process_response(self, request: Request, response: Response) -> Response:
        self.write(response)
        self.crawler.stats.inc_value("record/written")
        return response

    def write(self, response: Response) -> None:
        headers = [
            (key.decode("latin-1"), value.decode("latin-1"))
            for key, values in response.headers.items()
            for value in values
        ]
        status = StatusAndHeaders(f"{response.status} OK", headers, protocol="HTTP/1.1")
        record = self._writer.create_warc_record(
            response.url,
            "response",
            payload=io.BytesIO(response.body),
            length=len(response.body),
            http_headers=status,
        )
        self._writer.write_record(record)

    def close(self, spider: Spider, reason: Any = None) -> None:
        self._stream.close()
