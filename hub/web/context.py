"""What every router needs: the database, the geography and the feed's licence."""

from __future__ import annotations

import gc
import logging
import threading
import time
from dataclasses import dataclass, field

from fastapi import Request
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from hub.web.ahead import ReadAhead
from hub.web.answers import AnswerCache
from hub.web.errors import ApiError
from pipelines.enrich import load_gazetteer
from pipelines.geo import Gazetteer, GazetteerFileError
from storage.feed import feed_version

logger = logging.getLogger(__name__)

# The hub's own licence for the compiled feed; each item also names the
# licences and attributions of the sources it came from.
FEED_LICENCE = "https://creativecommons.org/licenses/by/4.0/"


class FeedVersion:
    """The feed's last change number, read outside a transaction (one
    statement, no BEGIN and ROLLBACK around it) and trusted for ``seconds``.

    With ``seconds`` at 0 every request reads it. Above 0 an answer may show
    the feed as it was then (and a little longer, while a slow database
    answers), and a request for a kept answer need not touch the database at
    all: when the number is due, a thread reads it again while requests go on
    with the one held, so a slow database holds up no request but the first.
    The number never goes back.
    """

    def __init__(self, engine: Engine, seconds: float = 0.0) -> None:
        self.engine = engine
        self.seconds = seconds
        self._value: int | None = None
        self._read_at = 0.0
        self._reading = False
        self._lock = threading.Lock()

    def __call__(self) -> int:
        if self.seconds <= 0:
            return self._read()
        with self._lock:
            held = self._value
            due = time.monotonic() - self._read_at >= self.seconds
            if held is not None and due and not self._reading:
                self._reading = True
                threading.Thread(
                    target=self._refresh_quietly, name="feed-version", daemon=True
                ).start()
        if held is not None:
            return held
        return self._refresh()

    def _refresh_quietly(self) -> None:
        try:
            self._refresh()
        except Exception:
            # the number held is served until a read succeeds; requests that
            # read the database themselves say what is wrong
            logger.warning("The feed's change number could not be read", exc_info=True)

    def _refresh(self) -> int:
        started = time.monotonic()
        try:
            value = self._read()
        finally:
            with self._lock:
                self._reading = False
        with self._lock:
            if self._value is None or value >= self._value:
                self._value, self._read_at = value, started
            return self._value

    def _read(self) -> int:
        with self.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            return feed_version(autocommit)


@dataclass
class FeedContext:
    engine: Engine
    factory: sessionmaker[Session]
    geo_dir: str | None = None
    licence: str = FEED_LICENCE
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    ahead: ReadAhead = field(default_factory=ReadAhead)
    version_seconds: float = 0.0
    _gazetteer: Gazetteer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _version: FeedVersion = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._version = FeedVersion(self.engine, self.version_seconds)

    def close(self) -> None:
        """Finish the page being made ahead, then close the database pool."""
        self.ahead.close()
        self.engine.dispose()

    def feed_version(self) -> int:
        """The feed's last change number, at most ``version_seconds`` old."""
        return self._version()

    def gazetteer(self) -> Gazetteer | None:
        """The geography of ``geo_dir``, loaded on first use (None without one).
        Files that cannot be read are a 503, and are tried again on the next
        use: a folder put right serves without a restart."""
        if self.geo_dir is None:
            return None
        with self._lock:
            if self._gazetteer is None:
                try:
                    self._gazetteer = load_gazetteer(self.geo_dir)
                    keep_out_of_collection()
                except GazetteerFileError as exc:
                    logger.error("The geography cannot be read: %s", exc)
                    raise ApiError(
                        503,
                        "no_geography",
                        "the server's geography cannot be read: searching by"
                        " place is unavailable",
                    ) from exc
        return self._gazetteer


def keep_out_of_collection() -> None:
    """Leave what exists now (the modules, the app, a loaded geography: kept
    for the worker's life) out of the garbage collector's full passes. Each
    full pass walks every object and holds every request meanwhile: 40 to
    110 ms in a worker that has loaded the app, where a kept answer takes 4."""
    gc.freeze()


def get_context(request: Request) -> FeedContext:
    context: FeedContext = request.app.state.hub
    return context
