"""A private PostgreSQL cluster for one test: made with initdb in a temporary
folder, served on a free 127.0.0.1 port, restarted on demand, removed after.

As root, the server programs run as the ``postgres`` user (PostgreSQL refuses
to run as root), so the folder is handed to that user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg

BIN = Path("/usr/local/bin")
SERVER_USER = "postgres"
DATABASE = "hub"


def unusable_reason() -> str | None:
    """Why no private cluster can be made here, or None if one can."""
    for program in ("initdb", "pg_ctl", "postgres"):
        if not (BIN / program).exists() and shutil.which(program) is None:
            return f"{program} is not installed"
    if os.geteuid() == 0:
        if shutil.which("runuser") is None:
            return "running as root without runuser to drop to the postgres user"
        try:
            pwd.getpwnam(SERVER_USER)
        except KeyError:
            return f"running as root and no {SERVER_USER!r} user exists"
    return None


def _program(name: str) -> str:
    return str(BIN / name) if (BIN / name).exists() else str(shutil.which(name))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateCluster:
    """One initdb'd cluster; :attr:`url` names its ``hub`` database."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def _run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = list(args)
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVER_USER, "--", *command]
        return subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=True
        )

    def create(self) -> None:
        if os.geteuid() == 0:
            user = pwd.getpwnam(SERVER_USER)
            os.chown(self.folder, user.pw_uid, user.pw_gid)
        self._run(
            _program("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        self.create_database(DATABASE)

    def create_database(self, name: str) -> str:
        """A new empty database in the cluster; its URL."""
        with psycopg.connect(self._admin_url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    def _admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _options(self) -> str:
        return (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=60"
        )

    def start(self) -> None:
        self._run(
            _program("pg_ctl"),
            "start",
            "-w",
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._options(),
        )

    def restart(self, mode: str) -> float:
        """``pg_ctl restart -m fast|immediate``; the seconds it took."""
        started = time.monotonic()
        self._run(
            _program("pg_ctl"),
            "restart",
            "-w",
            "-m",
            mode,
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            self._options(),
        )
        return time.monotonic() - started

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                _program("pg_ctl"),
                "stop",
                "-w",
                "-m",
                "immediate",
                "-D",
                str(self.data),
            )


@contextmanager
def private_cluster(parent: Path | None = None) -> Iterator[PrivateCluster]:
    """A running private cluster, stopped and deleted when the block ends."""
    folder = Path(tempfile.mkdtemp(prefix="hub-pg-", dir=parent))
    cluster = PrivateCluster(folder)
    try:
        cluster.create()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)


# --- the main job with the database restarting under it ------------------------

REPO = Path(__file__).resolve().parents[2]
RECORDED_AT = "2023-07-02T12:00:00Z"
BOARDS = ("restart_north", "restart_south")
# a table each stage after the crawl writes inside its transaction: the
# watcher holds a SHARE lock on it, so the stage's first write to it waits,
# and the restart lands in that open transaction however fast the stage is
HELD_TABLES = {"match": "matched_listings", "publish": "opportunity_search"}
STAGES = ("crawl", *HELD_TABLES)
RUN_TIMEOUT = 420


def write_restart_recording(folder: Path, postings: int) -> tuple[Path, Path]:
    """A WARC of two greenhouse boards sharing half their vacancies, and a
    registry naming them."""
    import io
    import json

    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    recording = folder / "restart.warc.gz"
    with recording.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for board_no, board in enumerate(BOARDS):
            jobs = [_posting(board, board_no, n) for n in range(postings)]
            body = json.dumps({"jobs": jobs}).encode()
            url = (
                f"https://boards-api.greenhouse.io/v1/boards/{board}/jobs?content=true"
            )
            headers = [("Content-Type", "application/json")]
            writer.write_record(
                writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=StatusAndHeaders("200 OK", headers, "HTTP/1.1"),
                    warc_headers_dict={"WARC-Date": RECORDED_AT},
                )
            )
    registry = folder / "sources.toml"
    registry.write_text(
        "".join(
            f'[[source]]\nname = "greenhouse_{board}"\nspider = "greenhouse"\n'
            f'provider_kind = "employer"\ntrust_rank = {20 + n}\n'
            f'attribution = "{board} careers."\nschedule = "0 7 * * 1"\n'
            f'enabled = true\n[source.args]\nboard = "{board}"\n'
            f'provider = "Restart Engineering"\n\n'
            for n, board in enumerate(BOARDS)
        ),
        encoding="utf-8",
    )
    return recording, registry


def _posting(board: str, board_no: int, number: int) -> dict[str, object]:
    # the first half of each board is the same vacancy on both boards
    shared = number < 0 or number % 2 == 0
    vacancy = number if shared else number * 10 + board_no
    places = ("Leeds LS1 4AP", "Bristol BS1 4DJ", "Derby DE1 2FS", "York YO1 7HH")
    return {
        "id": f"{board}-{number}",
        "title": f"Level 3 engineering apprenticeship {vacancy}",
        "absolute_url": f"https://careers.restart.example.org/{board}/{number}",
        "location": {"name": places[vacancy % len(places)]},
        "application_deadline": f"2023-08-{1 + vacancy % 28:02d}T12:00:00Z",
        "content": f"&lt;p&gt;Apprenticeship number {vacancy} in engineering&lt;/p&gt;",
        "company_name": "Restart Engineering",
    }


