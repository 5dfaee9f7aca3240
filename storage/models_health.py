"""Tables of orchestration: each crawl run's health verdict, and run locks.

``crawl_health`` holds one verdict per crawl run (ok, partial, failed or
suspicious) with its reasons and figures; ``run_locks`` holds one row per
deployment and scheduled start, so a slot is worked by at most one flow run.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models import Base, utcnow


class CrawlHealth(Base):
    __tablename__ = "crawl_health"

    run_id: Mapped[int] = mapped_column(ForeignKey("crawl_runs.id"), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), index=True)
    # ok, partial, failed, suspicious
    verdict: Mapped[str] = mapped_column(String(20))
    listings: Mapped[int] = mapped_column(Integer, default=0)
    # median listing count of the good runs judged against, if any
    baseline: Mapped[float | None]
    # reasons, drops by reason, coverage share by field
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    checked: Mapped[datetime] = mapped_column(default=utcnow)


class RunLock(Base):
    """One scheduled slot of one deployment, claimed by the flow run working it."""

    __tablename__ = "run_locks"
    __table_args__ = (UniqueConstraint("deployment", "scheduled_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deployment: Mapped[str] = mapped_column(String(200))
    scheduled_start: Mapped[datetime]
    flow_run_id: Mapped[str | None] = mapped_column(String(40))
    # running, finished, skipped
    state: Mapped[str] = mapped_column(String(20), default="running")
    acquired: Mapped[datetime] = mapped_column(default=utcnow)
    released: Mapped[datetime | None]
