"""Cadence that follows the calendar: how long to wait before crawling a source again.

``next_interval`` is pure. A source whose known closing dates are near, or whose
pages changed on its last runs, comes round sooner; one that is quiet, out of
season or failing backs off; every answer stays within the source's bounds
(registry ``politeness.min_interval_hours`` / ``max_interval_hours``, else a
quarter and four times its cron's period).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter

# a due check made this early still counts: cron ticks drift by seconds to minutes
DUE_SLACK = timedelta(minutes=15)
QUIET_RUNS = 3
CHANGED_RUNS = 2
FAILING = frozenset({"failed", "suspicious"})


@dataclass(frozen=True)
class Bounds:
    base: timedelta
    shortest: timedelta
    longest: timedelta


@dataclass(frozen=True)
class RunSummary:
    started: datetime
    # ok, partial, failed or suspicious (the health verdict where there is one)
    verdict: str
    changed: int


@dataclass(frozen=True)
class History:
    now: datetime
    # newest first
    runs: Sequence[RunSummary]
    # closing dates of the source's active listings
    closing_dates: Sequence[datetime] = ()


def next_interval(history: History, bounds: Bounds) -> timedelta:
    """How long after its last run a source is due again."""
    failures = _leading_failures(history.runs)
    if failures:
        return _clamp(bounds.base * 2**failures, bounds)
    urgent = [
        t for t in (_closing_soon(history, bounds), _changing(history, bounds)) if t
    ]
    if urgent:
        return _clamp(min(urgent), bounds)
    if _quiet(history.runs):
        upcoming = [d for d in history.closing_dates if d > history.now]
        return bounds.longest if not upcoming else _clamp(bounds.base * 2, bounds)
    return _clamp(bounds.base, bounds)


def _leading_failures(runs: Sequence[RunSummary]) -> int:
    count = 0
    for run in runs:
        if run.verdict not in FAILING:
            break
        count += 1
    return count


def _closing_soon(history: History, bounds: Bounds) -> timedelta | None:
    upcoming = [d - history.now for d in history.closing_dates if d > history.now]
    if not upcoming or min(upcoming) > bounds.base * 2:
        return None
    # look again four times before the nearest deadline
    return min(upcoming) / 4


def _changing(history: History, bounds: Bounds) -> timedelta | None:
    recent = list(history.runs)[:CHANGED_RUNS]
    if len(recent) < CHANGED_RUNS or any(r.changed == 0 for r in recent):
        return None
    return bounds.base / 2


def _quiet(runs: Sequence[RunSummary]) -> bool:
    recent = list(runs)[:QUIET_RUNS]
    return len(recent) == QUIET_RUNS and all(r.changed == 0 for r in recent)


def _clamp(value: timedelta, bounds: Bounds) -> timedelta:
    return max(bounds.shortest, min(bounds.longest, value))


def is_due(history: History, bounds: Bounds) -> bool:
    """Due when never crawled, or when its interval since the last run has passed."""
    if not history.runs:
        return True
    due_at = history.runs[0].started + next_interval(history, bounds)
    return history.now + DUE_SLACK >= due_at


def cron_period(cron: str, start: datetime) -> timedelta:
    """The gap between a cron's next two times after ``start`` (UTC, naive-safe)."""
    times = croniter(cron, start.replace(tzinfo=None))
    first = times.get_next(datetime)
    return times.get_next(datetime) - first


def bounds_for(
    schedule: str | None, politeness: Mapping[str, Any], start: datetime
) -> Bounds:
    """A source's bounds from its cron (default daily) and its registry politeness."""
    base = cron_period(schedule, start) if schedule else timedelta(days=1)
    shortest = _hours(politeness.get("min_interval_hours")) or max(
        base / 4, timedelta(hours=1)
    )
    longest = _hours(politeness.get("max_interval_hours")) or base * 4
    return Bounds(base=base, shortest=shortest, longest=max(longest, shortest))


def _hours(value: Any) -> timedelta | None:
    return timedelta(hours=float(value)) if value else None
