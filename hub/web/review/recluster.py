"""Re-clustering after decisions, so the feed shows them.

``match_listings`` re-matches everything (on the replayed recording, 2118
listings: about 8-9 s, then ``publish_feed`` about 1.5-2.5 s on this machine),
too slow to keep a reviewer waiting after each key. So a decision is written
and answered at once (the queue reads decisions, not clusters), and one worker
thread per app re-clusters behind it: decisions that arrive while it runs are
coalesced into the next run. ``mode="inline"`` runs it inside the request
instead (small databases, tests); ``"off"`` leaves it to the next ``hub run``.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from hub.web.review.settings import ReclusterMode
from storage.models import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReclusterRun:
    seconds_match: float
    seconds_publish: float
    opportunities: int
    changed: int
    finished: datetime


def recluster(factory: sessionmaker[Session]) -> ReclusterRun:
    """Re-match every listing (reading every decision) and republish."""
    from dedupe.adapter import match_listings
    from storage.feed import publish_feed

    started = time.perf_counter()
    matched = match_listings(factory)
    middle = time.perf_counter()
    published = publish_feed(factory)
    ended = time.perf_counter()
    logger.info(
        "Re-clustered after decisions: %.2f s matching, %.2f s publishing",
        middle - started,
        ended - middle,
    )
    return ReclusterRun(
        middle - started,
        ended - middle,
        matched.opportunities,
        published.changed,
        utcnow(),
    )


class Reclusterer:
    """Runs :func:`recluster` after decisions, one run at a time."""

    def __init__(self, factory: sessionmaker[Session], mode: ReclusterMode) -> None:
        self.factory = factory
        self.mode = mode
        self.last: ReclusterRun | None = None
        self.failed: str | None = None
        self._requested = 0
        self._done = 0
        self._running = False
        self._run_lock = threading.Lock()
        self._state = threading.Condition()

    def request(self) -> None:
        """Decisions were written: bring clusters and feed up to date."""
        if self.mode == "off":
            return
        if self.mode == "inline":
            self._run_once()
            return
        with self._state:
            self._requested += 1
            if not self._running:
                self._running = True
                threading.Thread(
                    target=self._work, name="review-recluster", daemon=True
                ).start()

    @property
    def pending(self) -> bool:
        with self._state:
            return self._running or self._done < self._requested

    def wait(self, timeout: float) -> bool:
        """Wait until every requested run is done; False on timeout."""
        with self._state:
            return self._state.wait_for(
                lambda: not self._running and self._done >= self._requested, timeout
            )

    def _work(self) -> None:
        while True:
            with self._state:
                if self._done >= self._requested:
                    self._running = False
                    self._state.notify_all()
                    return
                target = self._requested
            self._run_once()
            with self._state:
                self._done = target

    def _run_once(self) -> None:
        with self._run_lock:
            try:
                self.last = recluster(self.factory)
                self.failed = None
            except Exception as exc:  # keep serving; the next run retries
                logger.exception("Re-clustering after decisions failed")
                self.failed = f"{type(exc).__name__}: {exc}"
