"""Answers of the list and change-feed endpoints, kept while the feed is unchanged.

An answer of ``/opportunities`` or ``/feed`` follows from its URL and from what
the feed holds, and everything that changes what the feed holds records a
change with a new number (:func:`storage.feed.feed_version` is the last one).
So an answer is kept under that number and its whole URL, and served again,
byte for byte with its ETag, until a newer number is read. Every request takes
the number first (read afresh, or trusted for up to ``HUB_FEED_VERSION_SECONDS``:
:class:`hub.web.context.FeedVersion`), and an answer is made from what was read
after it: no answer is older than its number, one made from newer data goes
with the rest when the newer number is read, and so an answer lags a change by
no more than that trust. An answer that
had to be made in part from a golden record newer than its stored document
(between matching and publishing) is not kept: the golden record can change
again before a number does. Matching also rewrites golden records and scope
without a number of their own, and publishing, later in the same run, records
their changes; in between, a kept answer shows the feed as last published.

Memory is bounded by the bytes of the kept bodies; the least recently used
goes first, and a new number drops every answer kept under an older one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from fastapi.responses import Response

from hub.web.etag import etag_for, not_modified

# header that says whether an answer was kept from before ("hit") or made now
CACHE_HEADER = "X-Hub-Cache"
# how long a request waits for another making the same answer before making
# its own
WAIT_SECONDS = 30.0


@dataclass(frozen=True)
class Answer:
    body: bytes
    etag: str
    kept: bool = False  # served from the cache


class AnswerCache:
    """Thread-safe: a worker answers on several threads at once."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._version: int | None = None
        self._answers: OrderedDict[str, Answer] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self._making: dict[tuple[int, str], threading.Event] = {}

    def get(self, version: int, url: str) -> Answer | None:
        with self._lock:
            if version != self._version:
                return None
            answer = self._answers.get(url)
            if answer is not None:
                self._answers.move_to_end(url)
        return answer

    def answer(self, version: int, url: str, body: str | bytes, keep: bool) -> Answer:
        """``body`` as an answer, kept under ``version`` when ``keep``."""
        data = body if isinstance(body, bytes) else body.encode()
        made = Answer(data, etag_for(data))
        if not keep or len(data) > self.max_bytes:
            return made
        with self._lock:
            if self._version is None or version > self._version:
                self._answers.clear()
                self._bytes = 0
                self._version = version
            if version == self._version and url not in self._answers:
                self._answers[url] = Answer(data, made.etag, kept=True)
                self._bytes += len(data)
                while self._bytes > self.max_bytes:
                    _, dropped = self._answers.popitem(last=False)
                    self._bytes -= len(dropped.body)
        return made

    def get_or_make(
        self, version: int, url: str, make: Callable[[], tuple[str | bytes, bool]]
    ) -> Answer:
        """The kept answer, or one made by ``make`` (body, keep): requests
        for one URL that arrive while it is being made wait for it, so a new
        change number costs one making per URL, not one per request."""
        answer = self.get(version, url)
        if answer is not None:
            return answer
        if self.max_bytes <= 0:  # nothing is kept: nothing to wait for
            body, keep = make()
            return self.answer(version, url, body, keep)
        key = (version, url)
        with self._lock:
            making = self._making.get(key)
            first = making is None
            if first:
                making = self._making[key] = threading.Event()
        assert making is not None
        if not first:
            making.wait(WAIT_SECONDS)
            answer = self.get(version, url)
            if answer is not None:
                return answer
        try:
            body, keep = make()
            return self.answer(version, url, body, keep)
        finally:
            if first:
                with self._lock:
                    self._making.pop(key, None)
                making.set()

    def __len__(self) -> int:
        return len(self._answers)


def answer_response(request: Request, answer: Answer) -> Response:
    """200 with the body, or 304 when the client holds its ETag."""
    state = "hit" if answer.kept else "miss"
    unchanged = not_modified(request, answer.etag)
    if unchanged is not None:
        unchanged.headers[CACHE_HEADER] = state
        return unchanged
    return Response(
        answer.body,
        media_type="application/json",
        headers={"ETag": answer.etag, CACHE_HEADER: state},
    )
