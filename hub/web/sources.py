"""Each source with its last crawl run: status, counts and field coverage.

Counts come from the run's Scrapy stats (``crawl_runs.stats``). Field coverage
is the share (0 to 1) of the run's listings that carry each field: from the
stats keys ``coverage/<field>`` and ``coverage/items`` when the run wrote them,
else measured from the listings that run saw.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.coverage import ITEMS_STAT
from storage.health import run_counts
from storage.models import CrawlRun, Listing, Source

COVERED_FIELDS = (
    "title",
    "provider_name",
    "closing_date",
    "posted_date",
    "start_date",
    "pay",
    "locations",
    "mode",
    "opportunity_type",
    "eligibility",
    "apply_url",
    "description_text",
)


def list_source_reports(session: Session) -> list[dict[str, Any]]:
    last_runs = _last_runs(session)
    sources = session.scalars(select(Source).order_by(Source.name))
    return [_report(session, source, last_runs.get(source.id)) for source in sources]


def _last_runs(session: Session) -> dict[int, CrawlRun]:
    newest = (
        select(CrawlRun.source_id, func.max(CrawlRun.id).label("run_id"))
        .group_by(CrawlRun.source_id)
        .subquery()
    )
    runs = session.scalars(
        select(CrawlRun).join(newest, CrawlRun.id == newest.c.run_id)
    )
    return {run.source_id: run for run in runs}


def _report(session: Session, source: Source, run: CrawlRun | None) -> dict[str, Any]:
    return {
        "name": source.name,
        "provider_kind": source.provider_kind,
        "enabled": source.enabled,
        "licence": source.licence,
        "attribution": source.attribution,
        "last_run": _run(session, run) if run else None,
    }


def _run(session: Session, run: CrawlRun) -> dict[str, Any]:
    stats = run.stats or {}
    return {
        "started": run.started.isoformat(),
        "finished": run.finished.isoformat() if run.finished else None,
        "status": run.status,
        "replay": run.replay is not None,
        "error": run.error,
        "counts": run_counts(stats),
        "field_coverage": _coverage_from_stats(stats)
        or _measured_coverage(session, run),
    }


def _coverage_from_stats(stats: dict[str, Any]) -> dict[str, float]:
    items = stats.get(ITEMS_STAT)
    if not isinstance(items, int) or items <= 0:
        return {}
    return {
        key.split("/", 1)[1]: _share(value, items)
        for key, value in stats.items()
        if key.startswith("coverage/")
        and key != ITEMS_STAT
        and isinstance(value, int)
        and not isinstance(value, bool)
    }


def _measured_coverage(session: Session, run: CrawlRun) -> dict[str, float]:
    query = (
        select(Listing.fields)
        .where(Listing.seen_run_id == run.id)
        .execution_options(yield_per=1000)
    )
    filled = dict.fromkeys(COVERED_FIELDS, 0)
    total = 0
    for fields in session.scalars(query):
        total += 1
        for name in COVERED_FIELDS:
            if fields.get(name) not in (None, "", [], {}):
                filled[name] += 1
    return {name: _share(n, total) for name, n in filled.items()} if total else {}


def _share(count: int, total: int) -> float:
    return round(min(count, total) / total, 3)
