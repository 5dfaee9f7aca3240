"""``hub serve``: the consumer feed API over HTTP (uvicorn)."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="Worker processes (each serves every route).")
    ] = 1,
) -> None:
    """Serve the feed API, its exports and its OpenAPI page at /docs."""
    import uvicorn

    from hub.config import Config
    from storage.session import make_engine, migrate

    engine = make_engine(Config.from_env().database_url)
    migrate(engine)
    engine.dispose()
    database = engine.url.render_as_string(hide_password=True)
    typer.echo(f"Serving {database} on http://{host}:{port}/ (OpenAPI at /docs)")
    uvicorn.run(
        "hub.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        access_log=False,
    )
