"""Several crawl processes storing the same listings at once, and the check that
each listing holds its last write, field by field.

Every writer is a real crawl child (``python -m hub.crawl``: the greenhouse
spider and every item pipeline, store included) replaying a recording of its
own. All writers crawl one board of one source, so they update the same
listings; each writer's postings differ (title, place, closing date) and its
recording carries its own WARC-Date, which becomes each listing's
``fetched_at``. "Last" is therefore the newest fetch, whatever order the
processes commit in: a listing must hold the posting of the newest writer that
saw it, ``first_seen`` the oldest fetch, ``last_seen`` the newest, and
``seen_run_id`` the highest run that saw it.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import joinedload
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from hub.crawl import CrawlRequest
from pipelines.store import content_hash
from storage.models import Listing
from storage.repository import start_crawl_run, upsert_source
from storage.session import make_engine, migrate, session_factory, transaction

REPO = Path(__file__).resolve().parents[2]
BOARD = "hubconcurrency"
BOARD_URL = f"https://boards-api.greenhouse.io/v1/boards/{BOARD}/jobs?content=true"
SOURCE = "greenhouse_hubconcurrency"
FIRST_FETCH = datetime(2023, 7, 2, 9, 0, tzinfo=UTC)
PLACES = ("Leeds LS1 4AP", "Bristol BS1 4DJ", "Manchester M1 1AE", "Cardiff CF10 1EP")
CHILD_TIMEOUT = 300
# what must never appear in a writer's log
BAD_LOG_LINES = ("database is locked", "IntegrityError", "UniqueViolation", "Deadlock")


@dataclass
class WriterPlan:
    """One writer: when its recording was made and the postings it holds."""

    writer: int
    recorded_at: datetime
    keys: list[str]
    start_delay: float = 0.0

    def posting(self, key: str) -> dict[str, Any]:
        number = int(key.rsplit("-", 1)[1])
        closing = self.recorded_at + timedelta(days=7 * (self.writer + 1) + number % 5)
        # every fifth listing closes before this writer's fetch
        if number % 5 == 0 and self.writer % 2:
            closing = self.recorded_at - timedelta(days=1)
        return {
            "id": key,
            "title": f"Engineering apprentice {key} (version {self.writer})",
            "absolute_url": f"https://jobs.concurrency.example.org/{key}",
            "location": {"name": PLACES[(self.writer + number) % len(PLACES)]},
            "application_deadline": closing.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "content": f"&lt;p&gt;Level 3 apprenticeship {self.writer}&lt;/p&gt;",
            "company_name": "Concurrency Engineering Ltd",
        }

    def write_recording(self, path: Path) -> Path:
        return write_boards_recording(path, [(BOARD, self)])


def board_url(board: str) -> str:
    return f"https://boards-api.greenhouse.io/v1/boards/{board}/jobs?content=true"


def write_boards_recording(
    path: Path, boards: Sequence[tuple[str, WriterPlan]]
) -> Path:
    """One WARC answering each board with its plan's postings, at its plan's date."""
    headers = [("Content-Type", "application/json; charset=utf-8")]
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for board, plan in boards:
            body = json.dumps({"jobs": [plan.posting(k) for k in plan.keys]}).encode()
            record = writer.create_warc_record(
                board_url(board),
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1"),
                warc_headers_dict={
                    "WARC-Date": plan.recorded_at.strftime("%Y-%m-%dT%H:%M:%SZ")
                },
            )
            writer.write_record(record)
    return path


@dataclass
class WriterRun:
    plan: WriterPlan
    run_id: int
    returncode: int
    stats: dict[str, Any]
    log: str


@dataclass
class CaseResult:
    """One case: the writers' runs and every broken promise found."""

    database: str
    writers: list[WriterRun]
    listings: int
    seconds: float
    problems: list[str] = field(default_factory=list)


