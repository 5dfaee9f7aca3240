"""The hub command: run the main job, read the feed, inspect sources."""

from __future__ import annotations

import json
import logging
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from hub.commands import register_all
from hub.config import Config, existing_database, prepare_prefect
from hub.exceptions import ConfigurationError, HubError
from hub.registry import SourceEntry, load_registry

if TYPE_CHECKING:
    from flows.refresh import RefreshReport

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
sources_app = typer.Typer(no_args_is_help=True, help="The source registry.")
eval_app = typer.Typer(no_args_is_help=True, help="Measure the engine on benchmarks.")
app.add_typer(sources_app, name="sources")
app.add_typer(eval_app, name="eval")
# a report piped to a file or a pager keeps its full width
console = Console(width=None if sys.stdout.isatty() else 200)
errors = Console(stderr=True)


def main() -> None:
    try:
        app()
    except HubError as exc:
        _fail(str(exc))
    except SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        _fail(f"cannot use the database ({type(cause).__name__}): {cause}")
    except BrokenPipeError:
        # the reader went away (`hub feed | head`): not an error of ours
        sys.stderr.close()


def _fail(message: str) -> None:
    errors.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False)
    sys.exit(2)


@app.callback()
def _options(
    verbose: Annotated[
        int,
        typer.Option(
            "-v",
            "--verbose",
            count=True,
            metavar="",
            show_default=False,
            help="More log lines: -v for progress, -vv for everything.",
        ),
    ] = 0,
) -> None:
    level = [logging.WARNING, logging.INFO, logging.DEBUG][min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


@app.command()
def run(
    replay: Annotated[
        Path | None,
        typer.Option(help="Answer every request from this WARC recording."),
    ] = None,
    record: Annotated[
        Path | None, typer.Option(help="Write what a live crawl fetched to this WARC.")
    ] = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(help="Judge dates as of this time instead of the fetch time."),
    ] = None,
    source: Annotated[
        list[str] | None, typer.Option(help="Crawl only this source (repeatable).")
    ] = None,
) -> None:
    """Crawl every enabled source, store, merge duplicates and publish the feed."""
    config = Config.from_env()
    if replay is not None and not replay.is_file():
        raise typer.BadParameter(f"{replay} does not exist", param_hint="--replay")
    if replay and record:
        raise typer.BadParameter(
            "a replay fetches nothing to record", param_hint="--record"
        )
    entries = _chosen(load_registry(config.registry, _spider_names()), source)
    _check_inputs(replay, config)
    prepare_prefect(config.data_dir)
    from flows.crawl import CrawlOptions
    from flows.refresh import refresh

    options = CrawlOptions(
        database_url=config.database_url,
        replay=str(replay) if replay else None,
        record=str(record) if record else None,
        as_of=as_of.isoformat() if as_of else None,
        geo_dir=config.geo_dir,
        timeout_seconds=config.crawl_timeout_seconds,
    )
    mode = f"replaying {replay}" if replay else "live"
    with console.status(f"Crawling {len(entries)} sources ({mode})…") as status:
        watcher = _ProgressWatcher(config.database_url, status)
        watcher.start()
        try:
            report = refresh(entries, options)
        finally:
            watcher.stop()
    _print_report(report)
    if all(c.status == "failed" for c in report.crawls):
        raise typer.Exit(1)


def _check_inputs(replay: Path | None, config: Config) -> None:
    """Fail before crawling on what would fail every crawl."""
    if replay is not None:
        from spiders.recording import Recording

        try:
            Recording(replay)
        except Exception as exc:  # noqa: BLE001 - any reason makes it unreadable
            raise typer.BadParameter(
                f"{replay} is not a readable WARC recording ({exc})",
                param_hint="--replay",
            ) from None
    if config.geo_dir is None:
        errors.print(
            "[yellow]note:[/yellow] no geography configured (HUB_GEO_DIR): "
            "places stay unresolved (no local authority, region or centroid)."
        )
        return
    from pipelines.enrich import load_gazetteer

    try:
        load_gazetteer(config.geo_dir)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"HUB_GEO_DIR={config.geo_dir}: {exc}") from None


def _chosen(entries: list[SourceEntry], names: list[str] | None) -> list[SourceEntry]:
    if not names:
        return [e for e in entries if e.enabled]
    known = {e.name: e for e in entries}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise typer.BadParameter(f"unknown source(s): {', '.join(unknown)}")
    return [known[n] for n in names]


def _spider_names() -> set[str]:
    from scrapy.spiderloader import SpiderLoader
    from scrapy.utils.project import get_project_settings

    return set(SpiderLoader.from_settings(get_project_settings()).list())


class _ProgressWatcher:
    """Shows how many listings the running crawls have stored so far."""

    def __init__(self, database_url: str, status: Any) -> None:
        self.database_url = database_url
        self.status = status
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _watch(self) -> None:
        from storage.progress import count_running

        while not self._stop.wait(1.0):
            try:
                running, stored = count_running(self.database_url)
            except Exception:  # noqa: BLE001 - progress is best effort
                continue
            if running:
                self.status.update(
                    f"Crawling: {running} source(s) running, {stored} listings stored…"
                )
            else:
                self.status.update("Matching duplicates and publishing…")


