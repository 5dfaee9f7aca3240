"""A cheap look at crawls in progress, for the command line's progress line."""

from __future__ import annotations

from functools import cache

from sqlalchemy import Engine, func, select

from storage.models import CrawlRun, Listing
from storage.session import make_engine


@cache
def _engine(url: str) -> Engine:
    return make_engine(url)


def count_running(database_url: str) -> tuple[int, int]:
    """(crawl runs still running, listings those runs have stored so far)."""
    with _engine(database_url).connect() as connection:
        running = select(CrawlRun.id).where(CrawlRun.status == "running")
        runs = connection.scalar(select(func.count()).select_from(running.subquery()))
        stored = connection.scalar(
            select(func.count()).where(Listing.seen_run_id.in_(running))
        )
    return runs or 0, stored or 0