def plan_writers(
    seed: int, writers: int = 4, listings: int = 500, reverse: bool = False
) -> list[WriterPlan]:
    """Writers whose postings overlap: each listing is held by two or more.

    With ``reverse`` the newest recording's writer starts first and the oldest
    last, so stale fetches arrive after fresh ones; else the start order and
    the stagger are drawn from ``seed``.
    """
    rng = random.Random(seed)
    keys = [f"{BOARD}-{n}" for n in range(listings)]
    held: dict[int, list[str]] = {w: [] for w in range(writers)}
    for key in keys:
        for w in rng.sample(range(writers), rng.randint(2, writers)):
            held[w].append(key)
    stamps = [FIRST_FETCH + timedelta(minutes=10 * w) for w in range(writers)]
    order = (
        list(range(writers))[::-1] if reverse else rng.sample(range(writers), k=writers)
    )
    plans = []
    for position, w in enumerate(order):
        delay = position * (0.4 if reverse else rng.uniform(0, 0.5))
        plans.append(WriterPlan(w, stamps[w], held[w], delay))
    return sorted(plans, key=lambda p: p.writer)


def run_case(
    database_url: str, folder: Path, plans: list[WriterPlan], label: str
) -> CaseResult:
    """Run every writer at once into ``database_url``, then check each listing."""
    folder.mkdir(parents=True, exist_ok=True)
    source_id, run_ids = _prepare(database_url, len(plans))
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(plans)) as pool:
        runs = list(
            pool.map(
                lambda job: _run_writer(database_url, folder, source_id, *job),
                zip(plans, run_ids, strict=True),
            )
        )
    seconds = time.monotonic() - started
    problems = [p for run in runs for p in writer_problems(run)]
    stored = _stored(database_url)
    problems += last_write_problems(runs, stored)
    return CaseResult(label, runs, len(stored), seconds, problems)


def _prepare(database_url: str, writers: int) -> tuple[int, list[int]]:
    engine = make_engine(database_url)
    migrate(engine)
    try:
        with transaction(session_factory(engine)) as session:
            source = upsert_source(
                session,
                name=SOURCE,
                spider="greenhouse",
                provider_kind="employer",
                config={"args": {"board": BOARD}},
            )
            run_ids = [
                start_crawl_run(session, source, "own").id for _ in range(writers)
            ]
            return source.id, run_ids
    finally:
        engine.dispose()


def _run_writer(
    database_url: str, folder: Path, source_id: int, plan: WriterPlan, run_id: int
) -> WriterRun:
    recording = plan.write_recording(folder / f"writer{plan.writer}.warc.gz")
    request_path = folder / f"writer{plan.writer}.request.json"
    stats_path = folder / f"writer{plan.writer}.stats.json"
    CrawlRequest(
        spider="greenhouse",
        source=SOURCE,
        source_id=source_id,
        run_id=run_id,
        database_url=database_url,
        stats_path=str(stats_path),
        args={"board": BOARD, "provider": "Concurrency Engineering"},
        settings={
            "HUB_REPLAY": str(recording.resolve()),
            "AUTOTHROTTLE_ENABLED": False,
            "DOWNLOAD_DELAY": 0,
            "LOG_LEVEL": "INFO",
        },
    ).write(request_path)
    time.sleep(plan.start_delay)
    child = subprocess.run(
        [sys.executable, "-m", "hub.crawl", str(request_path)],
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
        cwd=REPO,
    )
    stats = json.loads(stats_path.read_text()) if stats_path.exists() else {}
    return WriterRun(plan, run_id, child.returncode, stats, child.stderr)


def writer_problems(run: WriterRun) -> list[str]:
    """A writer that failed, logged an error or stored fewer listings than it held."""
    name = f"writer {run.plan.writer}"
    if run.returncode != 0 or not run.stats:
        return [f"{name}: exited {run.returncode}: {run.log[-500:]}"]
    problems = [
        f"{name}: {bad!r} in its log" for bad in BAD_LOG_LINES if bad in run.log
    ]
    errors = run.stats.get("log_count/ERROR", 0)
    if errors:
        problems.append(f"{name}: {errors} ERROR log line(s)")
    stored = sum(
        run.stats.get(f"store/{o}", 0) for o in ("new", "updated", "unchanged")
    )
    if stored != len(run.plan.keys):
        problems.append(f"{name}: stored {stored} of its {len(run.plan.keys)} listings")
    return problems


def _stored(database_url: str) -> dict[str, Listing]:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return {row.source_key: row for row in session.scalars(select(Listing))}
    finally:
        engine.dispose()


