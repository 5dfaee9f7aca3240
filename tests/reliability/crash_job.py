"""The main job (or ``hub publish``) as a process group the crash suite can
watch and kill: its output stamped as read, its processes from ``/proc``, the
listings it has stored, each stage's window, and a kill at a seeded point
inside one stage, judged afterwards for where it landed.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from storage.models import FeedChange, Listing
from storage.session import make_engine
from tests.reliability.crash_databases import Backend

REPO = Path(__file__).resolve().parents[2]
JOB_TIMEOUT = 900
SAMPLE_SECONDS = 0.05
PROBE_SECONDS = 3.0
# the log lines that open and close a stage of the main job
STAGE_LINES = {
    "match": (
        re.compile(r"for flow 'match'"),
        re.compile(r"dedupe\.adapter: Matched "),
    ),
    "publish": (
        re.compile(r"for flow 'publish'"),
        re.compile(r"prefect\.flow_runs: Finished in state"),
    ),
}


# --- the job as a process group -----------------------------------------------


@dataclass
class Sample:
    at: float
    crawl_children: int
    stored: int
    # feed changes committed so far: publishing's commit shows as a rise
    changes: int = 0


class Job:
    """``hub ARGS`` in a process group of its own, its output stamped as read."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "hub", *args],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[tuple[float, str]] = []
        self.seen: set[int] = set()
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def now(self) -> float:
        return time.monotonic() - self.started

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for line in self.proc.stdout:
                with self._changed:
                    self.lines.append((self.now(), line.rstrip("\n")))
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def line_at(self, pattern: re.Pattern[str], after: float = 0.0) -> float | None:
        with self._changed:
            return next(
                (t for t, line in self.lines if t >= after and pattern.search(line)),
                None,
            )

    def wait_line(
        self, pattern: re.Pattern[str], timeout: float, after: float = 0.0
    ) -> float | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next(
                    (t for t, ln in self.lines if t >= after and pattern.search(ln)),
                    None,
                )
                if found is not None or not self.alive():
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(min(left, 0.5))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def processes(self) -> dict[int, str]:
        """The live processes of the job's group: pid -> command line."""
        found = group_processes(self.proc.pid)
        self.seen |= set(found)
        return found

    def crawl_children(self) -> int:
        return sum(1 for cmd in self.processes().values() if "hub.crawl" in cmd)

    def kill(self) -> list[int]:
        """SIGKILL to the whole group; the pids seen in it that outlived it."""
        self.processes()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=60)
        self._reader.join(timeout=30)
        time.sleep(0.2)
        survivors = [pid for pid in sorted(self.seen) if _running(pid)]
        for pid in survivors:
            os.kill(pid, signal.SIGKILL)
        return survivors

    def finish(self, timeout: float = JOB_TIMEOUT) -> int:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise
        self._reader.join(timeout=30)
        return code

    def output(self) -> str:
        with self._changed:
            return "\n".join(line for _, line in self.lines)


def group_processes(pgid: int) -> dict[int, str]:
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[2]) != pgid or fields[0] == "Z":
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except (OSError, ValueError):
            continue
        found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace")
    return found


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2 :].split()[0] != "Z"


