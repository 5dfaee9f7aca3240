"""Replay a hostile corpus through real crawl children and judge what survived.

Each source of the corpus is crawled by ``python -m hub.crawl`` (the crawl
flow's own child, every pipeline including store, into a SQLite file of the
caller's), a few at a time. :func:`judge` then lists every broken promise: a
child that failed, an unhandled error, a drop without its reason, a planted
listing missing or stored under the wrong status, NUL in stored text, a
stored URL that is not http(s).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from hub.crawl import CrawlRequest
from storage.models import Listing, Source
from storage.repository import start_crawl_run, upsert_source
from storage.session import make_engine, migrate, session_factory, transaction
from tests.reliability.hostile import ANY_STATUS, Corpus, SourceSpec

REPO = Path(__file__).resolve().parents[2]
CHILD_TIMEOUT = 600
URL_FIELDS = (
    "url",
    "apply_url",
    "provider_url",
    "canonical_url",
    "canonical_apply_url",
)
# spider-side counters named like drops: not items that reached the pipelines


@dataclass
class ChildRun:
    source: str
    returncode: int
    stats: dict[str, Any]
    stderr: str


@dataclass
class Verdict:
    runs: list[ChildRun]
    stored: int
    expected: int
    problems: list[str] = field(default_factory=list)

    @property
    def survived(self) -> int:
        return self.expected - sum(1 for p in self.problems if p.startswith("lost"))


def replay_corpus(
    corpus: Corpus, folder: Path, *, workers: int = 2, as_of: str | None = None
) -> tuple[str, list[ChildRun]]:
    """Write the corpus's WARC under ``folder`` and crawl each of its sources."""
    warc = corpus.write_warc(folder / "hostile.warc.gz")
    database_url = f"sqlite:///{folder / 'hub.sqlite'}"
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    requests = []
    for spec in corpus.sources:
        with transaction(factory) as session:
            source = upsert_source(
                session, name=spec.name, spider=spec.spider, provider_kind="charity"
            )
            run_id = start_crawl_run(session, source, str(warc)).id
            requests.append((spec, source.id, run_id))
    engine.dispose()
    settings = _settings(warc, as_of)

    def run(job: tuple[SourceSpec, int, int]) -> ChildRun:
        return _run_child(job, database_url, settings, folder)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return database_url, list(pool.map(run, requests))


def _settings(warc: Path, as_of: str | None) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "HUB_REPLAY": str(warc.resolve()),
        "AUTOTHROTTLE_ENABLED": False,
        "DOWNLOAD_DELAY": 0,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 16,
        "LOG_LEVEL": "WARNING",
        # a hostile run must not stop at the 50th error: every error is counted
        "CLOSESPIDER_ERRORCOUNT": 0,
    }
    if as_of:
        settings["HUB_AS_OF"] = as_of
    return settings


