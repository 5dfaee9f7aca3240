"""``hub schedule``: one deployment per provider kind, served or sent to a pool."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.config import Config, prepare_prefect
from hub.registry import load_registry

if TYPE_CHECKING:
    from flows.schedule import Family

console = Console()


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule)


def schedule(
    pool: Annotated[
        str | None,
        typer.Option(help="Deploy to this work pool for workers instead of serving."),
    ] = None,
    cadence_hours: Annotated[
        int,
        typer.Option(help="Also look for early-due sources every N hours; 0: never."),
    ] = 3,
    dry_run: Annotated[
        bool, typer.Option(help="Print the deployments and their next runs only.")
    ] = False,
    limit: Annotated[
        int, typer.Option(help="At most this many flow runs at once when serving.")
    ] = 4,
) -> None:
    """Run the crawls on the registry's schedules (Europe/London), unattended."""
    config = Config.from_env()
    if pool is None:
        prepare_prefect(config.data_dir)
    from flows.schedule import families, fire_times, risky

    found = families(load_registry(config.registry))
    if not found:
        raise typer.BadParameter("no enabled source has a schedule")
    now = datetime.now(UTC)
    table = Table(title="Deployments (one per provider kind)")
    for column in ("deployment", "cron", "sources", "next runs (UTC)"):
        table.add_column(column)
    for family in found:
        for s in family.schedules:
            times = fire_times(s.cron, now, now + timedelta(days=8))[:3]
            warn = " [yellow](01:00-03:00 UK: a clock change moves it)[/]"
            table.add_row(
                family.deployment,
                s.cron + (warn if risky(s.cron) else ""),
                ", ".join(s.sources),
                ", ".join(f"{t:%a %d %b %H:%M}" for t in times),
            )
    console.print(table)
    if dry_run:
        return
    _start(found, cadence_hours, pool, limit)


def _start(
    found: list[Family], cadence_hours: int, pool: str | None, limit: int
) -> None:
    from flows.deployments import deploy_to_pool, runner_deployments

    if pool is not None:
        ids = deploy_to_pool(found, cadence_hours, pool)
        console.print(f"Deployed {len(ids)} deployments to work pool {pool!r}.")
        return
    from prefect import serve

    serve(*runner_deployments(found, cadence_hours), limit=limit)
