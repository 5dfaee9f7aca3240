"""The reliability suite at full size; writes RELIABILITY.md.

    python benchmarks/reliability.py [--quick] [--pages 10000] [--seed N]
        [--fuzz-seconds 60] [--examples 200] [--runs 20] [--out RELIABILITY.md]

1. hostile crawl: ``--pages`` seeded hostile pages and board documents in a
   WARC of our own, replayed through every spider of the corpus and every
   pipeline (store into a temporary SQLite file), one ``hub.crawl`` child per
   source; 2. the normalisers under atheris for ``--fuzz-seconds``; 3. the
   feed app: script payloads in every field through every output, every
   filter given hostile values, and schemathesis against /openapi.json;
   4. static publishing of path-shaped ids and fields; 5. faults: kill -9 at
   ``--runs`` seeded points inside each of crawl, store, match and publish, on
   each database; source outages from loopback servers over three runs;
   concurrent writers and two Prefect workers (``ROUNDS`` each); the database
   restarting mid-run, once in each stage and mode; 6. the review pages'
   guards and the live crawl's address guard, as their test files count them.
   Each check says what was tried, what survived and what was lost; the
   command exits 1 when anything was lost. ``--quick`` is the short version CI runs.

PostgreSQL cases run when ``HUB_TEST_DATABASE_URL`` names a server.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub.web.static import write_static  # noqa: E402
from storage.session import make_engine, migrate, session_factory  # noqa: E402
from tests.reliability.concurrency import run_concurrency  # noqa: E402
from tests.reliability.crash import STAGES, campaign  # noqa: E402
from tests.reliability.hostile import build_corpus  # noqa: E402
from tests.reliability.openapi_fuzz import fuzz_openapi  # noqa: E402
from tests.reliability.outages import outage_figures  # noqa: E402
from tests.reliability.pgcluster import run_database_restart  # noqa: E402
from tests.reliability.replay import judge, replay_corpus  # noqa: E402
from tests.reliability.web_client import (  # noqa: E402
    SCRIPT,
    TYPED,
    fetch,
    filter_cases,
    filter_params,
    hostile_feed,
)
from tests.reliability.workers import run_server_workers  # noqa: E402
from tests.web.feed_builders import FeedDb, golden  # noqa: E402

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
JSON_OUTPUTS = (
    "/opportunities?in_scope=any&limit=100",
    "/feed?limit=500",
    "/export.jsonl",
    "/export.jsonld",
    "/export.openreferral.json",
    "/feed.json",
)
PATH_SHAPED = ("../../etc/x", "/etc/passwd", "a\x00b", "..\\..\\x", "feed/../../y")


@dataclass
class Check:
    name: str
    tried: int
    survived: int
    lost: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def crawl_check(folder: Path, seed: int, pages: int) -> Check:
    started = time.monotonic()
    corpus = build_corpus(seed, pages, boards=6, postings=100, large=5)
    database_url, runs = replay_corpus(corpus, folder)
    verdict = judge(corpus, database_url, runs)
    kinds = ", ".join(f"{k} {v}" for k, v in corpus.kinds().items())
    lost = _grouped(verdict.problems)
    notes = [
        f"{len(corpus.pages)} responses in the WARC ({kinds})",
        f"{len(runs)} crawl children; {verdict.stored} listings stored; "
        f"{verdict.expected} planted listings that must survive",
        *[_run_line(run.source, run.stats) for run in runs],
    ]
    return Check(
        "hostile crawl (every spider and pipeline)",
        verdict.expected,
        verdict.survived,
        lost,
        notes,
        time.monotonic() - started,
    )


def _run_line(source: str, stats: dict[str, Any]) -> str:
    drops = {k[8:]: v for k, v in stats.items() if k.startswith("dropped/")}
    errors = {
        k[18:]: v
        for k, v in stats.items()
        if k.startswith("spider_exceptions/") and k != "spider_exceptions/count"
    }
    return (
        f"{source}: responses {stats.get('downloader/response_count', 0)}, "
        f"scraped {stats.get('item_scraped_count', 0)}, dropped {drops or 0}, "
        f"spider exceptions {errors or 0}"
    )


def _grouped(problems: list[str], examples: int = 3) -> list[str]:
    """Problems of one kind counted together, with a few examples each."""
    groups: dict[str, list[str]] = {}
    for problem in problems:
        key = _problem_kind(problem)
        if key:
            groups.setdefault(key, []).append(problem)
    return [
        f"{key} (x{len(items)}), e.g. " + " ; ".join(i[:300] for i in items[:examples])
        for key, items in groups.items()
    ]


def _problem_kind(problem: str) -> str | None:
    source, _, rest = problem.partition(": ")
    if source in ("lost", "status"):
        return f"{source}: {rest.split(' ')[0]}"
    if "spider_exceptions/" in rest:
        return None  # the ERROR lines below say the same, with the exception
    if "ERROR log line" in rest:
        causes = [c.split(" -> ", 1)[-1] for c in rest.split(" | ")]
        return "unhandled: " + causes[0].split(":")[0][:80]
    return rest[:80]


def fuzz_check(folder: Path, seconds: int) -> Check:
    started = time.monotonic()
    report = folder / "fuzz.json"
    subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "fuzz_normalisers.py"),
            "--report",
            str(report),
            f"-max_total_time={seconds}",
            "-max_len=1024",
            "-rss_limit_mb=2048",
        ],
        capture_output=True,
        timeout=seconds + 120,
        cwd=REPO,
    )
    if not report.exists():
        return Check(
            "atheris over the normalisers", 0, 0, ["the fuzzer wrote no report"]
        )
    data = json.loads(report.read_text(encoding="utf-8"))
    lost = [
        f"{key} x{found['count']}: {found['detail']} <- {found['input'][:120]!r}"
        for key, found in sorted(data["findings"].items())
    ]
    bad = sum(found["count"] for found in data["findings"].values())
    return Check(
        "atheris over the normalisers",
        data["calls"],
        data["calls"] - bad,
        lost,
        [f"{data['inputs']} inputs, {data['calls']} calls, {data['seconds']} s"],
        time.monotonic() - started,
    )


def outputs_check(app: Any, records: int) -> Check:
    started = time.monotonic()
    lost: list[str] = []
    for path in JSON_OUTPUTS:
        answer = fetch(app, path)
        if answer.status != 200 or "html" in answer.headers["content-type"]:
            lost.append(f"{path}: {answer.status} {answer.headers['content-type']}")
        elif SCRIPT not in answer.text and "\\u003cscript" not in answer.text:
            lost.append(f"{path}: the payload did not survive as data")
    lost += _atom_problems(fetch(app, "/feed.atom").text, records)
    rows = list(csv.reader(io.StringIO(fetch(app, "/export.csv").text)))
    formulas = [c for row in rows for c in row if c.startswith(FORMULA_START)]
    lost += [f"CSV formula cell {c[:60]!r}" for c in formulas[:5]]
    tried = len(JSON_OUTPUTS) + 2
    return Check(
        "scripts and formulas in every output field",
        tried,
        tried - len(lost),
        lost,
        [f"{records} hostile opportunities; CSV rows {len(rows) - 1}"],
        time.monotonic() - started,
    )


def _atom_problems(text: str, records: int) -> list[str]:
    try:
        root = ET.fromstring(text.encode())
    except ET.ParseError as exc:
        return [f"Atom is not well-formed XML: {exc}"]
    atom = "{http://www.w3.org/2005/Atom}"
    entries = len(list(root.iter(f"{atom}entry")))
    foreign = {e.tag for e in root.iter() if not e.tag.startswith(atom)}
    problems = [f"Atom holds injected elements {sorted(foreign)}"] if foreign else []
    if entries != records:
        problems.append(f"Atom has {entries} entries of {records}")
    return problems


def filters_check(app: Any) -> Check:
    started = time.monotonic()
    cases = filter_cases()
    lost = []
    statuses: Counter[int] = Counter()
    for path, name, value in cases:
        status = fetch(app, path, filter_params(path, name, value)).status
        statuses[status] += 1
        if status >= 500 or (name in TYPED and not 400 <= status < 500):
            lost.append(f"{path}?{name}={value[:40]!r} -> {status}")
    return Check(
        "hostile filter values (4xx, never 500)",
        len(cases),
        len(cases) - len(lost),
        lost,
        [f"statuses {dict(sorted(statuses.items()))}"],
        time.monotonic() - started,
    )


def openapi_check(app: Any, examples: int) -> Check:
    started = time.monotonic()
    result = fuzz_openapi(app, max_examples=examples)
    lost = [f"{label}: {s} for {q}" for label, (s, q) in result.server_errors.items()]
    lost += [
        f"{label}: unlike its description, {d}"
        for label, d in result.unlike_described.items()
    ]
    fives = sum(n for s, n in result.statuses.items() if s >= 500)
    return Check(
        "schemathesis against /openapi.json (no 500, answers as described)",
        result.calls,
        result.calls - fives - len(result.unlike_described),
        lost,
        [
            f"{result.operations} operations, up to {examples} examples each; "
            f"statuses {dict(sorted(result.statuses.items()))}"
        ],
        time.monotonic() - started,
    )


def static_check(folder: Path) -> Check:
    started = time.monotonic()
    database_url = f"sqlite:///{folder / 'static.sqlite'}"
    engine = make_engine(database_url)
    migrate(engine)
    feed_db = FeedDb(database_url, session_factory(engine))
    for number, shape in enumerate(PATH_SHAPED):
        record = golden(shape, provider_name=shape, sources=[f"s{number}"])
        feed_db.add(shape, record)
    feed_db.publish()
    sandbox = folder / "sandbox"
    sandbox.mkdir()
    before = {p for p in folder.rglob("*")}
    summary = write_static(feed_db.factory, sandbox / "out" / "site", page_size=2)
    written = {p for p in folder.rglob("*")} - before
    version = summary.folder.resolve()
    outside = [
        str(p)
        for p in written
        if p.is_file() and not p.resolve().is_relative_to(version)
    ]
    engine.dispose()
    return Check(
        "static publishing of path-shaped ids and fields",
        len(PATH_SHAPED),
        summary.items if not outside else 0,
        outside,
        [f"{len(written)} paths written, all under {version.name}"],
        time.monotonic() - started,
    )


def render(checks: list[Check], args: argparse.Namespace, seconds: float) -> str:
    lines = [
        "# Reliability",
        "",
        "Generated by `python benchmarks/reliability.py"
        f"{' --quick' if args.quick else ''}` "
        f"(seed {args.seed}, {args.pages} pages, fuzz {args.fuzz_seconds} s, "
        f"{args.examples} schemathesis examples per operation, {args.runs} kills "
        f"per stage and database) in {seconds:.0f} s.",
        "The goal: nothing lost.",
        "",
        "| check | tried | survived | lost | problems | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for check in checks:
        lines.append(
            f"| {check.name} | {check.tried} | {check.survived} | "
            f"{check.tried - check.survived} | {len(check.lost)} | "
            f"{check.seconds:.0f} |"
        )
    for check in checks:
        lines += ["", f"## {check.name}", ""]
        lines += [f"- {_md(note)}" for note in check.notes]
        lines += ["", "Lost:" if check.lost else "Lost: nothing."]
        lines += [f"- {_md(item)}" for item in check.lost]
    return "\n".join(lines) + "\n"


def _md(text: str) -> str:
    cleaned = "".join(c if c >= " " else f"\\x{ord(c):02x}" for c in text)
    return cleaned.replace("|", "\\|").replace("<", "&lt;")


def figures_check(run: Callable[[Path, int, int], dict[str, Any]], *args: Any) -> Check:
    """A fault check that reports its own figures (tried, survived, lost)."""
    started = time.monotonic()
    try:
        found = run(*args)
    except Exception as exc:  # noqa: BLE001 - a check that breaks is a finding
        name = getattr(run, "__name__", "a check")
        return Check(name, 1, 0, [f"the check itself failed: {exc!r}"[:500]])
    return Check(
        found["name"],
        found["tried"],
        found["survived"],
        list(found["lost"]),
        list(found["notes"]),
        time.monotonic() - started,
    )


def pytest_check(name: str, folder: Path, *tests: str) -> Check:
    """Checks kept as test files: each test case tried, each pass survived."""
    started = time.monotonic()
    report = folder / f"{len(list(folder.iterdir()))}.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--junitxml={report}", *tests],
        cwd=REPO, capture_output=True, timeout=1800,
    )  # fmt: skip
    if not report.exists():
        return Check(name, 1, 0, ["pytest wrote no report"])
    cases = list(ET.parse(report).getroot().iter("testcase"))
    lost, skipped = [], 0
    for case in cases:
        failed = case.find("failure")
        if failed is None:
            failed = case.find("error")
        if case.find("skipped") is not None:
            skipped += 1
        elif failed is not None:
            lost.append(f"{case.get('name')}: {(failed.get('message') or '')[:200]}")
    tried = len(cases) - skipped
    notes = [f"{len(cases)} test cases in {', '.join(tests)}; {skipped} skipped"]
    seconds = time.monotonic() - started
    return Check(name, tried, tried - len(lost), lost, notes, seconds)


QUICK = {"pages": 300, "fuzz_seconds": 10, "examples": 20, "runs": 1, "records": 50}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="The short version.")
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--fuzz-seconds", type=int, default=60)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument(
        "--runs", type=int, default=20, help="Kills per stage and database."
    )
    parser.add_argument("--out", type=Path, default=REPO / "RELIABILITY.md")
    args = parser.parse_args()
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hub-reliability-") as name:
        folder = Path(name)
        for sub in ("crawl", "fuzz", "feed", "static", "faults", "tests"):
            (folder / sub).mkdir()
        checks = [crawl_check(folder / "crawl", args.seed, args.pages)]
        checks.append(fuzz_check(folder / "fuzz", args.fuzz_seconds))
        feed = hostile_feed(folder / "feed", args.records)
        app = next(feed)
        checks.append(outputs_check(app, args.records))
        checks.append(filters_check(app))
        checks.append(openapi_check(app, args.examples))
        next(feed, None)
        checks.append(static_check(folder / "static"))
        checks += fault_checks(folder / "faults", args.seed, args.runs)
        checks += guard_checks(folder / "tests")
    text = render(checks, args, time.monotonic() - started)
    args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    sys.exit(1 if any(check.lost for check in checks) else 0)


def fault_checks(folder: Path, seed: int, runs: int) -> list[Check]:
    """``runs`` kills per stage and database; the other faults ``ROUNDS`` each
    (one each when ``runs`` is 1, the short version)."""
    found = []
    for number, run in enumerate(FAULTS):
        place = folder / str(number)
        place.mkdir()
        rounds = runs if run is crash_figures or runs == 1 else ROUNDS.get(run, 1)
        found.append(figures_check(run, place, seed, rounds))
    return found


def guard_checks(folder: Path) -> list[Check]:
    return [
        pytest_check(
            "review pages: sessions, CSRF, slowed sign-ins, scripts in Chromium",
            folder,
            "tests/review/test_review_pages.py",
            "tests/review/test_review_browser.py",
        ),
        pytest_check(
            "live-crawl address guard (every spelling, redirects, links)",
            folder,
            "tests/crawl/test_guard_rules.py",
            "tests/crawl/test_redirects.py",
        ),
    ]


def crash_figures(folder: Path, seed: int, runs: int) -> dict[str, Any]:
    """kill -9 at seeded points inside each stage, ``runs`` per stage and
    database, each followed by the integrity checks and a recovering run."""
    kinds = ["sqlite"] + (["postgresql"] if os.getenv("HUB_TEST_DATABASE_URL") else [])
    outcomes = campaign(folder, kinds, list(STAGES), runs, seed)
    landed = Counter(f"{o.backend} {o.stage}" for o in outcomes if o.kill.landed)
    return {
        "name": f"kill -9 inside {', '.join(STAGES)} ({', '.join(kinds)})",
        "tried": len(outcomes),
        "survived": sum(o.sound for o in outcomes),
        "lost": [
            f"{o.backend} {o.stage} #{o.index}: " + " | ".join(o.faults()[:4])
            for o in outcomes
            if not o.sound
        ],
        "notes": [
            f"{runs} seeded kills per stage and database (seed {seed}); kills that "
            f"landed inside their stage: {dict(sorted(landed.items()))}"
        ],
    }


FAULTS: tuple[Callable[[Path, int, int], dict[str, Any]], ...] = (
    crash_figures,
    outage_figures,
    run_concurrency,
    run_server_workers,
    run_database_restart,
)
# rounds of the faults other than kill -9 in the full run: outages over three
# refreshes; the races drawn three and two times; a restart in each stage and
# mode once (a round of six restarts takes about ten minutes)
ROUNDS: dict[Callable[[Path, int, int], dict[str, Any]], int] = {
    outage_figures: 3,
    run_concurrency: 3,
    run_server_workers: 2,
    run_database_restart: 1,
}


if __name__ == "__main__":
    main()
