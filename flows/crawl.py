"""Crawl one source: a crawl run opened, the spider run in a child process, its
stats read back and judged (ok, partial or failed, with the reason in the
stats' ``source_status``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from flows.db import factory_for
from hub.crawl import ERROR_MARK, CrawlRequest
from hub.registry import SourceEntry
from pipelines.coverage import coverage_shortfalls
from spiders.middlewares import REFUSALS
from storage.repository import finish_crawl_run, get_source, start_crawl_run
from storage.session import transaction

STDERR_TAIL = 2000
NOT_CONFIGURED = "not_configured"
NOT_RECORDED_STAT = "downloader/exception_type_count/spiders.recording.NotRecorded"
DELIBERATE_STATS = (
    NOT_RECORDED_STAT,
    # robots.txt's own refusals and the offsite filter
    "downloader/exception_type_count/scrapy.exceptions.IgnoreRequest",
    *(
        f"downloader/exception_type_count/{cls.__module__}.{cls.__qualname__}"
        for cls in REFUSALS
    ),
)


@dataclass
class CrawlOptions:
    database_url: str
    replay: str | None = None
    record: str | None = None
    as_of: str | None = None
    geo_dir: str | None = None
    timeout_seconds: int = 1800
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class CrawlOutcome:
    source: str
    run_id: int
    status: str
    stats: dict[str, Any]
    error: str | None = None


@task(name="crawl-source", task_run_name="crawl-{entry.name}")
def crawl_source(entry: SourceEntry, options: CrawlOptions) -> CrawlOutcome:
    """Crawl one source in a child process and record its crawl run."""
    logger = get_run_logger()
    factory = factory_for(options.database_url)
    with transaction(factory) as session:
        source = get_source(session, entry.name)
        if source is None:
            raise LookupError(f"source {entry.name!r} is not registered")
        run = start_crawl_run(session, source, options.replay)
        source_id, run_id = source.id, run.id
    stats, error = _run_child(entry, options, source_id, run_id)
    status = judge(stats, error)
    if stats:
        stats["source_status"] = source_status(stats, error)
        stats["warnings"] = run_warnings(stats)
    error = error or describe_failure(stats, status)
    with transaction(factory) as session:
        finish_crawl_run(session, run_id, status, stats, error)
    log = logger.warning if status != "ok" else logger.info
    log("%s: %s%s", entry.name, status, f" ({error})" if error else "")
    return CrawlOutcome(entry.name, run_id, status, stats, error)


def _run_child(
    entry: SourceEntry, options: CrawlOptions, source_id: int, run_id: int
) -> tuple[dict[str, Any], str | None]:
    with tempfile.TemporaryDirectory(prefix="hub-crawl-") as folder:
        request_path = Path(folder) / "request.json"
        stats_path = Path(folder) / "stats.json"
        CrawlRequest(
            spider=entry.spider,
            source=entry.name,
            source_id=source_id,
            run_id=run_id,
            database_url=options.database_url,
            stats_path=str(stats_path),
            args=entry.args,
            settings=_crawl_settings(entry, options),
        ).write(request_path)
        try:
            child = subprocess.run(
                [sys.executable, "-m", "hub.crawl", str(request_path)],
                capture_output=True,
                text=True,
                timeout=options.timeout_seconds,
            )
        except subprocess.TimeoutExpired:
            return {}, f"timed out after {options.timeout_seconds} s"
        if child.returncode != 0 or not stats_path.exists():
            reason = child_error(child.stderr)
            return {}, f"crawl process exited with {child.returncode}: {reason}"
        return json.loads(stats_path.read_text(encoding="utf-8")), None


def child_error(stderr: str) -> str:
    """The crawl child's own error line, else the last line it wrote."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in reversed(lines):
        if line.startswith(ERROR_MARK):
            return line.removeprefix(ERROR_MARK)
    return lines[-1][-STDERR_TAIL:] if lines else "no error output"


def _crawl_settings(entry: SourceEntry, options: CrawlOptions) -> dict[str, Any]:
    settings: dict[str, Any] = {**entry.politeness, **options.settings}
    if options.replay:
        settings["HUB_REPLAY"] = str(Path(options.replay).resolve())
        # a replay answers from the file: no delay between "requests"
        settings.update(AUTOTHROTTLE_ENABLED=False, DOWNLOAD_DELAY=0)
        settings["CONCURRENT_REQUESTS_PER_DOMAIN"] = 16
    if options.record:
        settings["HUB_RECORD"] = str(Path(options.record).resolve())
    if options.as_of:
        settings["HUB_AS_OF"] = options.as_of
    if options.geo_dir:
        settings["HUB_GEO_DIR"] = str(Path(options.geo_dir).resolve())
    settings.setdefault("LOG_LEVEL", "WARNING")
    return settings


# why a run is not ok, worst first; each maps to the run's status
FAILED_REASONS = {
    "crawl_error",
    "interrupted",
    "robots_unavailable",
    "fetch_failed",
    "spider_failed",
    "blocked_by_robots",
    "coverage_low",
}
PARTIAL_REASONS = {"rate_limited", "incomplete", "no_listings"}


