"""The reliability suite at full size; writes RELIABILITY.md.

    python benchmarks/reliability.py [--pages 10000] [--seed N]
        [--fuzz-seconds 60] [--examples 200] [--out RELIABILITY.md]

1. hostile crawl: ``--pages`` seeded hostile pages and board documents in a
   WARC of our own, replayed through every spider of the corpus and every
   pipeline (store into a temporary SQLite file), one ``hub.crawl`` child per
   source; 2. the normalisers under atheris for ``--fuzz-seconds``; 3. the
   feed app: script payloads in every field through every output, every
   filter given hostile values, and schemathesis against /openapi.json;
   4. static publishing of path-shaped ids and fields. Each check says what
   was tried, what survived and what was lost.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub.web.static import write_static  # noqa: E402
from storage.session import make_engine, migrate, session_factory  # noqa: E402
from tests.reliability.hostile import build_corpus  # noqa: E402
from tests.reliability.openapi_fuzz import fuzz_openapi  # noqa: E402
from tests.reliability.replay import judge, replay_corpus  # noqa: E402
from tests.reliability.web_client import (  # noqa: E402
    SCRIPT,
    TYPED,
    fetch,
    filter_cases,
    filter_params,
    hostile_feed,
)
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
    fives = sum(n for s, n in result.statuses.items() if s >= 500)
    return Check(
        "schemathesis against /openapi.json (no 500)",
        result.calls,
        result.calls - fives,
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
        "Generated by `python benchmarks/reliability.py` "
        f"(seed {args.seed}, {args.pages} pages, fuzz {args.fuzz_seconds} s, "
        f"{args.examples} schemathesis examples per operation) in {seconds:.0f} s.",
        "The goal: nothing lost.",
        "",
        "| check | tried | survived | lost | seconds |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for check in checks:
        lines.append(
            f"| {check.name} | {check.tried} | {check.survived} | "
            f"{check.tried - check.survived} | {check.seconds:.0f} |"
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--fuzz-seconds", type=int, default=60)
    parser.add_argument("--examples", type=int, default=200)
    parser.add_argument("--records", type=int, default=200)
    parser.add_argument("--out", type=Path, default=REPO / "RELIABILITY.md")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hub-reliability-") as name:
        folder = Path(name)
        for sub in ("crawl", "fuzz", "feed", "static"):
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
    text = render(checks, args, time.monotonic() - started)
    args.out.write_text(text, encoding="utf-8")
    sys.stdout.write(text)


if __name__ == "__main__":
    main()
