"""kill -9 at seeded points inside the main job's stages, then check and recover.

An experiment restores the database as runs of editions 0 and 1 of the crash
corpus left it (:mod:`tests.reliability.crash_corpus`), starts ``hub run
--replay`` on edition 2 as a process group of its own
(:mod:`tests.reliability.crash_job`), and sends the group SIGKILL at a seeded
random point inside one stage:

- ``crawl``: while a crawl child (``python -m hub.crawl``) runs;
- ``store``: while the crawl children store listings, inside a write
  transaction where one can be caught;
- ``match`` and ``publish``: between the stage's first and last log line;
- ``static``: ``hub publish --out`` while it writes its new folder.

No hook in the product says where it is. The driver reads what an operator
could: the job's log lines (``hub -v`` with Prefect's INFO lines), the
processes of the group (``/proc``), the listings the run has stored so far,
and whether a writer holds the database (SQLite: ``BEGIN IMMEDIATE`` refused;
PostgreSQL: a backend of the job's ``application_name`` in a writing
transaction; :mod:`tests.reliability.crash_databases`). An uninterrupted
calibration run measures each stage's
window; a kill waits for the stage to start, then a seeded fraction of that
window. Whether the kill landed inside the stage is judged afterwards, from
the same signs, and reported.

After the kill: the integrity checks (:mod:`storage.integrity`; pending work
is allowed, problems are not), then the same job again to its end, then the
settled checks and the end state against the calibration run's
(:mod:`tests.reliability.crash_state`).

    python -m tests.reliability.crash [--runs 20] [--backends sqlite,postgresql]
        [--stages crawl,store,match,publish,static] [--seed N] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.integrity import (
    Problem,
    check_database,
    check_published_folder,
    list_pending,
)
from storage.models import CrawlRun, Source
from storage.models_health import CrawlHealth
from storage.session import make_engine, session_factory
from tests.reliability.crash_corpus import build_crash_corpus
from tests.reliability.crash_databases import Backend, PostgresBackend, make_backend
from tests.reliability.crash_job import (
    Job,
    Kill,
    Monitor,
    Windows,
    kill_in_stage,
    measure_windows,
    stage_start,
)
from tests.reliability.crash_state import (
    differences,
    end_state,
    list_opportunity_ids,
)

REPO = Path(__file__).resolve().parents[2]
GEO_DIR = REPO.parent / "shared" / "data" / "geo"
STAGES = ("crawl", "store", "match", "publish", "static")
STATIC_PAGE_SIZE = 10


# --- one experiment -----------------------------------------------------------


@dataclass
class Outcome:
    backend: str
    stage: str
    index: int
    kill: Kill
    after_kill: list[Problem] = field(default_factory=list)
    pending: Counter[str] = field(default_factory=Counter)
    recovery_code: int | None = None
    settled: list[Problem] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    seconds: float = 0.0
    # the interrupted job's crawl runs as the kill left them
    runs: list[str] = field(default_factory=list)

    @property
    def sound(self) -> bool:
        return (
            not self.after_kill
            and not self.settled
            and not self.differences
            and self.recovery_code == 0
            and not self.kill.survivors
        )

    def faults(self) -> list[str]:
        found = [f"after the kill: {p}" for p in self.after_kill]
        if self.kill.survivors:
            found.append(f"processes outlived the kill: {self.kill.survivors}")
        if self.recovery_code != 0:
            found.append(f"the next run exited {self.recovery_code}")
        found += [f"after the next run: {p}" for p in self.settled]
        found += [f"end state: {d}" for d in self.differences]
        if self.differences:
            found.append("the interrupted job's crawl runs: " + "; ".join(self.runs))
        return found


class Bench:
    """A corpus, a backend, the first edition's database and a calibration run."""

    def __init__(self, folder: Path, backend: Backend, seed: int) -> None:
        self.folder = folder
        self.backend = backend
        self.seed = seed
        corpus_dir = folder / "corpus"
        corpus_dir.mkdir(parents=True, exist_ok=True)
        self.editions = build_crash_corpus(seed).write(corpus_dir)
        self.registry = corpus_dir / "sources.toml"
        self.data_dir = folder / "data"
        self.urls: list[str] = []
        self.before_url = ""
        self.before_ids: set[str] = set()
        self.before_run = 0
        self.reference_url = ""
        self.reference: dict[str, Any] = {}
        self.windows = Windows()
        self.static_windows = Windows()
        self.static_reference: Path | None = None

    def env(self, url: str) -> dict[str, str]:
        env = {
            **os.environ,
            "HUB_DATABASE_URL": url,
            "HUB_DATA_DIR": str(self.data_dir),
            "HUB_REGISTRY": str(self.registry),
            "HUB_GEO_DIR": str(GEO_DIR),
            "HUB_MAX_PARALLEL_CRAWLS": "3",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "COLUMNS": "200",
        }
        env.pop("PREFECT_API_URL", None)
        return env

    def main_job(self, url: str, edition: int) -> Job:
        return Job(
            ["-v", "run", "--replay", str(self.editions[edition])], self.env(url)
        )

    def publish_job(self, url: str, out: Path) -> Job:
        args = ["publish", "--out", str(out), "--page-size", str(STATIC_PAGE_SIZE)]
        return Job(args, self.env(url))

    def run_to_end(self, url: str, edition: int) -> Job:
        job = self.main_job(url, edition)
        code = job.finish()
        if code != 0:
            raise RuntimeError(f"hub run exited {code}:\n{job.output()[-3000:]}")
        return job

    def new_database(self) -> str:
        url = self.backend.new()
        self.urls.append(url)
        return url

    def copy_database(self, url: str) -> str:
        copied = self.backend.copy(url)
        self.urls.append(copied)
        return copied

    def prepare(self) -> None:
        """The first edition's database, then the calibration run from it."""
        self.before_url = self.new_database()
        self.run_to_end(self.before_url, 0)
        self.run_to_end(self.before_url, 1)
        self.before_ids = list_opportunity_ids(self.before_url)
        self.before_run = _last_run(self.before_url)
        self.reference_url = self.copy_database(self.before_url)
        job = self.main_job(self.reference_url, 2)
        monitor = Monitor(job, self.reference_url, self.before_run)
        code = job.finish()
        monitor.stop()
        if code != 0:
            raise RuntimeError(
                f"calibration run exited {code}:\n{job.output()[-3000:]}"
            )
        self.windows = measure_windows(job, monitor)
        self.reference = end_state(self.reference_url, self.before_ids)
        self._calibrate_static()

    def _calibrate_static(self) -> None:
        out = self.folder / "reference-site" / "feed"
        out.parent.mkdir(parents=True)
        job = self.publish_job(self.reference_url, out)
        start = stage_start(job, None, "static", out)
        while job.alive() and not out.is_symlink():
            time.sleep(0.005)
        swapped = job.now()
        code = job.finish()
        if code != 0 or start is None:
            raise RuntimeError(f"hub publish exited {code}:\n{job.output()[-3000:]}")
        # from the new folder's start to the link's swap
        self.static_windows.spans["static"] = (start, swapped)
        self.static_reference = out.resolve()

    def experiment(self, stage: str, index: int, earlier: float = 1.0) -> Outcome:
        """Kill number ``index`` of ``stage``, at its seeded fraction of the
        stage's window times ``earlier`` (below 1 when a kill came too late)."""
        rng = random.Random(f"{self.seed}:{self.backend.kind}:{stage}:{index}")
        kill = Kill(stage, rng.random() * earlier)
        started = time.monotonic()
        if stage == "static":
            outcome = self._static_experiment(index, kill)
        else:
            outcome = self._main_experiment(index, kill)
        outcome.seconds = time.monotonic() - started
        return outcome

    def _main_experiment(self, index: int, kill: Kill) -> Outcome:
        url = self.copy_database(self.before_url)
        outcome = Outcome(self.backend.kind, kill.stage, index, kill)
        try:
            job = self.main_job(url, 2)
            monitor = Monitor(job, url, self.before_run)
            try:
                kill_in_stage(job, monitor, self.backend, url, kill, self.windows)
            finally:
                monitor.stop()
            self.backend.settle(url)
            outcome.after_kill, pending = _checked(url)
            outcome.pending = Counter(p.kind for p in pending)
            _confirm(kill, outcome.pending)
            outcome.runs = _runs_after(url, self.before_run)
            recovery = self.main_job(url, 2)
            outcome.recovery_code = recovery.finish()
            outcome.settled = _checked(url, settled=True)[0]
            outcome.differences = differences(
                self.reference, end_state(url, self.before_ids)
            )
        finally:
            self.backend.drop(url)
            self.urls.remove(url)
        return outcome

    def _static_experiment(self, index: int, kill: Kill) -> Outcome:
        out = self.folder / f"site-{index}-{uuid.uuid4().hex[:6]}" / "feed"
        out.parent.mkdir(parents=True)
        outcome = Outcome(self.backend.kind, "static", index, kill)
        first = self.publish_job(self.reference_url, out)
        if first.finish() != 0:
            raise RuntimeError(f"hub publish failed:\n{first.output()[-3000:]}")
        job = self.publish_job(self.reference_url, out)
        kill_in_stage(
            job, None, self.backend, self.reference_url, kill, self.static_windows, out
        )
        found = check_published_folder(out)
        outcome.after_kill = [p for p in found if not p.pending]
        outcome.pending = Counter(p.kind for p in found if p.pending)
        again = self.publish_job(self.reference_url, out)
        outcome.recovery_code = again.finish()
        outcome.settled = check_published_folder(out)
        assert self.static_reference is not None
        outcome.differences = folder_differences(self.static_reference, out.resolve())
        return outcome

    def close(self) -> None:
        for url in list(self.urls):
            self.backend.drop(url)
        self.urls.clear()


