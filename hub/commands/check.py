"""``hub check``: the integrity checks over the database and a published folder.

Exits 1 listing the problems found (:mod:`storage.integrity`); pending work
that an interrupted run left for the next one is listed as a note, and counts
as a problem only with ``--settled``.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape

from hub.config import Config, existing_database

if TYPE_CHECKING:
    from storage.integrity import Problem

console = Console()
SHOWN_PER_KIND = 10


def register(app: typer.Typer) -> None:
    app.command("check")(check)


def check(
    folder: Annotated[
        Path | None,
        typer.Option(help="Also check the folder `hub publish --out` points here."),
    ] = None,
    settled: Annotated[
        bool,
        typer.Option(help="Count pending work as problems (no run is under way)."),
    ] = False,
) -> None:
    """Check every promise of the data model; exit 1 listing what is broken."""
    from storage.integrity import check_database, check_published_folder, list_pending
    from storage.session import session_factory

    engine = existing_database(Config.from_env().database_url)
    try:
        with session_factory(engine)() as session:
            problems = check_database(session)
            pending = list_pending(session)
    finally:
        engine.dispose()
    if folder is not None:
        problems += check_published_folder(folder)
    if settled:
        problems, pending = problems + pending, []
    _show("note", "yellow", pending)
    _show("problem", "red", problems)
    if problems:
        console.print(f"[red]{len(problems)} problem(s) found.[/]")
        raise typer.Exit(1)
    console.print(f"Sound: no problems ({len(pending)} pending).")


def _show(label: str, colour: str, problems: list[Problem]) -> None:
    by_kind: dict[str, list[Problem]] = defaultdict(list)
    for problem in problems:
        by_kind[problem.kind].append(problem)
    for kind, found in by_kind.items():
        for problem in found[:SHOWN_PER_KIND]:
            console.print(
                f"[{colour}]{label}[/] {escape(str(problem))}", highlight=False
            )
        if len(found) > SHOWN_PER_KIND:
            console.print(
                f"[{colour}]{label}[/] {kind}: … and "
                f"{len(found) - SHOWN_PER_KIND} more",
                highlight=False,
            )
