"""A Prefect server and two process workers, each running a flow run of four
crawls at once into one PostgreSQL, and the check that nothing was lost.

Eight greenhouse sources of a registry of our own, four per family (employer,
charity), each replaying a board the test builds (:mod:`concurrency`'s
writers). Listings belong to one source, so the crawls cannot update the same
rows; the boards' postings overlap instead (each posting on two or more
boards, both families), so the two flow runs' matchers and publishers merge
the same opportunities at the same time. A second run for the employer slot
goes to the first worker too: the deployment's limit or the slot's lock must
keep it from crawling.

Checks: both working flow runs COMPLETED and overlapped in time; each crawl
stored every posting of its board with each field as the board holds it; no
IntegrityError, UniqueViolation, "database is locked" or ERROR in any log;
each listing in exactly one opportunity; one crawl run per source.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from storage.models import CrawlRun, Listing, Opportunity, OpportunityMember, Source
from storage.session import make_engine, session_factory
from tests.reliability.concurrency import (
    BAD_LOG_LINES,
    BOARD,
    WriterPlan,
    WriterRun,
    listing_problems,
    plan_writers,
    postgres_schema,
    stored_by_source,
    write_boards_recording,
    writer_problems,
)

REPO = Path(__file__).resolve().parents[2]
GEO_DIR = REPO.parent / "shared" / "data" / "geo"
POOL = "hub-test"
FAMILIES = ("employer", "charity")
CRAWLS_PER_FAMILY = 4
LISTINGS = 40
NO_OVERLAP = "a crawl finished before the last one started: no full overlap"
RACE_ATTEMPTS = 3
CRON = "0 7 * * 1"
DRIVER_TIMEOUT = 240
# what must never appear in a worker's log, beside the writers' bad lines
BAD_WORKER_LINES = (*BAD_LOG_LINES, "ERROR")
DRIVER = """
import json, sys, time
from datetime import datetime, timezone
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

plans = json.loads(sys.argv[1])
slot = datetime.now(timezone.utc).replace(microsecond=0)
ids = []
for plan in plans:
    run = run_deployment(
        plan["deployment"], parameters=plan["parameters"], scheduled_time=slot,
        timeout=0, work_queue_name=plan["queue"], as_subflow=False,
    )
    ids.append(run.id)
deadline = time.time() + float(sys.argv[2])
runs = []
with get_client(sync_client=True) as client:
    while time.time() < deadline:
        runs = [client.read_flow_run(i) for i in ids]
        if all(r.state.is_final() for r in runs):
            break
        time.sleep(2)
print(json.dumps([
    {
        "state": r.state.type.value,
        "start": r.start_time.isoformat() if r.start_time else None,
        "end": r.end_time.isoformat() if r.end_time else None,
    }
    for r in runs
]))
"""


@dataclass(frozen=True)
class Board:
    """One source of the test's registry, its family and the postings it holds."""

    family: str
    plan: WriterPlan

    @property
    def name(self) -> str:
        return f"greenhouse_{BOARD}_{self.plan.writer}"

    @property
    def board(self) -> str:
        return f"{BOARD}{self.plan.writer}"


@dataclass
class FlowRunState:
    state: str
    start: datetime | None
    end: datetime | None


@dataclass
class CaseResult:
    label: str
    listings: int = 0
    opportunities: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)
    attempts: int = 1


