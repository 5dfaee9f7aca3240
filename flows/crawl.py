"""Crawl one source: a crawl run opened, the spider run in a child process, its
stats read back and judged (ok, partial or failed, with the reason in the
stats' ``source_status``)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from flows.db import engine_for, factory_for
from hub.crawl import ERROR_MARK, CrawlRequest
from hub.registry import SourceEntry
from pipelines.coverage import coverage_shortfalls
from spiders.middlewares import REFUSALS
from storage.health import CoverageGate, record_health
from storage.lifecycle import hold_run
from storage.repository import finish_crawl_run, get_source, start_crawl_run
from storage.session import retry_on_disconnect, transaction

STDERR_TAIL = 2000
# the coverage pipeline's required fields, and the health ledger's history rule
GATE = CoverageGate(required=coverage_shortfalls)
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
    # the backoff factor, in seconds, between the flow's tries of a crawl that
    # failed transiently; None: the flow's own
    retry_backoff_seconds: float | None = None


@dataclass
class CrawlOutcome:
    source: str
    run_id: int
    status: str
    stats: dict[str, Any]
    error: str | None = None


@task(name="crawl-source", task_run_name="crawl-{entry.name}")
def crawl_source(entry: SourceEntry, options: CrawlOptions) -> CrawlOutcome:
    """Crawl one source in a child process and record its crawl run.

    The run is held by this process from before its row is committed until it
    is finished and judged (:func:`storage.lifecycle.hold_run`), so a run
    whose process is killed is told from one still going.
    """
    with ExitStack() as held:
        return _crawl(entry, options, held)


def _crawl(entry: SourceEntry, options: CrawlOptions, held: ExitStack) -> CrawlOutcome:
    logger = get_run_logger()
    factory = factory_for(options.database_url)

    def start() -> tuple[int, int]:
        with transaction(factory) as session:
            source = get_source(session, entry.name)
            if source is None:
                raise LookupError(f"source {entry.name!r} is not registered")
            run = start_crawl_run(session, source, options.replay)
            held.enter_context(hold_run(engine_for(options.database_url), run.id))
            return source.id, run.id

    source_id, run_id = retry_on_disconnect(start, "opening a crawl run")
    stats, error = _run_child(entry, options, source_id, run_id)
    status = judge(stats, error)
    if stats:
        stats["source_status"] = source_status(stats, error)
        stats["warnings"] = run_warnings(stats)
    error = error or describe_failure(stats, status)

    def finish() -> None:
        with transaction(factory) as session:
            finish_crawl_run(session, run_id, status, stats, error)
            # judged as it ends: no finished run is ever left without a verdict
            record_health(session, run_id, GATE)

    # a run left "running" would hold its source's health back for good
    retry_on_disconnect(finish, "closing a crawl run")
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
# what a failed crawl's error starts with when trying again may help
TRANSIENT_ERRORS = (
    "timed out",
    "could not resolve host",
    "could not connect",
    "could not fetch",
    "crawl process exited",
)
# fetch errors by what they mean, each named by the phrase the report uses
_TIMEOUTS = frozenset({"TimeoutError", "DownloadTimeoutError", "TCPTimedOutError"})
_UNRESOLVED = frozenset({"DNSLookupError", "CannotResolveHostError"})
_REFUSED = frozenset(
    {"ConnectionRefusedError", "DownloadConnectionRefusedError", "ConnectError"}
)
FETCH_PROBLEMS = (
    (_UNRESOLVED, "could not resolve host"),
    (_TIMEOUTS, "timed out"),
    (_REFUSED, "could not connect"),
)
RATE_LIMITED_STATUS = 429


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
    rest is left for the next run; or 429 answers still refused after every
    retry), ``incomplete`` (some requests failed, were
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
    if _rate_limited(stats):
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


def _rate_limited(stats: dict[str, Any]) -> bool:
    """The host held us off: a Retry-After beyond the cap, or 429 to the end."""
    return bool(
        stats.get("retry_after/deferred")
        or stats.get("retry_after/rescheduled")
        or stats.get(_ignored_key(RATE_LIMITED_STATUS))
    )


def _ignored_key(status: int) -> str:
    return f"httperror/response_ignored_status_count/{status}"


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
    exceptions = _exception_counts(stats)
    if exceptions:
        return _exception_phrase(exceptions)
    if stats.get("replay/not_recorded") and not stats.get("replay/answered"):
        return "nothing of this source is in the recording"
    if stats.get("replay/not_recorded"):
        return f"{stats['replay/not_recorded']} requests not recorded"
    errors = stats.get("httperror/response_ignored_count")
    if errors:
        return f"{_http_codes(stats)}: {errors} error responses ({_statuses(stats)})"
    return f"no responses (finish reason: {stats.get('finish_reason', 'unknown')})"


def _exception_counts(stats: dict[str, Any]) -> dict[str, int]:
    """Fetch errors by exception class name, refusals on purpose left out."""
    prefix = "downloader/exception_type_count/"
    counts: dict[str, int] = {}
    for key, value in stats.items():
        if key.startswith(prefix) and key not in DELIBERATE_STATS:
            name = key.removeprefix(prefix).rsplit(".", 1)[-1]
            counts[name] = counts.get(name, 0) + int(value)
    return counts


def _exception_phrase(counts: dict[str, int]) -> str:
    """The commonest kind of fetch error named ("timed out", "could not resolve
    host"), with every exception counted: "timed out (DownloadTimeoutError: 4)"."""
    listed = ", ".join(f"{name}: {n}" for name, n in sorted(counts.items()))
    worst = max(sorted(counts), key=lambda name: counts[name])
    for names, phrase in FETCH_PROBLEMS:
        if worst in names:
            return f"{phrase} ({listed})"
    return f"could not fetch: {listed}"


def _http_codes(stats: dict[str, Any]) -> str:
    """The statuses of the error responses given up on: "HTTP 500", "HTTP 502, 503"."""
    prefix = "httperror/response_ignored_status_count/"
    codes = sorted(key.removeprefix(prefix) for key in stats if key.startswith(prefix))
    return "HTTP " + ", ".join(codes) if codes else "HTTP errors"


def _statuses(stats: dict[str, Any]) -> str:
    prefix = "downloader/response_status_count/"
    return ", ".join(
        f"{key.removeprefix(prefix)}: {value}"
        for key, value in sorted(stats.items())
        if key.startswith(prefix)
    )


def _robots_unavailable(stats: dict[str, Any]) -> str:
    prefix = "robotstxt/response_status_count/"
    codes = sorted(k.removeprefix(prefix) for k in stats if k.startswith(prefix))
    status = "HTTP " + ", ".join(codes) if codes else "5xx"
    return (
        f"robots.txt unavailable ({status}): nothing fetched, retried next run "
        f"({_statuses(stats)})"
    )


def _rate_limit_problem(stats: dict[str, Any]) -> str:
    retries = stats.get("retry/count", 0)
    if stats.get("retry_after/deferred") or stats.get("retry_after/rescheduled"):
        held = f"{stats.get('retry_after/deferred', 0)} requests left for the next run"
    else:
        refused = stats.get(_ignored_key(RATE_LIMITED_STATUS), 0)
        held = f"{refused} requests still answered 429 after every retry"
    return f"rate limited: {held} ({_statuses(stats)}; {retries} retries)"


def _no_listings(stats: dict[str, Any]) -> str:
    responses = stats.get("downloader/response_count", 0)
    return f"empty: 0 listings found in {responses} responses"


_DESCRIBERS = {
    "robots_unavailable": _robots_unavailable,
    "blocked_by_robots": lambda s: (
        f"blocked by robots.txt: {s.get('robotstxt/forbidden', 0)} requests "
        "forbidden, 0 listings"
    ),
    "rate_limited": _rate_limit_problem,
    "no_listings": _no_listings,
    "spider_failed": lambda s: f"{s.get('spider_errors', 0)} spider errors, no listing",
}