def _run_child(
    job: tuple[SourceSpec, int, int],
    database_url: str,
    settings: dict[str, Any],
    folder: Path,
) -> ChildRun:
    spec, source_id, run_id = job
    request_path = folder / f"{spec.name}.request.json"
    stats_path = folder / f"{spec.name}.stats.json"
    CrawlRequest(
        spider=spec.spider,
        source=spec.name,
        source_id=source_id,
        run_id=run_id,
        database_url=database_url,
        stats_path=str(stats_path),
        args=spec.args,
        settings=settings,
    ).write(request_path)
    child = subprocess.run(
        [sys.executable, "-m", "hub.crawl", str(request_path)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        cwd=REPO,
    )
    stats = (
        json.loads(stats_path.read_text(encoding="utf-8"))
        if stats_path.exists()
        else {}
    )
    return ChildRun(spec.name, child.returncode, stats, child.stderr)


# --- judging -----------------------------------------------------------------------


def judge(corpus: Corpus, database_url: str, runs: list[ChildRun]) -> Verdict:
    problems = [p for run in runs for p in run_problems(run)]
    rows = _stored(database_url)
    problems += lost_or_wrong(corpus, rows)
    for (source, key), row in sorted(rows.items()):
        problems += [f"{source} {key!r}: {p}" for p in stored_problems(row)]
    return Verdict(runs, len(rows), len(corpus.expected), problems)


def run_problems(run: ChildRun) -> list[str]:
    """What went wrong in one child: exit, unhandled errors, uncounted drops."""
    name, stats = run.source, run.stats
    if run.returncode != 0 or not stats:
        return [f"{name}: child exited {run.returncode}: {_tail(run.stderr)}"]
    problems = []
    errors = stats.get("log_count/ERROR", 0)
    if errors:
        problems.append(f"{name}: {errors} ERROR log line(s): {error_lines(run)}")
    for key, value in stats.items():
        if key.startswith("spider_exceptions/"):
            problems.append(f"{name}: {value} x {key}")
    uncounted = uncounted_drops(stats)
    if uncounted:
        problems.append(f"{name}: {uncounted}")
    return problems


def uncounted_drops(stats: dict[str, Any]) -> str | None:
    """Items the pipelines dropped without a ``dropped/<reason>`` count."""
    counted = sum(v for k, v in stats.items() if k.startswith("dropped/")) - sum(
        v for k, v in stats.items() if k.startswith("spider_dropped/")
    )
    dropped = stats.get("item_dropped_count", 0)
    if counted == dropped:
        return None
    return f"{dropped} items dropped but {counted} counted by reason"


def error_lines(run: ChildRun, limit: int = 3) -> str:
    """The first distinct exception lines of the child's tracebacks."""
    found: list[str] = []
    lines = run.stderr.splitlines()
    for index, line in enumerate(lines):
        if " ERROR: " not in line:
            continue
        cause = _exception_after(lines, index)
        entry = f"{line.split(' ERROR: ', 1)[1][:120]} -> {cause}"
        if entry not in found:
            found.append(entry)
        if len(found) >= limit:
            break
    return " | ".join(found)


def _exception_after(lines: list[str], index: int) -> str:
    for line in lines[index + 1 : index + 200]:
        if line and not line.startswith((" ", "Traceback", "\t")):
            return line[:200]
    return "?"


def _tail(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def _stored(database_url: str) -> dict[tuple[str, str], dict[str, Any]]:
    engine = make_engine(database_url)
    factory = session_factory(engine)
    with factory() as session:
        query = select(Source.name, Listing).join(
            Source, Listing.source_id == Source.id
        )
        rows = {
            (name, listing.source_key): _row(listing)
            for name, listing in session.execute(query)
        }
    engine.dispose()
    return rows


def _row(listing: Listing) -> dict[str, Any]:
    return {
        "status": listing.status,
        "url": listing.url,
        "canonical_url": listing.canonical_url,
        "apply_url": listing.apply_url,
        "title": listing.title,
        "provider_name": listing.provider_name,
        "fields": listing.fields,
        "raw": listing.raw,
    }


def lost_or_wrong(
    corpus: Corpus, rows: dict[tuple[str, str], dict[str, Any]]
) -> list[str]:
    problems = []
    for expected in corpus.expected:
        row = rows.get((expected.source, expected.key))
        if row is None:
            problems.append(f"lost: {expected.source} {expected.key!r}")
        elif expected.status not in (ANY_STATUS, row["status"]):
            problems.append(
                f"status: {expected.source} {expected.key!r} stored "
                f"{row['status']}, should be {expected.status}"
            )
    return problems


def stored_problems(row: dict[str, Any]) -> list[str]:
    """NUL anywhere in the stored text, a non-http(s) URL in any URL field."""
    problems = [f"NUL in {path}" for path, text in _strings(row) if "\x00" in text]
    urls = [(n, row.get(n)) for n in ("url", "canonical_url", "apply_url")]
    urls += [(f"fields.{n}", row["fields"].get(n)) for n in URL_FIELDS]
    for name, value in urls:
        if value and not _is_http(value):
            problems.append(f"non-http URL in {name}: {value[:80]!r}")
    return problems


def _is_http(value: Any) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def _strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(str(key), f"{path}.<key>")
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item, f"{path}[]")
