"""``hub status``: every source's health at a glance, and missed scheduled runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.config import Config, existing_database
from hub.registry import load_registry

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.health import LedgerRow

console = Console()
COLOURS = {"ok": "green", "partial": "yellow", "suspicious": "red", "failed": "red"}


def register(app: typer.Typer) -> None:
    app.command("status")(status)


def status(
    source: Annotated[
        str | None, typer.Option(help="Show this source's runs in full.")
    ] = None,
    runs: Annotated[int, typer.Option(help="Runs per source to weigh.")] = 5,
) -> None:
    """The health ledger: each source's last runs, verdicts and schedule gaps."""
    from storage.health import list_ledger
    from storage.session import migrate, session_factory

    config = Config.from_env()
    engine = existing_database(config.database_url)
    migrate(engine)
    try:
        with session_factory(engine)() as session:
            ledger = list_ledger(session, source, per_source=runs)
            missed = _missed(session, config)
    finally:
        engine.dispose()
    if source is not None:
        console.print(runs_table(ledger))
    else:
        console.print(sources_table(ledger))
    for deployment, slots in missed.items():
        shown = ", ".join(f"{t:%Y-%m-%d %H:%M}Z" for t in slots[-5:])
        console.print(f"[red]{deployment}[/]: {len(slots)} missed run(s): {shown}")


def sources_table(ledger: list[LedgerRow]) -> Table:
    table = Table(title="Source health")
    for column in ("source", "last run (UTC)", "status", "verdict", "listings"):
        table.add_column(column)
    for column in ("median", "dropped", "recent verdicts", "why"):
        table.add_column(column)
    by_source: dict[str, list[LedgerRow]] = {}
    for row in ledger:
        by_source.setdefault(row.source, []).append(row)
    for name, rows in by_source.items():
        last = rows[0]
        table.add_row(
            name,
            f"{last.started:%Y-%m-%d %H:%M}",
            last.status,
            _verdict(last.verdict),
            str(last.listings),
            f"{last.baseline:g}" if last.baseline is not None else "",
            str(sum(last.drops.values())),
            " ".join(_verdict(r.verdict, short=True) for r in rows),
            "; ".join(dict.fromkeys(filter(None, [last.error, *last.reasons]))),
        )
    return table


def runs_table(ledger: list[LedgerRow]) -> Table:
    table = Table(title="Runs")
    for column in ("run", "started (UTC)", "status", "verdict", "listings", "drops"):
        table.add_column(column)
    table.add_column("coverage")
    for row in ledger:
        table.add_row(
            str(row.run_id),
            f"{row.started:%Y-%m-%d %H:%M}",
            row.status,
            _verdict(row.verdict),
            str(row.listings),
            ", ".join(f"{k}: {v}" for k, v in sorted(row.drops.items())),
            ", ".join(f"{k} {v:.0%}" for k, v in sorted(row.coverage.items())),
        )
    return table


def _verdict(verdict: str | None, short: bool = False) -> str:
    if verdict is None:
        return "-" if short else "not judged"
    text = verdict[0] if short else verdict
    return f"[{COLOURS.get(verdict, 'white')}]{text}[/]"


def _missed(session: Session, config: Config) -> dict[str, list[datetime]]:
    from flows.schedule import families, missed_slots
    from storage.health import list_claimed_slots

    now = datetime.now(UTC)
    missed = {}
    for family in families(load_registry(config.registry)):
        claimed = list_claimed_slots(session, family.deployment)
        if not claimed:
            continue
        since = max(claimed[0], now - timedelta(days=7))
        slots = missed_slots(family.crons, claimed, since, now)
        if slots:
            missed[family.deployment] = slots
    return missed
