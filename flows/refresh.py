"""The main job as one Prefect flow: register, crawl, judge, match, expire, publish.

Runs in Prefect's ephemeral mode when no server is configured. One failing or
slow source does not hold the others: each crawl is its own task and child
process, bounded by ``CrawlOptions.timeout_seconds``, at most
``HUB_MAX_PARALLEL_CRAWLS`` at a time. A live crawl that fails for a reason that
may pass (a timeout, a fetch error) is retried with backoff; a replay is not.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.context import TaskRunContext
from prefect.task_runners import ThreadPoolTaskRunner
from prefect.tasks import exponential_backoff

from dedupe.adapter import MatchSummary
from flows.alerts import AlertSettings, send_alerts
from flows.crawl import (
    GATE,
    TRANSIENT_ERRORS,
    CrawlOptions,
    CrawlOutcome,
    crawl_source,
)
from flows.db import engine_for
from flows.expire import ExpireReport, expire
from flows.match import match
from flows.publish import last_change, publish
from flows.report import SourceReport, alerts_for, source_reports, write_artifacts
from hub.config import Config
from hub.registry import SourceEntry
from storage.feed import PublishSummary
from storage.health import count_review_pairs, record_health
from storage.lifecycle import close_interrupted_runs, migrate_exclusively
from storage.repository import upsert_source
from storage.session import session_factory, transaction

CRAWL_RETRIES = 2
RETRY_BACKOFF_SECONDS = 60
# the run id of a crawl whose task raised before or without a crawl run
NO_RUN = -1


class TransientCrawlError(RuntimeError):
    """A crawl failed in a way worth trying again; Prefect retries the task."""


@dataclass
class RefreshReport:
    crawls: list[CrawlOutcome] = field(default_factory=list)
    verdicts: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    expire: ExpireReport | None = None
    match: MatchSummary | None = None
    publish: PublishSummary | None = None
    sources: list[SourceReport] = field(default_factory=list)
    alerts_sent: int = 0


@task(name="register-sources")
def register_sources(entries: list[SourceEntry], database_url: str) -> None:
    engine = engine_for(database_url)
    migrate_exclusively(engine)
    with transaction(session_factory(engine)) as session:
        for entry in entries:
            upsert_source(session, **_source_values(entry))
        # runs a killed job left "running": no process will ever finish them
        close_interrupted_runs(session)


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


def is_transient(outcome: CrawlOutcome, options: CrawlOptions) -> bool:
    """A failed live crawl whose error may pass; a replay gives the same answer."""
    if outcome.status != "failed" or options.replay:
        return False
    return (outcome.error or "").startswith(TRANSIENT_ERRORS)


@task(
    name="crawl",
    task_run_name="crawl-{entry.name}",
    retries=CRAWL_RETRIES,
    retry_delay_seconds=exponential_backoff(backoff_factor=RETRY_BACKOFF_SECONDS),
    retry_jitter_factor=0.5,
)
def crawl_with_retries(entry: SourceEntry, options: CrawlOptions) -> CrawlOutcome:
    """Crawl one source; raise on a transient failure while retries remain."""
    outcome = crawl_source.fn(entry, options)
    context = TaskRunContext.get()
    attempt = context.task_run.run_count if context else 1
    retries = context.task.retries if context else 0
    if is_transient(outcome, options) and attempt <= retries:
        raise TransientCrawlError(f"{entry.name}: {outcome.error}")
    return outcome


@task(name="judge-health")
def judge_health(
    crawls: list[CrawlOutcome], database_url: str
) -> dict[str, tuple[str, list[str]]]:
    """Each crawl run's health verdict, stored in the ledger."""
    verdicts = {}
    with transaction(session_factory(engine_for(database_url))) as session:
        for crawl in crawls:
            if crawl.run_id == NO_RUN:
                verdicts[crawl.source] = ("failed", ["the crawl did not start"])
                continue
            health = record_health(session, crawl.run_id, GATE)
            verdicts[crawl.source] = (health.verdict, health.details["reasons"])
    return verdicts


@task(name="count-flagged")
def count_flagged(database_url: str) -> dict[str, int]:
    with session_factory(engine_for(database_url))() as session:
        return count_review_pairs(session)


@flow(
    name="refresh",
    task_runner=ThreadPoolTaskRunner(  # type: ignore[arg-type]
        max_workers=Config.from_env().max_parallel_crawls
    ),
)
def refresh(
    entries: list[SourceEntry],
    options: CrawlOptions,
    alerts: AlertSettings | None = None,
) -> RefreshReport:
    """Crawl the given sources, judge and expire, then match and publish."""
    logger = get_run_logger()
    # register
    register_sources(entries, options.database_url)
    # crawl
    crawl = crawl_with_retries
    if options.retry_backoff_seconds is not None:
        backoff = exponential_backoff(backoff_factor=options.retry_backoff_seconds)
        crawl = crawl.with_options(retry_delay_seconds=backoff)
    futures = [crawl.submit(entry, options) for entry in entries]
    report = RefreshReport(
        crawls=[_outcome(f, e) for f, e in zip(futures, entries, strict=True)]
    )
    # judge each run's health
    report.verdicts = judge_health(report.crawls, options.database_url)
    # match what the stores now hold
    before = last_change(options.database_url)
    report.match = match(options.database_url)
    # expire what complete runs allow, by the closing dates of this run's
    # merged records (a listing without its own takes its opportunity's)
    report.expire = expire(
        options.database_url,
        [c.source for c in report.crawls],
        as_of=datetime.fromisoformat(options.as_of) if options.as_of else None,
        replay=bool(options.replay),
    )
    # publish
    report.publish = publish(options.database_url, since=before)
    # report
    report.sources = source_reports(
        report.crawls,
        report.verdicts,
        report.expire.closed,
        report.expire.gone,
        count_flagged(options.database_url),
    )
    write_artifacts(report.sources, _summary(report))
    report.alerts_sent = send_alerts(
        alerts_for(report.sources), alerts or AlertSettings.from_env()
    )
    logger.info("Published %d opportunities", report.publish.published)
    return report


def _outcome(future: Any, entry: SourceEntry) -> CrawlOutcome:
    """The crawl's outcome; a task that raised (retries spent) reads as failed."""
    try:
        return future.result()
    except Exception as exc:  # noqa: BLE001 - one source's failure holds no other
        return CrawlOutcome(entry.name, NO_RUN, "failed", {}, str(exc))


def _clock(report: ExpireReport) -> str:
    return f"{report.now:%Y-%m-%d %H:%M} UTC" if report.now else "each last fetch"


def _summary(report: RefreshReport) -> str:
    parts = [f"Crawled {len(report.crawls)} sources."]
    if report.expire:
        parts.append(
            f"Expired as of {_clock(report.expire)}: "
            f"{sum(report.expire.closed.values())} closed, "
            f"{sum(report.expire.gone.values())} gone."
        )
    if report.match:
        parts.append(
            f"Matched {report.match.listings} listings into "
            f"{report.match.opportunities} opportunities "
            f"({report.match.review} pairs for review)."
        )
    if report.publish:
        parts.append(f"Published {report.publish.published} opportunities.")
    return " ".join(parts)
