"""Crawl one source: a crawl run opened, the spider run in a child process, its
stats read back and judged (ok, partial or failed)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import get_run_logger, task

from hub.crawl import CrawlRequest
from hub.registry import SourceEntry
from storage.repository import finish_crawl_run, get_source, start_crawl_run
from storage.session import make_engine, session_factory, transaction

STDERR_TAIL = 2000
NOT_RECORDED_STAT = "downloader/exception_type_count/spiders.recording.NotRecorded"


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
    factory = session_factory(make_engine(options.database_url))
    with transaction(factory) as session:
        source = get_source(session, entry.name)
        if source is None:
            raise LookupError(f"source {entry.name!r} is not registered")
        run = start_crawl_run(session, source, options.replay)
        source_id, run_id = source.id, run.id
    stats, error = _run_child(entry, options, source_id, run_id)
    status = judge(stats, error)
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
            tail = child.stderr.strip()[-STDERR_TAIL:]
            return {}, f"crawl process exited with {child.returncode}: {tail}"
        return json.loads(stats_path.read_text(encoding="utf-8")), None


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


def judge(stats: dict[str, Any], error: str | None) -> str:
    """ok, partial (some requests failed or were not recorded) or failed."""
    if error or not stats:
        return "failed"
    responses = stats.get("downloader/response_count", 0)
    if responses == 0 or stats.get("finish_reason") != "finished":
        return "failed"
    if stats.get("spider_errors", 0) and not stats.get("item_scraped_count"):
        return "failed"
    # a request missing from a recording is counted by the replay itself
    fetch_errors = stats.get("downloader/exception_count", 0) - stats.get(
        NOT_RECORDED_STAT, 0
    )
    troubles = (
        fetch_errors
        + stats.get("replay/not_recorded", 0)
        + stats.get("spider_errors", 0)
        + stats.get("httperror/response_ignored_count", 0)
    )
    return "partial" if troubles else "ok"


def describe_failure(stats: dict[str, Any], status: str) -> str | None:
    if status != "failed":
        return None
    exceptions = sorted(
        key.rsplit("/", 1)[-1].rsplit(".", 1)[-1]
        for key in stats
        if key.startswith("downloader/exception_type_count/")
        and key != NOT_RECORDED_STAT
    )
    if exceptions:
        return "could not fetch: " + ", ".join(exceptions)
    if stats.get("replay/not_recorded") and not stats.get("replay/answered"):
        return "nothing of this source is in the recording"
    return f"no responses (finish reason: {stats.get('finish_reason', 'unknown')})"