def judge(stats: dict[str, Any], error: str | None) -> str:
    """ok, partial or failed (or not_configured: the source lacks a setting such
    as an API key, and nothing was asked of it): :func:`source_status`, coarsened.

    Only an ``ok`` run is a complete picture of the source. A ``failed`` or
    ``partial`` run must never mark a listing gone or closed for being absent
    from it (a rate-limited, robots-blocked, half-fetched or half-parsed run
    says nothing about what the source no longer lists); such listings keep
    their status and ``last_seen``, and the source is crawled again next run.
    """
    reason = source_status(stats, error)
    if reason == NOT_CONFIGURED:
        return NOT_CONFIGURED
    if reason in FAILED_REASONS:
        return "failed"
    return "partial" if reason in PARTIAL_REASONS else "ok"


def source_status(stats: dict[str, Any], error: str | None) -> str:
    """What happened to the source in this run, in one word.

    failed: ``crawl_error`` (the child failed or timed out), ``interrupted``
    (stopped before the end), ``robots_unavailable`` (robots.txt answered 5xx,
    nothing fetched), ``fetch_failed`` (nothing could be fetched),
    ``spider_failed`` (errors and no listing), ``blocked_by_robots`` (robots.txt
    forbade every page), ``coverage_low`` (a required field on fewer than 90%
    of the listings; see :mod:`pipelines.coverage`).
    partial: ``rate_limited`` (a Retry-After beyond what a crawl waits: the
    rest is left for the next run), ``incomplete`` (some requests failed, were
    not recorded, were refused an error page or were too large), ``no_listings``
    (a clean run that found nothing: not trusted to mean "all gone").
    ``ok`` otherwise.
    """
    if error or not stats:
        return "crawl_error"
    items = stats.get("item_scraped_count", 0)
    if stats.get("source/not_configured"):
        return NOT_CONFIGURED
    if stats.get("finish_reason") != "finished":
        return "interrupted"
    if stats.get("robotstxt/unavailable") and not items:
        return "robots_unavailable"
    if stats.get("retry_after/deferred") or stats.get("retry_after/rescheduled"):
        return "rate_limited"
    if not stats.get("downloader/response_count") or (not items and _troubles(stats)):
        return "fetch_failed"
    if stats.get("spider_errors", 0) and not items:
        return "spider_failed"
    if not items and stats.get("robotstxt/forbidden"):
        return "blocked_by_robots"
    if coverage_shortfalls(stats):
        return "coverage_low"
    if _troubles(stats) or stats.get("robotstxt/unavailable"):
        return "incomplete"
    return "ok" if items else "no_listings"


def _troubles(stats: dict[str, Any]) -> int:
    # requests refused on purpose (not recorded, robots, guard) are no errors
    fetch_errors = stats.get("downloader/exception_count", 0) - sum(
        stats.get(key, 0) for key in DELIBERATE_STATS
    )
    return (
        fetch_errors
        + stats.get("replay/not_recorded", 0)
        + stats.get("spider_errors", 0)
        + stats.get("httperror/response_ignored_count", 0)
    )


def run_warnings(stats: dict[str, Any]) -> list[str]:
    """What looked odd in a run that may still be ok."""
    warnings = []
    if stats.get("robotstxt/not_text"):
        warnings.append("robots_not_text")
    if stats.get("redirect/to_same_url"):
        warnings.append("redirect_to_same_url")
    if stats.get("dupefilter/filtered"):
        warnings.append("duplicate_requests_filtered")
    return warnings


def describe_failure(stats: dict[str, Any], status: str) -> str | None:
    """Why a run is failed or partial, in a phrase for the run report."""
    if status == "ok":
        return None
    reason = source_status(stats, None) if stats else "crawl_error"
    if reason == "coverage_low":
        return "too few listings have a required field: " + "; ".join(
            coverage_shortfalls(stats)
        )
    if reason in _DESCRIBERS:
        return _DESCRIBERS[reason](stats)
    return _fetch_problem(stats)


def _fetch_problem(stats: dict[str, Any]) -> str:
    exceptions = sorted(
        key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
        for key in stats
        if key.startswith("downloader/exception_type_count/")
        and key not in DELIBERATE_STATS
    )
    if exceptions:
        return "could not fetch: " + ", ".join(exceptions)
    if stats.get("replay/not_recorded") and not stats.get("replay/answered"):
        return "nothing of this source is in the recording"
    if stats.get("replay/not_recorded"):
        return f"{stats['replay/not_recorded']} requests not recorded"
    errors = stats.get("httperror/response_ignored_count")
    if errors:
        return f"{errors} error responses ({_statuses(stats)})"
    return f"no responses (finish reason: {stats.get('finish_reason', 'unknown')})"


def _statuses(stats: dict[str, Any]) -> str:
    prefix = "downloader/response_status_count/"
    return ", ".join(
        f"{key.removeprefix(prefix)}: {value}"
        for key, value in sorted(stats.items())
        if key.startswith(prefix)
    )


_DESCRIBERS = {
    "robots_unavailable": lambda s: (
        "robots.txt unavailable (5xx): nothing fetched, retried next run "
        f"({_statuses(s)})"
    ),
    "blocked_by_robots": lambda s: (
        f"blocked by robots.txt: {s.get('robotstxt/forbidden', 0)} requests "
        "forbidden, 0 listings"
    ),
    "rate_limited": lambda s: (
        f"rate limited: {s.get('retry_after/deferred', 0)} requests left for the "
        f"next run ({_statuses(s)}; {s.get('retry/count', 0)} retries)"
    ),
    "no_listings": lambda s: "0 listings found",
    "spider_failed": lambda s: f"{s.get('spider_errors', 0)} spider errors, no listing",
}
