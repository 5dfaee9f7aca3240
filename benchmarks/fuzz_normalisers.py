"""Coverage-guided fuzzing of the normalisers with atheris, bounded by time.

    python benchmarks/fuzz_normalisers.py [--report FILE.json] -max_total_time=60

Each input is fed to every normaliser (dates, pay, text, postcodes, URLs). An
exception, a broken output promise (a script tag out of ``sanitize_html``, a
non-http(s) URL out of ``canonicalize_url``, NUL in text, pay with min above
max) or a call slower than a second is a finding; findings are collected
rather than ending the run, then printed (and written to ``--report``) with
the shortest input seen for each. Arguments starting with ``-`` go to
libFuzzer.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import atheris

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

with atheris.instrument_imports():
    from pipelines.dates import parse_closing, parse_date, parse_range
    from pipelines.pay import parse_pay
    from pipelines.postcodes import find_postcodes
    from pipelines.text import decode_entities, html_to_text, sanitize_html
    from pipelines.urls import canonicalize_url

FETCHED_AT = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 15)
SLOW_SECONDS = 1.0
findings: dict[str, dict[str, Any]] = {}
calls = {"inputs": 0, "calls": 0}
# libFuzzer ends the process at -max_total_time without Python's exit handlers:
# the run reports and ends itself just before
budget: dict[str, Any] = {"deadline": float("inf"), "report": None, "started": 0.0}


def _check_sanitized(out: str) -> str | None:
    lowered = out.lower()
    for bad in ("<script", "javascript:", "onerror=", "onload=", "<iframe"):
        if bad in lowered:
            return f"sanitize_html output holds {bad!r}"
    return None


def _check_url(out: str) -> str | None:
    # only http(s) URLs are fed in (see run_one): one must come out
    if not out.lower().startswith(("http://", "https://")):
        return f"canonicalize_url gave a non-http(s) URL {out[:60]!r}"
    return None


def _check_text(out: str) -> str | None:
    return "NUL in output" if "\x00" in out else None


def _check_pay(out: Any) -> str | None:
    if out is None or out.min is None or out.max is None:
        return None
    return f"pay min {out.min} > max {out.max}" if out.min > out.max else None


NORMALISERS: dict[str, tuple[Callable[[str], Any], Callable[[Any], str | None]]] = {
    "parse_date": (lambda t: parse_date(t, fetched_at=FETCHED_AT), lambda _: None),
    "parse_closing": (
        lambda t: parse_closing(t, fetched_at=FETCHED_AT),
        lambda _: None,
    ),
    "parse_range": (lambda t: parse_range(t, fetched_at=FETCHED_AT), lambda _: None),
    "parse_pay": (lambda t: parse_pay(t, as_of=AS_OF), _check_pay),
    "html_to_text": (html_to_text, _check_text),
    "decode_entities": (decode_entities, lambda _: None),
    "sanitize_html": (
        lambda t: sanitize_html(t, "https://charity.example.org/a/"),
        _check_sanitized,
    ),
    "find_postcodes": (lambda t: find_postcodes(t, address=True), lambda _: None),
    "canonicalize_url": (canonicalize_url, _check_url),
}


def record(name: str, kind: str, text: str, detail: str) -> None:
    key = f"{name}: {kind}"
    known = findings.get(key)
    if known is None:
        findings[key] = {"count": 1, "input": text, "detail": detail}
        return
    known["count"] += 1
    if len(text) < len(known["input"]):
        known["input"], known["detail"] = text, detail


def run_one(name: str, text: str) -> None:
    function, check = NORMALISERS[name]
    if name == "canonicalize_url":
        text = "https://" + text
    calls["calls"] += 1
    started = time.perf_counter()
    try:
        out = function(text)
    except Exception as exc:  # every escape is a finding
        where = traceback.extract_tb(exc.__traceback__)[-1]
        kind = f"{type(exc).__name__} at {Path(where.filename).name}:{where.lineno}"
        record(name, kind, text, str(exc)[:200])
        return
    elapsed = time.perf_counter() - started
    if elapsed > SLOW_SECONDS:
        record(name, "slow", text, f"{elapsed:.2f} s for {len(text)} chars")
    broken = check(out)
    if broken:
        record(name, broken.split(" ")[0] + " promise", text, broken)


def test_one_input(data: bytes) -> None:
    if time.monotonic() >= budget["deadline"]:
        report(budget["report"], budget["started"])
        sys.stdout.flush()
        os._exit(0)
    provider = atheris.FuzzedDataProvider(data)
    text = provider.ConsumeUnicodeNoSurrogates(len(data))
    calls["inputs"] += 1
    for name in NORMALISERS:
        run_one(name, text)


def report(path: Path | None, started: float) -> None:
    summary = {
        "seconds": round(time.monotonic() - started, 1),
        **calls,
        "findings": findings,
    }
    lines = [
        f"fuzzed {calls['inputs']} inputs ({calls['calls']} calls) "
        f"in {summary['seconds']} s: {len(findings)} distinct finding(s)"
    ]
    for key, found in sorted(findings.items()):
        lines.append(
            f"  {key} x{found['count']}: {found['detail']} <- {found['input'][:120]!r}"
        )
    sys.stdout.write("\n".join(lines) + "\n")
    if path is not None:
        path.write_text(json.dumps(summary, indent=1), encoding="utf-8")


def main(argv: list[str]) -> None:
    report_path = None
    if "--report" in argv:
        index = argv.index("--report")
        report_path = Path(argv[index + 1])
        del argv[index : index + 2]
    started = time.monotonic()
    budget.update(report=report_path, started=started)
    for arg in argv:
        if arg.startswith("-max_total_time="):
            budget["deadline"] = started + max(1, int(arg.split("=")[1]) - 2)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
