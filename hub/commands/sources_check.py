"""``hub sources check``: a source's spider run on a recording, nothing stored.

The crawl runs in a child process (``python -m hub.crawl``) with every
pipeline up to the coverage counts and none after, then the share of listings
with each feed field, the required fields below the gate and what was dropped
or refused, by reason, are printed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from hub.config import Config
from hub.crawl import CrawlRequest
from hub.registry import SourceEntry, load_registry

REPO = Path(__file__).resolve().parents[2]
SHARED_RECORDING = REPO.parent / "shared" / "data" / "web" / "recorded.warc.gz"
STORE = "pipelines.store.StorePipeline"
# besides dropped/<reason>: requests refused or missed, under these names
REFUSED_PREFIXES = (
    "dropped/",
    "guard/refused/",
    "ignored/",
    "robotstxt/forbidden",
    "robotstxt/blocked_unavailable",
    "replay/not_recorded",
    "retry_after/deferred",
)

console = Console()


def register(app: typer.Typer) -> None:
    sources_group(app).command("check")(check)


def sources_group(app: typer.Typer) -> typer.Typer:
    """The ``sources`` group of the app being built.

    Found on ``app`` itself: under ``python -m hub.cli`` the module importing
    us is ``__main__``, and ``from hub.cli import sources_app`` would fetch a
    second copy's group, which the running command never sees.
    """
    for group in app.registered_groups:
        if group.name == "sources" and group.typer_instance is not None:
            return group.typer_instance
    from hub.cli import sources_app

    return sources_app


def check(
    name: Annotated[
        str | None, typer.Argument(help="The source to check (default: every one).")
    ] = None,
    replay: Annotated[
        Path | None,
        typer.Option(help="The recording to replay (default: the shared one)."),
    ] = None,
) -> None:
    """Run a source's spider on a recording without storing; print field coverage."""
    config = Config.from_env()
    recording = _recording(replay)
    entries = _entries(config, name)
    failing = 0
    for entry in entries:
        stats = check_source(entry, recording, config)
        failing += print_check(entry, stats)
    if failing:
        raise typer.Exit(1)


def _entries(config: Config, name: str | None) -> list[SourceEntry]:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    spiders = set(SpiderLoader.from_settings(get_project_settings()).list())
    entries = load_registry(config.registry, spiders)
    if name is None:
        return [entry for entry in entries if entry.enabled]
    chosen = [entry for entry in entries if entry.name == name]
    if not chosen:
        known = ", ".join(entry.name for entry in entries)
        raise typer.BadParameter(f"no source named {name!r} (known: {known})")
    return chosen


def _recording(replay: Path | None) -> Path:
    recording = replay or SHARED_RECORDING
    if not recording.is_file():
        hint = "" if replay else " (the shared recording is absent: pass --replay)"
        raise typer.BadParameter(f"{recording} does not exist{hint}", "--replay")
    return recording.resolve()


def check_settings(entry: SourceEntry, recording: Path, config: Config) -> dict:
    """The child's settings: the source's own, a replay, and no store."""
    from scrapy.utils.project import get_project_settings

    pipelines = get_project_settings().getdict("ITEM_PIPELINES")
    pipelines.pop(STORE, None)
    settings: dict[str, Any] = {
        **entry.politeness,
        "HUB_REPLAY": str(recording),
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "ITEM_PIPELINES": pipelines,
        "LOG_LEVEL": "ERROR",
    }
    if config.geo_dir:
        settings["HUB_GEO_DIR"] = str(Path(config.geo_dir).resolve())
    return settings


def check_source(entry: SourceEntry, recording: Path, config: Config) -> dict:
    """The stats of one source's crawl of ``recording``, stored nowhere."""
    with tempfile.TemporaryDirectory(prefix="hub-check-") as folder:
        request_path = Path(folder) / "request.json"
        stats_path = Path(folder) / "stats.json"
        CrawlRequest(
            spider=entry.spider,
            source=entry.name,
            source_id=0,
            run_id=0,
            database_url=config.database_url,
            stats_path=str(stats_path),
            args=entry.args,
            settings=check_settings(entry, recording, config),
        ).write(request_path)
        child = subprocess.run(
            [sys.executable, "-m", "hub.crawl", str(request_path)],
            capture_output=True,
            text=True,
            timeout=config.crawl_timeout_seconds,
        )
        if child.returncode != 0 or not stats_path.exists():
            tail = child.stderr.strip()[-2000:]
            raise typer.BadParameter(f"the crawl of {entry.name} failed: {tail}")
        return json.loads(stats_path.read_text(encoding="utf-8"))


def print_check(entry: SourceEntry, stats: dict[str, Any]) -> int:
    """Print one source's coverage and drops; 1 when it misses the gate."""
    from pipelines.coverage import FIELDS, ITEMS_STAT, coverage_shortfalls

    items = stats.get(ITEMS_STAT, 0)
    required = set(stats.get("coverage/required") or ())
    table = Table(title=f"{entry.name}: {items} listings")
    for column in ("field", "listings", "share"):
        table.add_column(column, justify="left" if column == "field" else "right")
    for field in FIELDS:
        filled = stats.get(f"coverage/{field}", 0)
        label = f"{field} (required)" if field in required else field
        share = f"{filled / items:.1%}" if items else "-"
        table.add_row(label, str(filled), share)
    console.print(table)
    console.print(f"dropped or not fetched: {_counts(stats, REFUSED_PREFIXES)}")
    console.print(f"kept, a value unparsed: {_counts(stats, ('unparsed/',))}")
    shortfalls = coverage_shortfalls(stats)
    if not items or shortfalls:
        reason = "; ".join(shortfalls) or "no listings"
        console.print(f"[red]{entry.name} misses the gate:[/red] {reason}")
        return 1
    console.print(f"[green]{entry.name} meets the gate[/green]")
    return 0


def _counts(stats: dict[str, Any], prefixes: tuple[str, ...]) -> str:
    counts = [
        f"{key}: {value}"
        for key, value in sorted(stats.items())
        if key.startswith(prefixes)
    ]
    return ", ".join(counts) or "nothing"
