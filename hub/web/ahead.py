"""The change feed's next page, made while a consumer reads the one it has.

A consumer syncing the feed asks for page after page, each named by the last
one's ``next``, and between two requests it parses the page it got: the server
sits idle while the consumer works, and the consumer waits while the server
works. When a worker answers a feed page and no other feed request is in hand,
it makes the page after it on one spare thread in that pause, and hands it over
when the consumer asks for it.

A page made ahead is made under the change number read for the page before it
and handed over only to a request that read the same number (see
:mod:`hub.web.answers` for why that is enough); one made in part from a golden
record newer than its stored document is never handed over. A worker answering
other feed requests makes nothing ahead, so a server loaded with them does no
extra work (a page made ahead goes unused when a change is recorded before the
consumer asks for it). At most ``slots`` pages wait; the oldest goes first.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from hub.web.rpde import RpdePage

logger = logging.getLogger(__name__)

SLOTS = 4
WAIT_SECONDS = 30.0


class ReadAhead:
    """Thread-safe: a worker answers on several threads at once."""

    def __init__(self, slots: int = SLOTS) -> None:
        self.slots = slots
        self.started = 0  # pages set to be made ahead
        self.handed = 0  # of them, handed over
        self._pages: OrderedDict[tuple[int, str], Future[RpdePage]] = OrderedDict()
        self._busy = 0  # feed requests being answered
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Wrap the answering of one feed request."""
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1

    def start(self, version: int, url: str, make: Callable[[], RpdePage]) -> None:
        """Make the page at ``url`` now, unless other feed requests are in hand."""
        key = (version, url)
        with self._lock:
            if self._closed or self.slots <= 0 or self._busy > 1 or key in self._pages:
                return
            for stale in [k for k in self._pages if k[0] < version]:
                self._pages.pop(stale).cancel()
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="feed-ahead")
            self._pages[key] = self._pool.submit(make)
            self.started += 1
            while len(self._pages) > self.slots:
                _, dropped = self._pages.popitem(last=False)
                dropped.cancel()

    def take(self, version: int, url: str) -> RpdePage | None:
        """The page made ahead for ``url`` under ``version`` (waiting for it
        while it is being made), or None: then make it now."""
        with self._lock:
            future = self._pages.pop((version, url), None)
        if future is None:
            return None
        try:
            page = future.result(timeout=WAIT_SECONDS)
        except Exception:  # made again now, where its error shows
            logger.debug("a feed page made ahead failed", exc_info=True)
            return None
        if not page.stored:
            return None
        with self._lock:
            self.handed += 1
        return page

    def close(self) -> None:
        """Drop the pages waiting; wait for the one being made (its session
        goes back to the pool before the pool is closed)."""
        with self._lock:
            self._closed = True
            for future in self._pages.values():
                future.cancel()
            self._pages.clear()
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
            logger.info(
                "feed pages made ahead: %d set, %d handed over",
                self.started,
                self.handed,
            )
