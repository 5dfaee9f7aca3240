"""The deployed flow: one provider kind's sources, on its schedule, once per slot.

``hub schedule`` serves one deployment of this flow per provider kind. Each run
claims its (deployment, scheduled start) slot in the database first: a second
run for the same slot (a restart, a redeploy) exits without crawling, and so
does a run whose predecessor is still going. It reports slots since the last
claimed one that no run worked, then crawls the sources that are due.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow, get_run_logger
from prefect.runtime import deployment as runtime_deployment
from prefect.runtime import flow_run as runtime_flow_run
from sqlalchemy.orm import Session

from flows.alerts import Alert, AlertSettings, send_alerts
from flows.cadence import Bounds, History, RunSummary, bounds_for, is_due
from flows.crawl import CrawlOptions
from flows.db import engine_for
from flows.refresh import RefreshReport, refresh
from flows.schedule import Family, families, missed_slots
from hub.config import Config
from hub.registry import SourceEntry, load_registry
from storage.health import (
    claim_slot,
    list_claimed_slots,
    list_closing_dates,
    list_run_history,
    release_slot,
)
from storage.lifecycle import migrate_exclusively
from storage.models import utcnow
from storage.repository import get_source
from storage.session import session_factory, transaction


@dataclass
class ScheduledReport:
    claimed: bool
    reason: str
    due: list[str] = field(default_factory=list)
    missed: list[datetime] = field(default_factory=list)
    refresh: RefreshReport | None = None


@flow(name="scheduled-refresh")
def scheduled_refresh(
    family: str,
    sources: list[str] | None = None,
    force: bool = False,
    replay: str | None = None,
) -> ScheduledReport:
    """Crawl the due sources of one family (all of them with ``force``)."""
    logger = get_run_logger()
    config = Config.from_env()
    engine = engine_for(config.database_url)
    migrate_exclusively(engine)
    factory = session_factory(engine)
    deployment = runtime_deployment.name or f"refresh-{family}"
    slot = scheduled_slot()
    with transaction(factory) as session:
        previous = list_claimed_slots(session, deployment)
        claim = claim_slot(session, deployment, slot, runtime_flow_run.id, utcnow())
    if not claim.acquired:
        logger.warning("Not crawling the %s slot: %s", slot.isoformat(), claim.reason)
        return ScheduledReport(claimed=False, reason=claim.reason)
    assert claim.lock_id is not None
    try:
        report = _work(config, family, sources, force, replay, previous, slot)
    finally:
        with transaction(factory) as session:
            release_slot(session, claim.lock_id)
    return report


def scheduled_slot() -> datetime:
    """The slot this run was scheduled for (now, for a run started by hand)."""
    return datetime.fromisoformat(runtime_flow_run.scheduled_start_time.isoformat())


def _work(
    config: Config,
    family: str,
    sources: list[str] | None,
    force: bool,
    replay: str | None,
    previous: list[datetime],
    slot: datetime,
) -> ScheduledReport:
    entries = family_entries(load_registry(config.registry), family, sources)
    alerts = AlertSettings.from_env()
    report = ScheduledReport(claimed=True, reason="claimed")
    report.missed = _missed(entries, family, previous, slot)
    send_alerts([_missed_alert(family, t) for t in report.missed], alerts)
    due = entries if force else due_entries(config.database_url, entries, utcnow())
    report.due = [e.name for e in due]
    if due:
        report.refresh = refresh(due, _options(config, replay), alerts)
    return report


def family_entries(
    entries: list[SourceEntry], family: str, names: list[str] | None
) -> list[SourceEntry]:
    chosen = [e for e in entries if e.enabled and e.provider_kind.value == family]
    return [e for e in chosen if names is None or e.name in names]


def _missed(
    entries: list[SourceEntry], family: str, previous: list[datetime], slot: datetime
) -> list[datetime]:
    earlier = [t for t in previous if t < slot]
    crawl_family = _family(entries, family)
    if not earlier or crawl_family is None:
        return []
    since = max(earlier)
    missed = missed_slots(crawl_family.crons, previous, since, slot)
    return [t for t in missed if t > since]


def _family(entries: list[SourceEntry], family: str) -> Family | None:
    return next((f for f in families(entries) if f.name == family), None)


def _missed_alert(family: str, slot: datetime) -> Alert:
    return Alert(
        kind="run-missed",
        subject=f"refresh-{family}: no run for {slot.isoformat()}",
        detail="a scheduled run did not happen (scheduler or worker down?)",
        facts={"family": family, "slot": slot.isoformat()},
    )


def due_entries(
    database_url: str, entries: list[SourceEntry], now: datetime
) -> list[SourceEntry]:
    """The sources whose cadence says they are due at ``now``."""
    factory = session_factory(engine_for(database_url))
    with factory() as session:
        return [e for e in entries if is_due(*_cadence(session, e, now))]


def _cadence(
    session: Session, entry: SourceEntry, now: datetime
) -> tuple[History, Bounds]:
    bounds = bounds_for(entry.schedule, entry.politeness, now)
    source = get_source(session, entry.name)
    if source is None:
        return History(now=now, runs=()), bounds
    runs = [
        RunSummary(r.started, r.verdict or r.status, r.changed)
        for r in list_run_history(session, source.id)
    ]
    closing = list_closing_dates(session, source.id, now)
    return History(now=now, runs=runs, closing_dates=closing), bounds


def _options(config: Config, replay: str | None) -> CrawlOptions:
    return CrawlOptions(
        database_url=config.database_url,
        replay=replay,
        geo_dir=config.geo_dir,
        timeout_seconds=config.crawl_timeout_seconds,
    )
