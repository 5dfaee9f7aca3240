"""The main job as one Prefect flow: crawl every enabled source, match, publish.

Runs in Prefect's ephemeral mode when no server is configured. One failing or
slow source does not hold the others: each crawl is its own task and process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.task_runners import ThreadPoolTaskRunner

from dedupe.adapter import MatchSummary, match_listings
from flows.crawl import CrawlOptions, CrawlOutcome, crawl_source
from hub.registry import SourceEntry
from storage.feed import PublishSummary, publish_feed
from storage.repository import upsert_source
from storage.session import make_engine, migrate, session_factory, transaction


@dataclass
class RefreshReport:
    crawls: list[CrawlOutcome] = field(default_factory=list)
    match: MatchSummary | None = None
    publish: PublishSummary | None = None


@task(name="register-sources")
def register_sources(entries: list[SourceEntry], database_url: str) -> None:
    engine = make_engine(database_url)
    migrate(engine)
    with transaction(session_factory(engine)) as session:
        for entry in entries:
            upsert_source(session, **_source_values(entry))


def _source_values(entry: SourceEntry) -> dict[str, Any]:
    return {
        "name": entry.name,
        "spider": entry.spider,
        "provider_kind": entry.provider_kind.value,
        "trust_rank": entry.trust_rank,
        "licence": entry.licence,
        "attribution": entry.attribution,
        "enabled": entry.enabled,
        "config": {"args": entry.args, "schedule": entry.schedule},
    }


@task(name="match")
def match(database_url: str) -> MatchSummary:
    return match_listings(session_factory(make_engine(database_url)))


@task(name="publish")
def publish(database_url: str) -> PublishSummary:
    return publish_feed(session_factory(make_engine(database_url)))


@flow(name="refresh", task_runner=ThreadPoolTaskRunner(max_workers=2))  # type: ignore[arg-type]
def refresh(entries: list[SourceEntry], options: CrawlOptions) -> RefreshReport:
    """Crawl the given sources, then match and publish."""
    logger = get_run_logger()
    # register
    register_sources(entries, options.database_url)
    # crawl
    futures = [crawl_source.submit(entry, options) for entry in entries]
    report = RefreshReport(crawls=[f.result() for f in futures])
    # match and publish what the stores now hold
    report.match = match(options.database_url)
    report.publish = publish(options.database_url)
    logger.info("Published %d opportunities", report.publish.published)
    return report
