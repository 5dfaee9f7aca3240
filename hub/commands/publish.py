"""``hub publish``: the feed as static files, swapped in atomically."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

console = Console()


def register(app: typer.Typer) -> None:
    app.command()(publish)


def publish(
    out: Annotated[
        Path, typer.Option(help="The link to (re)point at the new feed folder.")
    ],
    base_url: Annotated[
        str, typer.Option(help="Where the folder will be served, for absolute links.")
    ] = "",
    page_size: Annotated[
        int, typer.Option(min=1, max=500, help="Items per RPDE page.")
    ] = 500,
) -> None:
    """Write RPDE pages, exports, sources and index.json, then swap them in."""
    from hub.config import Config, existing_database
    from hub.web.static import write_static
    from storage.session import migrate, session_factory

    engine = existing_database(Config.from_env().database_url)
    migrate(engine)
    summary = write_static(
        session_factory(engine), out, base_url=base_url, page_size=page_size
    )
    console.print(
        f"Published {summary.items} feed items in {summary.pages} pages "
        f"to {out} -> {summary.folder.name}",
        soft_wrap=True,  # a path is not to be cut in two
    )