def stored_by_source(database_url: str) -> dict[str, dict[str, Listing]]:
    """Every stored listing, by its source's name, then by its source key."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            rows = session.scalars(select(Listing).options(joinedload(Listing.source)))
            stored: dict[str, dict[str, Listing]] = {}
            for row in rows:
                stored.setdefault(row.source.name, {})[row.source_key] = row
            return stored
    finally:
        engine.dispose()


def last_write_problems(runs: list[WriterRun], stored: dict[str, Listing]) -> list[str]:
    """Each listing against the newest writer that held it, field by field."""
    holders: dict[str, list[WriterRun]] = {}
    for run in runs:
        for key in run.plan.keys:
            holders.setdefault(key, []).append(run)
    problems = []
    for key, runs_of_key in sorted(holders.items()):
        row = stored.get(key)
        if row is None:
            problems.append(f"lost {key}: not stored")
            continue
        problems += [f"{key}: {p}" for p in listing_problems(row, runs_of_key)]
    problems += [
        f"{key}: stored but no writer held it" for key in stored.keys() - holders.keys()
    ]
    return problems


def listing_problems(row: Listing, runs: list[WriterRun]) -> list[str]:
    newest = max(runs, key=lambda r: r.plan.recorded_at)
    oldest = min(runs, key=lambda r: r.plan.recorded_at)
    posting = newest.plan.posting(row.source_key)
    closing = datetime.fromisoformat(posting["application_deadline"])
    status = "closed" if closing < newest.plan.recorded_at else "active"
    expected = {
        "title": posting["title"],
        "raw": posting,
        "fetched_at": newest.plan.recorded_at,
        "last_seen": newest.plan.recorded_at,
        "first_seen": oldest.plan.recorded_at,
        "closing_date": closing,
        "status": status,
        "postcode": posting["location"]["name"].split(" ", 1)[1],
        "seen_run_id": max(r.run_id for r in runs),
        "fields.title": posting["title"],
    }
    actual = {
        **{name: getattr(row, name) for name in expected if "." not in name},
        "fields.title": row.fields.get("title"),
    }
    problems = [
        f"lost update of {name}: holds {actual[name]!r}, the newest write "
        f"(writer {newest.plan.writer}) is {value!r}"
        for name, value in expected.items()
        if actual[name] != value
    ]
    if content_hash(row.fields, row.status) != row.content_hash:
        problems.append("torn row: its content hash is not that of its fields")
    return problems


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A schema of our own on ``base_url``, dropped after."""
    schema = f"hub_concurrency_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base_url).set(drivername="postgresql+psycopg"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_concurrency(folder: Path, seed: int, size: int) -> dict[str, Any]:
    """The figures for the reliability report: ``size`` cases per database.

    Case 0 of each database starts the newest writer first; the others draw
    start order and stagger from the seed. PostgreSQL is tried when
    ``HUB_TEST_DATABASE_URL`` names one.
    """
    folder = Path(folder)
    results: list[CaseResult] = []
    postgres = os.getenv("HUB_TEST_DATABASE_URL")
    for case in range(size):
        plans = plan_writers(seed + case, reverse=case == 0)
        sqlite_url = f"sqlite:///{folder / f'case{case}' / 'hub.sqlite'}"
        results.append(
            run_case(sqlite_url, folder / f"case{case}", plans, f"sqlite case {case}")
        )
        if postgres:
            with postgres_schema(postgres) as url:
                results.append(
                    run_case(
                        url, folder / f"pg{case}", plans, f"postgresql case {case}"
                    )
                )
    notes = [
        f"{r.database}: {len(r.writers)} writers, {r.listings} listings, "
        f"{r.seconds:.1f} s, {len(r.problems)} problems"
        for r in results
    ]
    if not postgres:
        notes.append("PostgreSQL not tried: HUB_TEST_DATABASE_URL unset")
    lost = [f"{r.database}: {p}" for r in results for p in r.problems[:20]]
    return {
        "name": "concurrent writers (4 crawl processes, same listings)",
        "tried": len(results),
        "survived": sum(1 for r in results if not r.problems),
        "lost": lost,
        "notes": notes,
    }
