"""The source health ledger, computed from crawl runs.

For every crawl run: its listing count (stored new, updated and unchanged),
its drops by reason (stats ``dropped/<reason>``) and its field coverage (stats
``coverage/<field>`` over ``coverage/items``). A run is *suspicious* when it
found nothing, when its listing count fell below half the median of the last
five good runs of its source (half the usual or fewer), or when its coverage
fails the gate. A suspicious run is reported and counts as incomplete, so
nothing is marked gone from it. A run that is not ok keeps the crawl's own
words for why (its error: "timed out (...)", "rate limited: ...") first among
its reasons, so the ledger names each outage for what it was.

Coverage stats are counts of items with the field filled, over
``coverage/items`` (``pipelines/coverage.py``). The gate has two parts: the
caller's (the coverage pipeline's required fields, handed in as a function of
the stats) and this module's: a field usually filled (at least ``usual`` of
items in the good runs) whose share fell below ``keep`` times its median.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from storage.models import CrawlRun, Listing, MatchPair, Source, utcnow
from storage.models_health import CrawlHealth, RunLock

BASELINE_RUNS = 5
COVERAGE_ITEMS = "coverage/items"
GOOD = "ok"


# the caller's part of the gate: phrases naming what falls short, from the stats
RequiredGate = Callable[[Mapping[str, Any]], list[str]]


@dataclass(frozen=True)
class CoverageGate:
    """Shares run 0-1. A field usually filled (``usual``) fails below ``keep``
    times its median share over the good runs; ``required`` adds the caller's."""

    keep: float = 0.5
    usual: float = 0.2
    required: RequiredGate | None = None


@dataclass(frozen=True)
class RunFigures:
    run_id: int
    status: str
    listings: int
    drops: dict[str, int]
    coverage: dict[str, float]
    stats: Mapping[str, Any] = field(default_factory=dict)
    # why the crawl was not ok, in the crawl's words
    error: str | None = None


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reasons: list[str]
    baseline: float | None


def listing_count(stats: Mapping[str, Any]) -> int:
    return sum(int(stats.get(f"store/{k}", 0)) for k in ("new", "updated", "unchanged"))


def run_counts(stats: Mapping[str, Any]) -> dict[str, int]:
    """A crawl's report numbers from its Scrapy stats: responses, new, updated,
    unchanged, not recorded, dropped, and found (stored plus dropped)."""
    dropped = sum(drops_by_reason(stats).values())
    return {
        "responses": int(stats.get("downloader/response_count", 0)),
        **{k: int(stats.get(f"store/{k}", 0)) for k in ("new", "updated", "unchanged")},
        "not_recorded": int(stats.get("replay/not_recorded", 0)),
        "dropped": dropped,
        "found": listing_count(stats) + dropped,
    }


def drops_by_reason(stats: Mapping[str, Any]) -> dict[str, int]:
    return {
        key.split("/", 1)[1]: int(value)
        for key, value in stats.items()
        if key.startswith("dropped/")
    }


def coverage_shares(stats: Mapping[str, Any]) -> dict[str, float]:
    items = stats.get(COVERAGE_ITEMS)
    if not isinstance(items, int | float) or not items:
        return {}
    return {
        key.split("/", 1)[1]: value / items
        for key, value in stats.items()
        if key.startswith("coverage/")
        and key != COVERAGE_ITEMS
        and isinstance(value, int | float)
        and not isinstance(value, bool)
    }


def run_figures(run: CrawlRun) -> RunFigures:
    stats = run.stats or {}
    return RunFigures(
        run_id=run.id,
        status=run.status,
        listings=listing_count(stats),
        drops=drops_by_reason(stats),
        coverage=coverage_shares(stats),
        stats=stats,
        error=run.error,
    )


def judge_run(
    run: RunFigures, good: Sequence[RunFigures], gate: CoverageGate | None = None
) -> Verdict:
    """The verdict on one run, against the good runs before it (newest first)."""
    gate = gate or CoverageGate()
    history = list(good)[:BASELINE_RUNS]
    baseline = statistics.median(r.listings for r in history) if history else None
    own = [run.error] if run.error and run.status != GOOD else []
    if run.status == "failed":
        return Verdict("failed", own or ["the crawl failed"], baseline)
    reasons = _count_reasons(run, baseline) + _coverage_reasons(run, history, gate)
    if reasons:
        return Verdict("suspicious", own + reasons, baseline)
    return Verdict(run.status, own, baseline)