def plan_boards(seed: int) -> list[Board]:
    """Eight boards whose postings overlap, the first four employers'."""
    plans = plan_writers(
        seed, writers=len(FAMILIES) * CRAWLS_PER_FAMILY, listings=LISTINGS
    )
    return [Board(FAMILIES[p.writer // CRAWLS_PER_FAMILY], p) for p in plans]


def write_registry(path: Path, boards: list[Board]) -> Path:
    entries = [
        "\n".join(
            [
                "[[source]]",
                f'name = "{b.name}"',
                'spider = "greenhouse"',
                f'provider_kind = "{b.family}"',
                "trust_rank = 20",
                f'schedule = "{CRON}"',
                "[source.args]",
                f'board = "{b.board}"',
                'provider = "Concurrency Engineering"',
            ]
        )
        for b in boards
    ]
    path.write_text("\n\n".join(entries) + "\n", encoding="utf-8")
    return path


def write_recordings(folder: Path, boards: list[Board]) -> dict[str, Path]:
    """One WARC per family, answering each of its boards."""
    return {
        family: write_boards_recording(
            folder / f"{family}.warc.gz",
            [(b.board, b.plan) for b in boards if b.family == family],
        )
        for family in FAMILIES
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, server: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the Prefect server exited while starting")
        try:
            if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    raise TimeoutError("the Prefect server did not become healthy")


def stop(process: subprocess.Popen) -> None:
    """Workers stop on SIGINT, not SIGTERM (PITFALLS); kill what will not stop."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def cluster_env(
    database_url: str, folder: Path, registry: Path, port: int
) -> dict[str, str]:
    return {
        **os.environ,
        "PREFECT_HOME": str(folder / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "HUB_DATABASE_URL": database_url,
        "HUB_REGISTRY": str(registry),
        "HUB_MAX_PARALLEL_CRAWLS": str(CRAWLS_PER_FAMILY),
        "HUB_DATA_DIR": str(folder / "data"),
        "HUB_GEO_DIR": str(GEO_DIR),
        "HUB_ALERT_WEBHOOK": "",
        "COLUMNS": "200",
    }


@contextmanager
def cluster(
    database_url: str, folder: Path, registry: Path
) -> Iterator[tuple[dict[str, str], Path]]:
    """A server, a process pool with two workers (queues q1, q2), the deployments."""
    port = free_port()
    env = cluster_env(database_url, folder, registry, port)
    prefect = str(Path(sys.executable).parent / "prefect")
    logs = folder / "logs"
    logs.mkdir(parents=True)
    processes: list[subprocess.Popen] = []
    handles = []

    def start(name: str, *args: str) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("w")
        handles.append(out)
        process = subprocess.Popen(
            [prefect, *args], cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        processes.append(process)
        return process

    def run(*command: str) -> None:
        subprocess.run(
            command, cwd=REPO, env=env, check=True, capture_output=True, timeout=120
        )

    try:
        server = start(
            "server", "server", "start", "--host", "127.0.0.1", "--port", str(port)
        )
        wait_healthy(env["PREFECT_API_URL"], server)
        run(prefect, "work-pool", "create", POOL, "--type", "process")
        for n in (1, 2):
            start(
                f"worker{n}",
                *("worker", "start", "--pool", POOL, "--name", f"w{n}"),
                *("--work-queue", f"q{n}"),
            )
        run(
            sys.executable,
            *("-m", "hub.cli", "schedule", "--pool", POOL, "--cadence-hours", "0"),
        )
        yield env, logs
    finally:
        for process in reversed(processes):
            stop(process)
        for handle in handles:
            handle.close()


def flow_plans(recordings: dict[str, Path]) -> list[dict[str, Any]]:
    """Employer on the first worker, charity on the second, then the employer
    slot again on the first: it must crawl nothing."""

    def plan(family: str, queue: str) -> dict[str, Any]:
        return {
            "deployment": f"scheduled-refresh/refresh-{family}",
            "queue": queue,
            "parameters": {
                "family": family,
                "force": True,
                "replay": str(recordings[family].resolve()),
            },
        }

    return [plan("employer", "q1"), plan("charity", "q2"), plan("employer", "q1")]


def drive(env: dict[str, str], plans: list[dict[str, Any]]) -> list[FlowRunState]:
    driver = subprocess.run(
        [sys.executable, "-c", DRIVER, json.dumps(plans), str(DRIVER_TIMEOUT)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=DRIVER_TIMEOUT + 60,
    )
    if driver.returncode != 0:
        raise RuntimeError(f"the driver failed: {driver.stderr[-3000:]}")
    return [
        FlowRunState(r["state"], _instant(r["start"]), _instant(r["end"]))
        for r in json.loads(driver.stdout.strip().splitlines()[-1])
    ]


def _instant(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def flow_run_problems(states: list[FlowRunState]) -> list[str]:
    """Both families' runs worked at once; the duplicate slot did not work twice."""
    employer, charity, again = states
    problems = []
    if charity.state != "COMPLETED":
        problems.append(f"the charity flow run ended {charity.state}")
    finals = {employer.state, again.state}
    if "COMPLETED" not in finals or not finals <= {"COMPLETED", "CANCELLED"}:
        problems.append(
            f"the employer slot's runs ended {employer.state} and {again.state}"
        )
    worked = employer if employer.state == "COMPLETED" else again
    if worked.start and worked.end and charity.start and charity.end:
        if not (worked.start < charity.end and charity.start < worked.end):
            problems.append("the two families' flow runs did not overlap in time")
    else:
        problems.append("a flow run has no start or end time")
    return problems


def log_problems(logs: Path) -> list[str]:
    return [
        f"{log.name}: {bad!r} in it"
        for log in sorted(logs.glob("worker*.log"))
        for bad in BAD_WORKER_LINES
        if bad in log.read_text(errors="replace")
    ]


def stored_problems(database_url: str, boards: list[Board]) -> list[str]:
    """Each crawl's run, its listings field by field, and the memberships."""
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            runs: dict[str, list[CrawlRun]] = {}
            query = select(CrawlRun, Source.name).join(Source)
            for run, name in session.execute(query):
                runs.setdefault(name, []).append(run)
            listings = session.scalar(select(func.count(Listing.id)))
            members = session.scalar(select(func.count(OpportunityMember.listing_id)))
            distinct = session.scalar(
                select(func.count(func.distinct(OpportunityMember.listing_id)))
            )
    finally:
        engine.dispose()
    stored = stored_by_source(database_url)
    problems = crawl_overlap_problems([r for rs in runs.values() for r in rs])
    for board in boards:
        problems += [
            f"{board.name}: {p}"
            for p in _board_problems(board, runs.get(board.name, []), stored)
        ]
    problems += [
        f"{name}: stored but in no board"
        for name in stored.keys() - {b.name for b in boards}
    ]
    if not members == distinct == listings:
        problems.append(
            f"{listings} listings, {members} memberships of {distinct} listings: "
            "not each listing in exactly one opportunity"
        )
    return problems


def crawl_overlap_problems(runs: list[CrawlRun]) -> list[str]:
    """All eight crawls were running at one moment: both workers, four each."""
    finished = [r.finished for r in runs if r.finished]
    if len(finished) < len(runs) or not runs:
        return ["a crawl run never finished"]
    if max(r.started for r in runs) >= min(finished):
        return [NO_OVERLAP]
    return []


def _board_problems(
    board: Board, runs: list[CrawlRun], stored: dict[str, dict[str, Listing]]
) -> list[str]:
    if len(runs) != 1:
        return [f"{len(runs)} crawl runs, not one"]
    run = runs[0]
    writer = WriterRun(
        board.plan, run.id, 0 if run.status == "ok" else 1, run.stats, run.error or ""
    )
    problems = writer_problems(writer)
    if run.status != "ok":
        problems.append(f"crawl run {run.status}: {run.error}")
    rows = stored.get(board.name, {})
    for key in board.plan.keys:
        row = rows.get(key)
        if row is None:
            problems.append(f"lost {key}: not stored")
            continue
        problems += [f"{key}: {p}" for p in listing_problems(row, [writer])]
    problems += [
        f"{key}: stored but not on the board"
        for key in rows.keys() - set(board.plan.keys)
    ]
    return problems


def count_opportunities(database_url: str) -> int:
    engine = make_engine(database_url)
    try:
        with session_factory(engine)() as session:
            return session.scalar(select(func.count(Opportunity.id))) or 0
    finally:
        engine.dispose()


def run_case(database_url: str, folder: Path, seed: int, label: str) -> CaseResult:
    """A race of the two workers into ``database_url`` (an empty schema).

    A race whose eight crawls did not all run at one moment tested less than
    it should (the workers' polling, on a busy machine, can start one family
    late): it is run again on an emptied schema, up to ``RACE_ATTEMPTS`` times,
    and still counts as a problem if it never overlaps.
    """
    for attempt in range(1, RACE_ATTEMPTS + 1):
        result = _race(database_url, folder / f"attempt{attempt}", seed, label)
        result.attempts = attempt
        if NO_OVERLAP not in result.problems:
            break
        _empty_schema(database_url)
    return result


def _empty_schema(database_url: str) -> None:
    engine = make_engine(database_url)
    with engine.begin() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()


def _race(database_url: str, folder: Path, seed: int, label: str) -> CaseResult:
    folder.mkdir(parents=True, exist_ok=True)
    boards = plan_boards(seed)
    registry = write_registry(folder / "sources.toml", boards)
    recordings = write_recordings(folder, boards)
    result = CaseResult(label)
    with cluster(database_url, folder, registry) as (env, logs):
        started = time.monotonic()
        states = drive(env, flow_plans(recordings))
        result.seconds = time.monotonic() - started
        result.problems += flow_run_problems(states)
        result.problems += log_problems(logs)
    result.problems += stored_problems(database_url, boards)
    result.listings = sum(len(b.plan.keys) for b in boards)
    result.opportunities = count_opportunities(database_url)
    return result


def run_server_workers(folder: Path, seed: int, size: int) -> dict[str, Any]:
    """The figures for the reliability report: ``size`` races, each in a fresh
    PostgreSQL schema (``HUB_TEST_DATABASE_URL``) with a fresh server."""
    folder = Path(folder)
    name = "server and two workers (4 crawls each, one PostgreSQL)"
    postgres = os.getenv("HUB_TEST_DATABASE_URL")
    if not postgres or not postgres.startswith("postgresql"):
        notes = ["not tried: HUB_TEST_DATABASE_URL names no PostgreSQL"]
        return {"name": name, "tried": 0, "survived": 0, "lost": [], "notes": notes}
    results = []
    for case in range(size):
        with postgres_schema(postgres) as url:
            results.append(
                run_case(url, folder / f"case{case}", seed + case, f"case {case}")
            )
    return {
        "name": name,
        "tried": len(results),
        "survived": sum(1 for r in results if not r.problems),
        "lost": [f"{r.label}: {p}" for r in results for p in r.problems[:20]],
        "notes": [
            f"{r.label}: 8 crawls, {r.listings} listings into {r.opportunities} "
            f"opportunities, {r.seconds:.1f} s, {len(r.problems)} problems, "
            f"overlapping at attempt {r.attempts}"
            for r in results
        ],
    }
