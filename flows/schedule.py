"""Schedules: one deployment per provider kind, the registry's crons in Europe/London.

A family is a provider kind (government, employer, charity, aggregator): sources
of one kind share hosts' habits and a cadence, and a handful of deployments is
easy to watch. Each deployment carries one cron schedule per distinct cron of
its sources, whose parameters name those sources. Times are computed by
Prefect's own ``CronSchedule`` (the scheduler's code), which resolves a repeated
wall time to its first occurrence and a skipped one forward: one run a day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prefect.server.schemas.schedules import CronSchedule
from prefect.utilities.asyncutils import run_coro_as_sync

from hub.registry import SourceEntry

TIMEZONE = "Europe/London"
# wall-clock hours that a clock change repeats or skips in the UK
RISKY_HOURS = frozenset({1, 2})


@dataclass(frozen=True)
class FamilySchedule:
    cron: str
    sources: tuple[str, ...]


@dataclass(frozen=True)
class Family:
    name: str
    schedules: tuple[FamilySchedule, ...]

    @property
    def deployment(self) -> str:
        return f"refresh-{self.name}"

    @property
    def crons(self) -> list[str]:
        return [s.cron for s in self.schedules]


def family_of(entry: SourceEntry) -> str:
    return entry.provider_kind.value


def families(entries: Iterable[SourceEntry]) -> list[Family]:
    """Enabled, scheduled sources grouped by provider kind, then by cron."""
    grouped: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        if entry.enabled and entry.schedule:
            grouped[family_of(entry)][entry.schedule].append(entry.name)
    return [
        Family(
            name=kind,
            schedules=tuple(
                FamilySchedule(cron, tuple(names))
                for cron, names in sorted(grouped[kind].items())
            ),
        )
        for kind in sorted(grouped)
    ]


def fire_times(
    cron: str, start: datetime, end: datetime, timezone: str = TIMEZONE
) -> list[datetime]:
    """Every time ``cron`` fires from ``start`` to ``end`` (UTC), as Prefect would."""
    schedule = CronSchedule(cron=cron, timezone=timezone)
    dates = run_coro_as_sync(schedule.get_dates(start=start, end=end)) or []
    return [datetime.fromisoformat(d.isoformat()).astimezone(UTC) for d in dates]


def risky(cron: str) -> bool:
    """True when the cron can fire between 01:00 and 03:00 UK time."""
    hours = cron.split()[1]
    if hours == "*":
        return True
    return any(_hour_values(part) & RISKY_HOURS for part in hours.split(","))


def _hour_values(part: str) -> set[int]:
    if part.startswith("*/"):
        return set(range(0, 24, int(part[2:])))
    if "-" in part:
        low, _, high = part.partition("-")
        return set(range(int(low), int(high.split("/")[0]) + 1))
    return {int(part)}


def missed_slots(
    crons: Sequence[str],
    worked: Iterable[datetime],
    since: datetime,
    until: datetime,
    grace: timedelta = timedelta(minutes=30),
) -> list[datetime]:
    """Slots from ``since`` up to ``until - grace`` that no flow run claimed."""
    claimed = set(worked)
    end = until - grace
    if end <= since:
        return []
    expected = {t for cron in crons for t in fire_times(cron, since, end)}
    return sorted(t for t in expected if t not in claimed)