# a stage's work the database shows undone when a kill came before its commit
# (edition 2 brings new listings to match and changed records to publish)
UNDONE = {"match": "awaiting_match", "publish": "awaiting_publish"}


def _confirm(kill: Kill, pending: Counter[str]) -> None:
    """A kill the log placed inside match or publish landed there only if the
    stage's transaction did not commit (the last log line comes later)."""
    if kill.landed and kill.stage in UNDONE and not pending[UNDONE[kill.stage]]:
        kill.landed, kill.note = False, "after the stage committed"


def _runs_after(url: str, before_run: int) -> list[str]:
    """Each crawl run after ``before_run``: source, status, verdict, error."""
    query = (
        select(Source.name, CrawlRun.status, CrawlHealth.verdict, CrawlRun.error)
        .join(Source, Source.id == CrawlRun.source_id)
        .outerjoin(CrawlHealth, CrawlHealth.run_id == CrawlRun.id)
        .where(CrawlRun.id > before_run)
        .order_by(CrawlRun.id)
    )
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return [
                f"{name} {status} ({verdict}){f': {error}' if error else ''}"
                for name, status, verdict, error in connection.execute(query)
            ]
    finally:
        engine.dispose()


def _last_run(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.scalar(select(func.max(CrawlRun.id))) or 0)
    finally:
        engine.dispose()