def _count_reasons(run: RunFigures, baseline: float | None) -> list[str]:
    if run.listings == 0:
        return ["found no listings"]
    # half the usual is a fall by half: a source listing 6 of its usual 12
    # must not have the other 6 marked gone
    if baseline and run.listings <= baseline / 2:
        return [f"found {run.listings} listings against a median of {baseline:g}"]
    return []


def _coverage_reasons(
    run: RunFigures, history: Sequence[RunFigures], gate: CoverageGate
) -> list[str]:
    reasons = list(gate.required(run.stats)) if gate.required and run.coverage else []
    for name, share in sorted(run.coverage.items()):
        before = [r.coverage[name] for r in history if name in r.coverage]
        usual = statistics.median(before) if before else None
        if usual is not None and usual >= gate.usual and share < usual * gate.keep:
            reasons.append(
                f"{name} filled in {share:.0%} of items, usually {usual:.0%}"
            )
    return reasons


def list_good_runs(
    session: Session, source_id: int, before_id: int, limit: int = BASELINE_RUNS
) -> list[CrawlRun]:
    """The last good runs (status and verdict ok) before a run, newest first."""
    query = (
        select(CrawlRun)
        .join(CrawlHealth, CrawlHealth.run_id == CrawlRun.id)
        .where(
            CrawlRun.source_id == source_id,
            CrawlRun.id < before_id,
            CrawlRun.status == GOOD,
            CrawlHealth.verdict == GOOD,
        )
        .order_by(CrawlRun.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))


def record_health(
    session: Session, run_id: int, gate: CoverageGate | None = None
) -> CrawlHealth:
    """Judge a finished crawl run and store (or replace) its verdict."""
    run = session.get_one(CrawlRun, run_id)
    good = [run_figures(r) for r in list_good_runs(session, run.source_id, run.id)]
    figures = run_figures(run)
    verdict = judge_run(figures, good, gate)
    health = session.get(CrawlHealth, run_id) or CrawlHealth(
        run_id=run_id, source_id=run.source_id
    )
    health.verdict = verdict.verdict
    health.listings = figures.listings
    health.baseline = verdict.baseline
    health.details = {
        "reasons": verdict.reasons,
        "drops": figures.drops,
        "coverage": figures.coverage,
    }
    session.add(health)
    session.flush()
    return health


@dataclass(frozen=True)
class LedgerRow:
    source: str
    run_id: int
    started: datetime
    finished: datetime | None
    status: str
    verdict: str | None
    listings: int
    baseline: float | None
    drops: dict[str, int]
    coverage: dict[str, float]
    reasons: list[str]
    error: str | None


def list_ledger(
    session: Session, source: str | None = None, per_source: int = 10
) -> list[LedgerRow]:
    """Every source's latest runs with their health, newest first within a source."""
    query = (
        select(CrawlRun, CrawlHealth, Source.name)
        .join(Source, Source.id == CrawlRun.source_id)
        .outerjoin(CrawlHealth, CrawlHealth.run_id == CrawlRun.id)
        .order_by(Source.name, CrawlRun.id.desc())
    )
    if source is not None:
        query = query.where(Source.name == source)
    rows: list[LedgerRow] = []
    counts: dict[str, int] = {}
    for run, health, name in session.execute(query):
        counts[name] = counts.get(name, 0) + 1
        if counts[name] <= per_source:
            rows.append(_ledger_row(run, health, name))
    return rows


def _ledger_row(run: CrawlRun, health: CrawlHealth | None, name: str) -> LedgerRow:
    figures = run_figures(run)
    details = health.details if health else {}
    return LedgerRow(
        source=name,
        run_id=run.id,
        started=run.started,
        finished=run.finished,
        status=run.status,
        verdict=health.verdict if health else None,
        listings=figures.listings,
        baseline=health.baseline if health else None,
        drops=figures.drops,
        coverage=figures.coverage,
        reasons=list(details.get("reasons", [])),
        error=run.error,
    )