@dataclass
class JobRun:
    returncode: int
    output: str
    restarted_at: str | None = None
    restart_seconds: float | None = None


def run_main_job(
    database_url: str,
    folder: Path,
    recording: Path,
    registry: Path,
    restart: tuple[PrivateCluster, str, str] | None = None,
) -> JobRun:
    """``hub run --replay`` against ``database_url``; with ``restart`` given as
    (cluster, stage, mode), the cluster is restarted once that stage is seen
    running."""
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_REGISTRY": str(registry),
        "HUB_DATA_DIR": str(folder / "data"),
        "HUB_ALERT_WEBHOOK": "",
        "COLUMNS": "200",
    }
    env.pop("PREFECT_API_URL", None)
    out = folder / "job.log"
    with out.open("w") as handle:
        job = subprocess.Popen(
            [sys.executable, "-m", "hub", "run", "--replay", str(recording)],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
        result = JobRun(0, "")
        watcher = None
        if restart is not None:
            watcher = threading.Thread(
                target=_restart_when_seen,
                args=(job, database_url, *restart, result),
                daemon=True,
            )
            watcher.start()
        try:
            job.wait(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            job.kill()
            job.wait()
        if watcher is not None:
            watcher.join(timeout=60)
    result.returncode = job.returncode
    result.output = out.read_text(encoding="utf-8", errors="replace")
    return result


def _restart_when_seen(
    job: subprocess.Popen,
    database_url: str,
    cluster: PrivateCluster,
    stage: str,
    mode: str,
    result: JobRun,
) -> None:
    """Restart the cluster once ``stage`` is caught at work, unless the job ends
    first.

    A crawl is caught once its first batch landed. A later stage is held: once
    the crawl has stored (the schema is complete by then), a second connection
    takes a SHARE lock on the stage's table, and the stage is caught when its
    write waits on that lock, inside its open transaction, however fast the
    stage is. The restart ends the holding connection with the rest.
    """
    watcher = psycopg.connect(database_url, autocommit=True)
    holder = psycopg.connect(database_url)
    try:
        if _caught(job, watcher, holder, stage):
            result.restarted_at = stage
            result.restart_seconds = cluster.restart(mode)
    finally:
        for connection in (watcher, holder):
            with contextlib.suppress(psycopg.Error):
                connection.close()


def _caught(
    job: subprocess.Popen,
    watcher: psycopg.Connection,
    holder: psycopg.Connection,
    stage: str,
) -> bool:
    stored = "SELECT count(*) FROM listings"
    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query ILIKE %s"
    )
    table = HELD_TABLES.get(stage)
    held = False
    while job.poll() is None:
        try:
            if held:
                seen = watcher.execute(waiting, (f"%{table}%",)).fetchone()
                if seen and seen[0]:
                    return True
            elif (seen := watcher.execute(stored).fetchone()) and seen[0]:
                if table is None:
                    return True
                holder.execute(f"LOCK TABLE {table} IN SHARE MODE")
                held = True
        except psycopg.errors.UndefinedTable:
            holder.rollback()
        time.sleep(0.01)
    return False


def integrity_problems(database_url: str, completed: bool) -> list[str]:
    """Half-written state: a crawl run left running, a listing in two
    opportunities or (after a completed run) in none, a member of nothing."""
    checks = {
        "crawl runs left running": (
            "SELECT count(*) FROM crawl_runs WHERE status = 'running'"
        ),
        "listings in more than one opportunity": (
            "SELECT count(*) FROM (SELECT listing_id FROM opportunity_members "
            "GROUP BY listing_id HAVING count(*) > 1) AS doubled"
        ),
        "live opportunities without a member": (
            "SELECT count(*) FROM opportunities o WHERE o.state = 'live' AND NOT "
            "EXISTS (SELECT 1 FROM opportunity_members m "
            "WHERE m.opportunity_id = o.id)"
        ),
        "published documents of no live opportunity": (
            "SELECT count(*) FROM opportunity_search s JOIN opportunities o "
            "ON o.id = s.opportunity_id WHERE o.state NOT IN ('live', 'closed')"
        ),
    }
    if completed:
        checks["listings in no opportunity"] = (
            "SELECT count(*) FROM listings l WHERE NOT EXISTS "
            "(SELECT 1 FROM opportunity_members m WHERE m.listing_id = l.id)"
        )
    problems = []
    with psycopg.connect(database_url) as connection:
        for name, query in checks.items():
            count = connection.execute(query).fetchone()[0]
            if count:
                problems.append(f"{count} {name}")
    return problems


def end_state(database_url: str) -> dict[str, object]:
    """What a run leaves, free of ids and clocks: listings, the grouping of
    listings into opportunities, and the published set."""
    with psycopg.connect(database_url) as connection:
        listings = connection.execute(
            "SELECT s.name, l.source_key, l.content_hash, l.status FROM listings l "
            "JOIN sources s ON s.id = l.source_id"
        ).fetchall()
        members = connection.execute(
            "SELECT m.opportunity_id, s.name || '/' || l.source_key, o.state "
            "FROM opportunity_members m JOIN listings l ON l.id = m.listing_id "
            "JOIN sources s ON s.id = l.source_id "
            "JOIN opportunities o ON o.id = m.opportunity_id"
        ).fetchall()
        published = connection.execute(
            "SELECT count(*) FROM opportunity_search"
        ).fetchone()[0]
    groups: dict[str, set[str]] = {}
    for opportunity, key, state in members:
        groups.setdefault(f"{opportunity}", set()).add(f"{state}:{key}")
    return {
        "listings": sorted(tuple(row) for row in listings),
        "opportunities": sorted(sorted(group) for group in groups.values()),
        "published": published,
    }


def clean_failure(run: JobRun) -> bool:
    """A run that stopped with one error line of ours, not a traceback."""
    return (
        run.returncode != 0
        and "error:" in run.output
        and ("Traceback" not in run.output)
    )


@dataclass
class RestartCase:
    stage: str
    mode: str
    interrupted: JobRun
    problems: list[str]


def restart_case(
    cluster: PrivateCluster,
    folder: Path,
    recording: Path,
    registry: Path,
    baseline: dict[str, object],
    stage: str,
    mode: str,
) -> RestartCase:
    """One main-job run with a restart in ``stage``, then a run after it."""
    name = f"{stage}_{mode}_{free_port()}"
    url = cluster.create_database(name)
    (folder / name).mkdir()
    first = run_main_job(
        url, folder / name, recording, registry, (cluster, stage, mode)
    )
    problems = []
    if first.restarted_at is None:
        problems.append(f"{stage}: the run ended before the restart could happen")
    if first.returncode != 0 and not clean_failure(first):
        problems.append(
            f"{stage}/{mode}: failed without a clear error: {first.output[-800:]}"
        )
    problems += [
        f"{stage}/{mode} after the restart: {p}"
        for p in integrity_problems(url, first.returncode == 0)
    ]
    (folder / name / "again").mkdir()
    again = run_main_job(url, folder / name / "again", recording, registry)
    if again.returncode != 0:
        problems.append(f"{stage}/{mode}: the next run failed: {again.output[-800:]}")
    problems += [
        f"{stage}/{mode} after the next run: {p}" for p in integrity_problems(url, True)
    ]
    state = end_state(url)
    for part, expected in baseline.items():
        if state[part] != expected:
            problems.append(
                f"{stage}/{mode}: the next run's {part} differ from an "
                "uninterrupted run's"
            )
    return RestartCase(stage, mode, first, problems)


def baseline_state(
    cluster: PrivateCluster, folder: Path, recording: Path, registry: Path
) -> dict[str, object]:
    """The end state of one run that nothing interrupted."""
    url = cluster.create_database("baseline")
    (folder / "baseline").mkdir()
    run = run_main_job(url, folder / "baseline", recording, registry)
    if run.returncode != 0:
        raise RuntimeError(f"the uninterrupted run failed: {run.output[-2000:]}")
    return end_state(url)


def run_database_restart(folder: Path, seed: int, size: int) -> dict[str, object]:
    """The figures for the reliability report: every stage and restart mode,
    ``size`` rounds, on a private cluster (none when initdb is unusable)."""
    name = "database restart mid-run (crawl, match, publish; fast, immediate)"
    reason = unusable_reason()
    if reason:
        return {
            "name": name,
            "tried": 0,
            "survived": 0,
            "lost": [],
            "notes": [f"not run: {reason}"],
        }
    folder = Path(folder)
    postings = 300 + seed % 7 * 20
    recording, registry = write_restart_recording(folder, postings)
    cases: list[RestartCase] = []
    with private_cluster() as cluster:
        baseline = baseline_state(cluster, folder, recording, registry)
        for _ in range(size):
            for stage in STAGES:
                for mode in ("fast", "immediate"):
                    cases.append(
                        restart_case(
                            cluster, folder, recording, registry, baseline, stage, mode
                        )
                    )
    notes = [f"{len(BOARDS)} boards x {postings} postings, PostgreSQL 15 private"]
    notes += [
        f"{c.stage}/{c.mode}: "
        + (
            "retried and completed"
            if c.interrupted.returncode == 0
            else "failed cleanly"
        )
        + (
            f", restart took {c.interrupted.restart_seconds:.1f} s"
            if c.interrupted.restart_seconds
            else ""
        )
        for c in cases
    ]
    return {
        "name": name,
        "tried": len(cases),
        "survived": sum(1 for c in cases if not c.problems),
        "lost": [p for c in cases for p in c.problems],
        "notes": notes,
    }