def _checked(url: str, *, settled: bool = False) -> tuple[list[Problem], list[Problem]]:
    """The problems found, and the pending work (counted as problems if
    ``settled``)."""
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return check_database(session, settled=settled), list_pending(session)
    finally:
        engine.dispose()


def folder_differences(reference: Path, folder: Path) -> list[str]:
    """Files that differ between two published folders (aside from when each
    was published: ``generated`` and the times positions were given out)."""
    found = []
    names = {p.relative_to(reference) for p in reference.rglob("*") if p.is_file()}
    others = {p.relative_to(folder) for p in folder.rglob("*") if p.is_file()}
    for name in sorted(names ^ others):
        found.append(f"{name} is only in {'the reference' if name in names else 'one'}")
    for name in sorted(names & others):
        expected, got = (reference / name).read_bytes(), (folder / name).read_bytes()
        if name.name == "index.json":
            expected, got = _without_stamp(expected), _without_stamp(got)
        if name.name == "positions.json":
            expected, got = _positions_only(expected), _positions_only(got)
        if expected != got:
            found.append(f"{name} differs")
    return found


def _without_stamp(data: bytes) -> bytes:
    return re.sub(rb'"generated": "[^"]*"', b"", data)


def _positions_only(data: bytes) -> bytes:
    """A positions list without the times each was given out."""
    listed = json.loads(data)["positions"]
    return json.dumps([entry[:2] for entry in listed]).encode()