def _print_report(report: RefreshReport) -> None:
    table = Table(title="Crawl report")
    for column in ("source", "status", "responses", "found", "new", "updated"):
        table.add_column(
            column, justify="left" if column in ("source", "status") else "right"
        )
    for column in ("unchanged", "not recorded"):
        table.add_column(column, justify="right")
    table.add_column("dropped (reasons)")
    totals = dict.fromkeys(("responses", "found", "new", "updated", "unchanged"), 0)
    for crawl in report.crawls:
        row = crawl_counts(crawl.stats)
        for key in totals:
            totals[key] += row[key]
        table.add_row(
            crawl.source,
            crawl.status,
            *(str(row[k]) for k in totals),
            str(row["not_recorded"]),
            row["dropped_text"],
        )
    table.add_section()
    table.add_row("all", "", *(str(v) for v in totals.values()), "", "")
    console.print(table)
    for crawl in report.crawls:
        if crawl.error:
            console.print(
                f"[yellow]{crawl.source}[/yellow]: {crawl.error}", highlight=False
            )
    # a run can be ok and still suspicious (half its usual listings): say so
    errors = {crawl.source: crawl.error for crawl in report.crawls}
    for source in report.sources:
        why = [r for r in source.reasons if r != errors.get(source.source)]
        if source.verdict == "suspicious" and why:
            console.print(
                f"[yellow]{source.source}[/yellow]: suspicious: {'; '.join(why)}",
                highlight=False,
            )
    if report.match:
        m = report.match
        console.print(
            f"Matched {m.listings} listings into {m.opportunities} opportunities "
            f"({m.merged} merged, {m.review} pairs for review, {m.compared} compared)."
        )
    if report.publish:
        p = report.publish
        console.print(
            f"Published {p.published} opportunities in scope "
            f"({p.live} live, {p.closed} closed, {p.changed} changed in this run)."
        )


def crawl_counts(stats: dict[str, Any]) -> dict[str, Any]:
    """The report's numbers for one crawl, with its drops spelled out."""
    from storage.health import drops_by_reason, run_counts

    dropped = drops_by_reason(stats)
    text = ", ".join(f"{k}: {v}" for k, v in sorted(dropped.items())) or "0"
    return {**run_counts(stats), "dropped_text": text}


@app.command()
def feed(
    out: Annotated[Path | None, typer.Option(help="Write to this file.")] = None,
    all_types: Annotated[
        bool, typer.Option("--all", help="Include live opportunities out of scope.")
    ] = False,
) -> None:
    """Print the published feed as JSON Lines."""
    from storage.feed import list_published, to_feed_record
    from storage.session import session_factory

    engine = existing_database(Config.from_env().database_url)
    stream = out.open("w", encoding="utf-8") if out else sys.stdout
    count = 0
    try:
        with session_factory(engine)() as session:
            for opportunity in list_published(session, in_scope_only=not all_types):
                record = to_feed_record(opportunity)
                stream.write(json.dumps(record, ensure_ascii=False) + "\n")
                count += 1
    finally:
        engine.dispose()
        if out:
            stream.close()
    if out:
        console.print(f"Wrote {count} opportunities to {out}")


@sources_app.command("list")
def sources_list() -> None:
    """The sources in the registry."""
    config = Config.from_env()
    table = Table()
    for column in ("name", "spider", "kind", "trust", "schedule", "enabled"):
        table.add_column(column)
    for entry in load_registry(config.registry, _spider_names()):
        table.add_row(
            entry.name,
            entry.spider,
            entry.provider_kind.value,
            str(entry.trust_rank),
            entry.schedule or "",
            "yes" if entry.enabled else "no",
        )
    console.print(table)


BENCHMARKS = ("chicago", "abt-buy")
SHARED_BENCHMARKS = Path("../shared/data/benchmarks")


@eval_app.command("dedupe")
def eval_dedupe(
    benchmark: Annotated[str, typer.Option(help="chicago or abt-buy.")] = "chicago",
    data_dir: Annotated[
        Path, typer.Option(help="The folder holding the benchmark folders.")
    ] = SHARED_BENCHMARKS,
) -> None:
    """Match a labelled benchmark and print precision, recall, F1, time and memory."""
    if benchmark not in BENCHMARKS:
        raise typer.BadParameter(
            f"one of {', '.join(BENCHMARKS)}", param_hint="--benchmark"
        )
    if not data_dir.is_dir():
        raise typer.BadParameter(f"{data_dir} is not a folder", param_hint="--data-dir")
    from dedupe.evaluate import evaluate

    figures = evaluate(benchmark, data_dir)
    table = Table(title=f"Dedupe on {benchmark}")
    table.add_column("measure")
    table.add_column("value", justify="right")
    for name, value in figures.items():
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        table.add_row(name, shown)
    console.print(table)


register_all(app)


if __name__ == "__main__":
    # run the importable module, not this __main__ copy, so that command
    # modules which import hub.cli extend the app that runs
    from hub.cli import main as _main

    _main()