class Monitor:
    """Samples a main job's crawl children and stored listings as it runs."""

    def __init__(self, job: Job, url: str, before_run: int) -> None:
        self.job = job
        self.samples: list[Sample] = []
        self._engine = make_engine(url)
        self._before_run = before_run
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def stored(self) -> int:
        query = select(func.count()).where(Listing.seen_run_id > self._before_run)
        with self._engine.connect() as connection:
            return int(connection.scalar(query) or 0)

    def changes(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.scalar(select(func.count(FeedChange.change_no))) or 0)

    def _watch(self) -> None:
        while not self._stop.is_set() and self.job.alive():
            try:
                stored, changes = self.stored(), self.changes()
            except Exception:  # noqa: BLE001 - the database may be mid-migration
                stored, changes = -1, -1
            self.samples.append(
                Sample(self.job.now(), self.job.crawl_children(), stored, changes)
            )
            self._stop.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._engine.dispose()

    def wait(self, condition: Callable[[Sample], bool], timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.job.alive():
            for sample in list(self.samples):
                if condition(sample):
                    return sample.at
            time.sleep(SAMPLE_SECONDS / 2)
        return None


# --- stage windows ------------------------------------------------------------


@dataclass
class Windows:
    """Each stage's (start, end) in seconds from the job's start."""

    spans: dict[str, tuple[float, float]] = field(default_factory=dict)
    stored: int = 0

    def duration(self, stage: str) -> float:
        start, end = self.spans[stage]
        return max(end - start, SAMPLE_SECONDS)


def measure_windows(job: Job, monitor: Monitor) -> Windows:
    windows = Windows()
    crawling = [s.at for s in monitor.samples if s.crawl_children]
    if crawling:
        windows.spans["crawl"] = (crawling[0], crawling[-1])
    final = max((s.stored for s in monitor.samples), default=0)
    windows.stored = final
    storing = [s.at for s in monitor.samples if 0 < s.stored]
    full = [s.at for s in monitor.samples if s.stored == final]
    if storing and full:
        windows.spans["store"] = (storing[0], full[0])
    for stage, (opening, closing) in STAGE_LINES.items():
        start = job.line_at(opening)
        end = job.line_at(closing, after=start) if start is not None else None
        if start is not None and end is not None:
            windows.spans[stage] = (start, end)
    if "publish" in windows.spans:
        windows.spans["publish"] = _until_committed(monitor, *windows.spans["publish"])
    return windows


def _until_committed(monitor: Monitor, start: float, end: float) -> tuple[float, float]:
    """Publishing from its first line to its commit (the feed's changes rise),
    which comes well before its last line."""
    before = [s.changes for s in monitor.samples if s.at <= start]
    if not before:
        return start, end
    committed = next(
        (s.at for s in monitor.samples if s.at > start and s.changes > before[-1]),
        end,
    )
    return start, committed


# --- kills --------------------------------------------------------------------


@dataclass
class Kill:
    stage: str
    fraction: float
    at: float | None = None  # seconds after the stage started
    landed: bool = False
    note: str = ""
    survivors: list[int] = field(default_factory=list)


def kill_in_stage(
    job: Job,
    monitor: Monitor | None,
    backend: Backend,
    url: str,
    kill: Kill,
    windows: Windows,
    static_out: Path | None = None,
) -> Kill:
    """Wait for the stage, then its seeded fraction of the window; then kill."""
    before = _link(static_out)
    start = stage_start(job, monitor, kill.stage, static_out)
    if start is None:
        kill.note = "the stage never started"
        kill.survivors = job.kill()
        return kill
    target = start + kill.fraction * windows.duration(kill.stage)
    time.sleep(max(0.0, target - job.now()))
    busy = False
    if kill.stage == "store":
        deadline = time.monotonic() + PROBE_SECONDS
        while time.monotonic() < deadline and not busy:
            busy = backend.writer_busy(url)
            time.sleep(0 if busy else 0.001)
    signs = _signs(job, monitor, static_out)
    kill.at = job.now() - start
    kill.survivors = job.kill()
    signs["link_before"] = before
    kill.landed, kill.note = _judge(job, kill.stage, signs, busy, windows, start)
    return kill


def _link(out: Path | None) -> str | None:
    return os.readlink(out) if out is not None and out.is_symlink() else None


def stage_start(
    job: Job, monitor: Monitor | None, stage: str, static_out: Path | None
) -> float | None:
    if stage in STAGE_LINES:
        return job.wait_line(STAGE_LINES[stage][0], JOB_TIMEOUT)
    if stage == "static":
        assert static_out is not None
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline and job.alive():
            if any(static_out.parent.glob(f"{static_out.name}.tmp-*")):
                return job.now()
            time.sleep(0.005)
        return None
    assert monitor is not None
    if stage == "crawl":
        return monitor.wait(lambda s: s.crawl_children > 0, JOB_TIMEOUT)
    return monitor.wait(lambda s: s.stored > 0, JOB_TIMEOUT)


def _signs(
    job: Job, monitor: Monitor | None, static_out: Path | None
) -> dict[str, Any]:
    signs: dict[str, Any] = {"crawl_children": job.crawl_children()}
    if monitor is not None:
        signs["stored"] = monitor.stored()
    if static_out is not None:
        signs["link"] = _link(static_out)
        signs["writing"] = any(static_out.parent.glob(f"{static_out.name}.tmp-*"))
    return signs


def _judge(
    job: Job,
    stage: str,
    signs: dict[str, Any],
    busy: bool,
    windows: Windows,
    start: float,
) -> tuple[bool, str]:
    if stage in STAGE_LINES:
        ended = job.line_at(STAGE_LINES[stage][1], after=start) is not None
        return (not ended, "after the stage's last line" if ended else "inside")
    if stage == "crawl":
        inside = signs["crawl_children"] > 0
        return inside, "a crawl child was running" if inside else "no crawl child left"
    if stage == "store":
        partial = 0 < signs["stored"] < windows.stored
        if not signs["crawl_children"]:
            return False, "no crawl child left"
        if busy:
            return True, "inside a write transaction"
        return partial, "between write transactions" if partial else "not storing"
    if signs["link"] != signs["link_before"]:
        return False, "after the new folder was swapped in"
    if signs["writing"]:
        return True, "while writing the new folder"
    return True, "after the folder was written, before the swap"
