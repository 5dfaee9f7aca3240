"""Deployments of ``scheduled-refresh``: one per provider kind, served or deployed.

Each gets the registry's crons (Europe/London) with stable slugs, so restarting
``hub schedule`` updates the same schedules instead of adding new ones, plus an
optional cadence tick (hours 0, 3, ..., 21: never in the 01:00-03:00 window)
at which sources the cadence made due early are crawled. At most one run of a
deployment goes at a time; a run due while one is going is cancelled.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect.client.schemas.objects import (
    ConcurrencyLimitConfig,
    ConcurrencyLimitStrategy,
)
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Cron, Schedule

from flows.schedule import TIMEZONE, Family

REPO = Path(__file__).resolve().parents[1]
ENTRYPOINT = "flows/scheduled.py:scheduled_refresh"
TAGS = ["opportunity-hub"]


def family_schedules(family: Family, cadence_hours: int) -> list[Schedule]:
    schedules = [
        Cron(
            s.cron,
            timezone=TIMEZONE,
            parameters={"family": family.name, "sources": list(s.sources)},
            slug=f"{family.name}-{index}",
        )
        for index, s in enumerate(family.schedules)
    ]
    if cadence_hours:
        schedules.append(
            Cron(
                f"0 */{cadence_hours} * * *",
                timezone=TIMEZONE,
                parameters={"family": family.name},
                slug=f"{family.name}-cadence",
            )
        )
    return schedules


def deployment_options(family: Family, cadence_hours: int) -> dict[str, Any]:
    return {
        "name": family.deployment,
        "schedules": family_schedules(family, cadence_hours),
        "parameters": {"family": family.name},
        "concurrency_limit": ConcurrencyLimitConfig(
            limit=1, collision_strategy=ConcurrencyLimitStrategy.CANCEL_NEW
        ),
        "tags": [*TAGS, family.name],
        "description": f"Crawl the due {family.name} sources, then match and publish",
    }


def runner_deployments(
    families: list[Family], cadence_hours: int
) -> list[RunnerDeployment]:
    """Deployments to ``serve`` in this process."""
    from flows.scheduled import scheduled_refresh

    return [
        scheduled_refresh.to_deployment(**deployment_options(f, cadence_hours))
        for f in families
    ]


def deploy_to_pool(
    families: list[Family], cadence_hours: int, pool: str, source: Path = REPO
) -> list[str]:
    """Register the deployments with a work pool; workers run the code at ``source``."""
    from prefect import Flow

    flow: Any = Flow.from_source(source=str(source), entrypoint=ENTRYPOINT)
    return [
        str(
            flow.deploy(
                work_pool_name=pool,
                build=False,
                push=False,
                print_next_steps=False,
                **deployment_options(f, cadence_hours),
            )
        )
        for f in families
    ]
