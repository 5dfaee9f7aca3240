"""What every router needs: the database, the geography and the feed's licence."""

from __future__ import annotations

import logging
import threading
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


@dataclass
class FeedContext:
    engine: Engine
    factory: sessionmaker[Session]
    geo_dir: str | None = None
    licence: str = FEED_LICENCE
    answers: AnswerCache = field(default_factory=lambda: AnswerCache(0))
    ahead: ReadAhead = field(default_factory=ReadAhead)
    _gazetteer: Gazetteer | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def close(self) -> None:
        """Finish the page being made ahead, then close the database pool."""
        self.ahead.close()
        self.engine.dispose()

    def feed_version(self) -> int:
        """The feed's last change number, read outside a transaction: one
        statement, with no BEGIN and ROLLBACK around it."""
        with self.engine.connect() as connection:
            autocommit = connection.execution_options(isolation_level="AUTOCOMMIT")
            return feed_version(autocommit)

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
                except GazetteerFileError as exc:
                    logger.error("The geography cannot be read: %s", exc)
                    raise ApiError(
                        503,
                        "no_geography",
                        "the server's geography cannot be read: searching by"
                        " place is unavailable",
                    ) from exc
        return self._gazetteer


def get_context(request: Request) -> FeedContext:
    context: FeedContext = request.app.state.hub
    return context
