"""Expire: close listings past their closing date, mark gone what left its source.

Runs inside ``refresh`` after matching, so that a listing without a closing
date of its own takes the one of its opportunity as this run merged it (run
before matching, it took the last run's, and the same data run again closed it
a run late), and before publishing. "Now" is the given as-of time, else for a
replay each source's newest fetch time (a recording is judged as of when it
was made), else the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from prefect import flow, get_run_logger
from sqlalchemy import select

from flows.db import engine_for
from flows.match import STAGE_LOCK
from storage.lifecycle import exclusive_stage, expire_listings
from storage.models import Source, utcnow
from storage.session import session_factory, transaction


@dataclass
class ExpireReport:
    # None: each replayed source as of its own newest fetch
    now: datetime | None
    # by source name
    closed: dict[str, int] = field(default_factory=dict)
    gone: dict[str, int] = field(default_factory=dict)
    revived: dict[str, int] = field(default_factory=dict)


@flow(name="expire")
def expire(
    database_url: str,
    sources: list[str],
    as_of: datetime | None = None,
    replay: bool = False,
) -> ExpireReport:
    """Close and mark gone; only complete runs of ``sources`` mark anything gone."""
    logger = get_run_logger()
    engine = engine_for(database_url)
    with (
        exclusive_stage(engine, STAGE_LOCK),
        transaction(session_factory(engine)) as session,
    ):
        now = as_of or (None if replay else utcnow())
        chosen = select(Source.id, Source.name).where(Source.name.in_(sources))
        names = {i: name for i, name in session.execute(chosen)}
        summary = expire_listings(session, now, sorted(names))
        everyone = {i: n for i, n in session.execute(select(Source.id, Source.name))}
    report = ExpireReport(
        now=now,
        closed={everyone[k]: v for k, v in summary.closed.items()},
        gone={names[k]: v for k, v in summary.gone.items() if v},
        revived={names[k]: v for k, v in summary.revived.items() if v},
    )
    logger.info(
        "Expired as of %s: %d closed, %d gone, %d back",
        now.isoformat() if now else "each source's last fetch",
        sum(report.closed.values()),
        sum(report.gone.values()),
        sum(report.revived.values()),
    )
    return report
