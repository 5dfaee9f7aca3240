"""What every item pipeline shares: built from the crawler, drops counted by reason."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Self

from scrapy.exceptions import DropItem

if TYPE_CHECKING:
    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

DROP_STAT = "dropped/{}"


class Drop(DropItem):
    """A listing dropped on purpose, with a short reason code for the run report."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        super().__init__(f"{reason}: {detail}")


class CrawlerPipeline:
    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def drop(self, reason: str, detail: str) -> Drop:
        """Count a dropped listing under ``reason`` and return the error to raise."""
        self.crawler.stats.inc_value(DROP_STAT.format(reason))
        logger.warning("Dropped a listing (%s): %s", reason, detail)
        return Drop(reason, detail)

    def count(self, name: str, by: int = 1) -> None:
        self.crawler.stats.inc_value(name, by)
