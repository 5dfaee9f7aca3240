"""Counting what a spider drops before it becomes an item.

Reports read every ``dropped/<reason>`` count. Scrapy also counts an item
pipeline's drops in ``item_dropped_count``; what a spider drops never became an
item, so it is counted under ``spider_dropped/<reason>`` as well, and the two
kinds can be told apart (every drop is accounted for exactly once).
"""

from __future__ import annotations

from scrapy.statscollectors import StatsCollector

DROPPED = "dropped/{}"
SPIDER_DROPPED = "spider_dropped/{}"


def count_spider_drop(stats: StatsCollector | None, reason: str) -> None:
    """One thing dropped by a spider or its middleware, for ``reason``."""
    if stats is None:
        return
    stats.inc_value(DROPPED.format(reason))
    stats.inc_value(SPIDER_DROPPED.format(reason))
