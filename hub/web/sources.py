"""Each source with its last crawl run: status, counts and field coverage.

Counts come from the run's Scrapy stats (``crawl_runs.stats``). Field coverage
is the share (0 to 1) of the run's listings that carry each field, as the
crawl's validation gate counts it (:mod:`pipelines.coverage`): from the run's
stats when it wrote them, else measured the same way from the listings that
run saw.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from pipelines.coverage import FIELDS, coverage_shares, present_fields
from storage.health import run_counts
from storage.models import CrawlRun, Listing, Source


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
        "field_coverage": {
            name: round(min(share, 1.0), 3)
            for name, share in (
                coverage_shares(stats) or _measured_coverage(session, run)
            ).items()
        },
    }


def _measured_coverage(session: Session, run: CrawlRun) -> dict[str, float]:
    """Each field's share of the listings the run saw, as the crawl counts it."""
    query = (
        select(Listing.fields)
        .where(Listing.seen_run_id == run.id)
        .execution_options(yield_per=1000)
    )
    filled = dict.fromkeys(FIELDS, 0)
    total = 0
    for fields in session.scalars(query):
        total += 1
        for name in present_fields(fields):
            filled[name] += 1
    return {name: n / total for name, n in filled.items()} if total else {}