# --- the campaign -------------------------------------------------------------


def campaign(
    folder: Path, kinds: list[str], stages: list[str], runs: int, seed: int
) -> list[Outcome]:
    outcomes = []
    for kind in kinds:
        backend = make_backend(kind, folder / kind)
        (folder / kind).mkdir(parents=True, exist_ok=True)
        bench = Bench(folder / kind, backend, seed)
        try:
            started = time.monotonic()
            bench.prepare()
            _say(
                f"{kind}: prepared in {time.monotonic() - started:.0f} s; windows "
                + ", ".join(
                    f"{k} {v[0]:.1f}-{v[1]:.1f} s"
                    for k, v in bench.windows.spans.items()
                )
            )
            for index in range(runs):
                for stage in stages:
                    outcome = bench.experiment(stage, index)
                    outcomes.append(outcome)
                    _say(_line(outcome))
        finally:
            bench.close()
            if isinstance(backend, PostgresBackend):
                backend.close()
    return outcomes


def _line(outcome: Outcome) -> str:
    kill = outcome.kill
    where = f"at +{kill.at:.2f} s" if kill.at is not None else "never"
    verdict = "sound" if outcome.sound else "FAULT: " + " | ".join(outcome.faults()[:4])
    pending = ", ".join(f"{k} {v}" for k, v in sorted(outcome.pending.items()))
    return (
        f"{outcome.backend} {outcome.stage} #{outcome.index}: f={kill.fraction:.2f} "
        f"{where} ({'in' if kill.landed else 'OUT'}: {kill.note}); "
        f"pending [{pending}]; {outcome.seconds:.0f} s; {verdict}"
    )


def _say(text: str) -> None:
    print(text, flush=True)


def summary(outcomes: list[Outcome]) -> str:
    """The campaign as a markdown table, and every fault found."""
    rows = [
        "| backend | stage | runs | landed inside | notes | sound |",
        "| --- | --- | ---: | ---: | --- | ---: |",
    ]
    groups: dict[tuple[str, str], list[Outcome]] = {}
    for outcome in outcomes:
        groups.setdefault((outcome.backend, outcome.stage), []).append(outcome)
    for (kind, stage), group in groups.items():
        notes = Counter(o.kill.note for o in group)
        rows.append(
            f"| {kind} | {stage} | {len(group)} | "
            f"{sum(o.kill.landed for o in group)} | "
            + "; ".join(f"{n} {k}" for k, n in notes.most_common())
            + f" | {sum(o.sound for o in group)} |"
        )
    faults = [
        f"- {o.backend} {o.stage} #{o.index}: {f}" for o in outcomes for f in o.faults()
    ]
    return "\n".join(
        rows + ["", "Faults:" if faults else "Faults: none.", *faults[:200]]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="Kills per stage.")
    parser.add_argument(
        "--backends", default="sqlite,postgresql", help="Comma-separated."
    )
    parser.add_argument("--stages", default=",".join(STAGES), help="Comma-separated.")
    parser.add_argument("--seed", type=int, default=20261204, help="The seed.")
    parser.add_argument("--out", type=Path, help="Write the summary here too.")
    args = parser.parse_args(argv)
    # stopped by SIGTERM: still drop the databases and folders made so far
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="hub-crash-") as folder:
        outcomes = campaign(
            Path(folder),
            args.backends.split(","),
            args.stages.split(","),
            args.runs,
            args.seed,
        )
    report = summary(outcomes)
    print(report)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")
    return 0 if all(o.sound for o in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
