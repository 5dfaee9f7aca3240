"""A Prefect server and two process workers crawl replayed sources at once into
one PostgreSQL: no lost update, no integrity error, no doubled slot.

Slow (about two minutes): the server, two workers and three flow runs, each a
process of its own, on 127.0.0.1 only. Replays the shared recording's job
boards (employer family) and Civil Service Jobs (government family); NHS Jobs'
2,000 pages take minutes on their own, too long to run twice here.
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
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from storage.models import CrawlRun, Listing, OpportunityMember, Source
from storage.session import make_engine, session_factory

pytestmark = [pytest.mark.slow, pytest.mark.recording, pytest.mark.db]

REPO = Path(__file__).resolve().parents[2]
POOL = "hub-test"
DRIVER = """
import json, sys, time
from datetime import datetime, timezone
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

replay = sys.argv[1]
slot = datetime.now(timezone.utc).replace(microsecond=0)
plans = [
    ("scheduled-refresh/refresh-employer", "q1", {"family": "employer"}),
    ("scheduled-refresh/refresh-government", "q2",
     {"family": "government", "sources": ["civil_service_jobs"]}),
    ("scheduled-refresh/refresh-employer", "q2", {"family": "employer"}),
]
ids = []
for name, queue, params in plans:
    run = run_deployment(
        name, parameters={**params, "force": True, "replay": replay},
        scheduled_time=slot, timeout=0, work_queue_name=queue, as_subflow=False,
    )
    ids.append(run.id)
deadline = time.time() + 150
states = {}
with get_client(sync_client=True) as client:
    while time.time() < deadline:
        runs = [client.read_flow_run(i) for i in ids]
        states = {str(r.id): r.state.type.value for r in runs}
        if all(r.state.is_final() for r in runs):
            break
        time.sleep(2)
print(json.dumps({"ids": [str(i) for i in ids], "states": states}))
"""


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


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (set HUB_TEST_DATABASE_URL)")
    return database_url


@pytest.fixture
def cluster(
    postgres_url: str, tmp_path: Path, geo_dir: Path
) -> Iterator[tuple[dict[str, str], Path]]:
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_API_URL": api,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "DO_NOT_TRACK": "1",
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "PREFECT_WORKER_PREFETCH_SECONDS": "5",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "HUB_DATABASE_URL": postgres_url,
        "HUB_DATA_DIR": str(tmp_path / "data"),
        "HUB_GEO_DIR": str(geo_dir),
        "HUB_ALERT_WEBHOOK": "",
        "COLUMNS": "200",
    }
    prefect = str(Path(sys.executable).parent / "prefect")
    logs = tmp_path / "logs"
    logs.mkdir()
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

    try:
        server = start(
            "server", "server", "start", "--host", "127.0.0.1", "--port", str(port)
        )
        wait_healthy(api, server)
        subprocess.run(
            [prefect, "work-pool", "create", POOL, "--type", "process"],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=60,
        )
        for n, queue in ((1, "q1"), (2, "q2")):
            start(
                f"worker{n}",
                "worker",
                "start",
                "--pool",
                POOL,
                "--name",
                f"w{n}",
                "--work-queue",
                queue,
            )
        subprocess.run(
            [
                sys.executable,
                "-m",
                "hub.cli",
                "schedule",
                "--pool",
                POOL,
                "--cadence-hours",
                "0",
            ],
            cwd=REPO,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
        yield env, logs
    finally:
        for process in reversed(processes):
            stop(process)
        for handle in handles:
            handle.close()


def test_two_workers_crawl_at_once_with_no_lost_update(cluster, recording):
    env, logs = cluster

    driver = subprocess.run(
        [sys.executable, "-c", DRIVER, str(recording)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
    )

    assert driver.returncode == 0, driver.stderr[-3000:]
    result = json.loads(driver.stdout.strip().splitlines()[-1])
    states = [result["states"][i] for i in result["ids"]]
    worker_logs = "".join(p.read_text() for p in logs.glob("worker*.log"))
    employer, government, again = states
    assert government == "COMPLETED", worker_logs[-4000:]
    # one employer run for the slot works; the other is cancelled by the
    # deployment's limit (CANCEL_NEW) or, if it got that far, by the run lock
    assert "COMPLETED" in (employer, again), worker_logs[-4000:]
    assert {employer, again} <= {"COMPLETED", "CANCELLED"}, worker_logs[-4000:]
    assert "IntegrityError" not in worker_logs
    assert "UniqueViolation" not in worker_logs
    engine = make_engine(env["HUB_DATABASE_URL"])
    with session_factory(engine)() as session:
        counts = dict(
            session.execute(
                select(Source.name, func.count(Listing.id))
                .join(Listing, Listing.source_id == Source.id)
                .group_by(Source.name)
            ).all()
        )
        runs = dict(
            session.execute(
                select(Source.name, func.count(CrawlRun.id))
                .join(CrawlRun, CrawlRun.source_id == Source.id)
                .group_by(Source.name)
            ).all()
        )
        listings = session.scalar(select(func.count(Listing.id)))
        members = session.scalar(select(func.count(OpportunityMember.listing_id)))
        distinct = session.scalar(
            select(func.count(func.distinct(OpportunityMember.listing_id)))
        )
    engine.dispose()
    assert counts == {
        "civil_service_jobs": 50,
        "greenhouse_smarterdx": 2,
        "lever_palantir": 2,
        "ashby_openevidence": 2,
    }
    # one crawl per source: the duplicate slot crawled nothing
    assert set(runs.values()) == {1}
    # every listing sits in exactly one opportunity: both matchers' work landed
    assert members == distinct == listings