def count_review_pairs(session: Session) -> dict[str, int]:
    """Match pairs in the review band, by the source of either listing."""
    counts: dict[str, int] = {}
    query = (
        select(Source.name, func.count(func.distinct(MatchPair.id)))
        .join(Listing, Listing.source_id == Source.id)
        .join(
            MatchPair,
            or_(MatchPair.listing_a == Listing.id, MatchPair.listing_b == Listing.id),
        )
        .where(MatchPair.band == "review")
        .group_by(Source.name)
    )
    for name, count in session.execute(query):
        counts[name] = count
    return counts


@dataclass(frozen=True)
class Claim:
    acquired: bool
    lock_id: int | None
    reason: str


def claim_slot(
    session: Session,
    deployment: str,
    scheduled_start: datetime,
    flow_run_id: str | None,
    now: datetime,
    stale_after: timedelta = timedelta(hours=6),
) -> Claim:
    """Claim one deployment's scheduled slot for one flow run, at most once.

    A slot already claimed is refused (a duplicate or restarted run); so is a
    new slot while an earlier run of the deployment is still going (it is
    recorded ``cancelled``). A run lock older than ``stale_after`` is taken to
    belong to a run that died.
    """
    running = session.scalar(
        select(RunLock.id).where(
            RunLock.deployment == deployment,
            RunLock.state == "running",
            RunLock.acquired > now - stale_after,
            RunLock.scheduled_start != scheduled_start,
        )
    )
    state = "cancelled" if running else "running"
    lock_id = _insert_lock(
        session, deployment, scheduled_start, flow_run_id, state, now
    )
    if lock_id is None:
        return Claim(False, None, "this slot is already claimed by another run")
    if running:
        return Claim(False, lock_id, "an earlier run of this deployment is still going")
    return Claim(True, lock_id, "claimed")


def _insert_lock(
    session: Session,
    deployment: str,
    scheduled_start: datetime,
    flow_run_id: str | None,
    state: str,
    now: datetime,
) -> int | None:
    dialect = session.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(RunLock)
        .values(
            deployment=deployment,
            scheduled_start=scheduled_start,
            flow_run_id=flow_run_id,
            state=state,
            acquired=now,
        )
        .on_conflict_do_nothing(index_elements=["deployment", "scheduled_start"])
        .returning(RunLock.id)
    )
    return session.scalar(statement)


def release_slot(session: Session, lock_id: int, state: str = "finished") -> None:
    lock = session.get_one(RunLock, lock_id)
    lock.state = state
    lock.released = utcnow()


def list_claimed_slots(session: Session, deployment: str) -> list[datetime]:
    query = select(RunLock.scheduled_start).where(RunLock.deployment == deployment)
    return sorted(session.scalars(query))


@dataclass(frozen=True)
class RunHistoryRow:
    started: datetime
    status: str
    verdict: str | None
    changed: int


def list_run_history(
    session: Session, source_id: int, limit: int = BASELINE_RUNS
) -> list[RunHistoryRow]:
    """The source's latest finished runs, newest first, for its cadence (an
    interrupted run never finished: it tells nothing of the source)."""
    query = (
        select(CrawlRun, CrawlHealth.verdict)
        .outerjoin(CrawlHealth, CrawlHealth.run_id == CrawlRun.id)
        .where(CrawlRun.source_id == source_id, CrawlRun.finished.is_not(None))
        .order_by(CrawlRun.id.desc())
        .limit(limit)
    )
    return [
        RunHistoryRow(
            started=run.started,
            status=run.status,
            verdict=verdict,
            changed=int(run.stats.get("store/new", 0))
            + int(run.stats.get("store/updated", 0)),
        )
        for run, verdict in session.execute(query)
    ]


def list_closing_dates(
    session: Session, source_id: int, after: datetime
) -> list[datetime]:
    query = select(Listing.closing_date).where(
        Listing.source_id == source_id,
        Listing.status == "active",
        Listing.closing_date > after,
    )
    return sorted(d for d in session.scalars(query) if d is not None)
