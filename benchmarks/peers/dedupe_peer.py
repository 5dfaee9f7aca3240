"""Runs the ``dedupe`` library (3.0.3) on one benchmark; run in its own venv.

    python dedupe_peer.py INPUT.json

INPUT holds the benchmark name, the records (id, source, fields) and the
labelled pairs. Chicago: ``Dedupe`` over all records; abt-buy: ``RecordLink``
between the shops, one to one. Training is dedupe's active learner seeded
with the labelled pairs only (no console labelling). Prints one JSON object:
clusters, wall seconds (training + matching) and peak RSS in MB.
"""

from __future__ import annotations

import io
import json
import logging
import resource
import sys
import time
from typing import Any

import dedupe  # the library: this script never runs in the project's venv
from dedupe import variables

Record = dict[str, Any]
THRESHOLD = 0.5
FIELDS = {
    "chicago": (
        ("title", False),
        ("provider", True),
        ("url", True),
        ("address", True),
        ("zip", True),
        ("phone", True),
    ),
    "abt-buy": (("title", False), ("description", True)),
}


def _variables(benchmark: str) -> list[Any]:
    out: list[Any] = []
    for name, missing in FIELDS[benchmark]:
        kind = variables.Exact if name in ("zip", "url") else variables.String
        out.append(kind(name, has_missing=missing))
    return out


def _data(records: list[Record], benchmark: str) -> dict[str, Record]:
    names = [name for name, _ in FIELDS[benchmark]]
    return {
        r["id"]: {n: (r.get(n) or "").lower().strip() or None for n in names}
        for r in records
    }


def _labelled(pairs: dict[str, list[list[str]]], data: dict[str, Record]) -> Any:
    return {
        kind: [(data[a], data[b]) for a, b in pairs[kind]]
        for kind in ("match", "distinct")
    }


def _training_file(labels: Any) -> io.StringIO:
    """The labelled pairs as dedupe's training file, so the active learner
    indexes their records too."""
    return io.StringIO(json.dumps(labels))


def run_chicago(data: dict[str, Record], labels: Any) -> list[list[str]]:
    deduper = dedupe.Dedupe(_variables("chicago"), num_cores=2)
    deduper.prepare_training(data, training_file=_training_file(labels))
    deduper.train()
    return [list(ids) for ids, _ in deduper.partition(data, threshold=THRESHOLD)]


def run_abt_buy(
    data: dict[str, Record], sources: dict[str, str], labels: Any
) -> list[list[str]]:
    left = {k: v for k, v in data.items() if sources[k] == "abt"}
    right = {k: v for k, v in data.items() if sources[k] == "buy"}
    linker = dedupe.RecordLink(_variables("abt-buy"), num_cores=2)
    linker.prepare_training(left, right, training_file=_training_file(labels))
    linker.train()
    links = linker.join(left, right, threshold=THRESHOLD)
    linked = {r for (a, b), _ in links for r in (a, b)}
    return [[a, b] for (a, b), _ in links] + [[r] for r in data if r not in linked]


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    benchmark = spec["benchmark"]
    data = _data(spec["records"], benchmark)
    labels = _labelled(spec["pairs"], data)
    started = time.perf_counter()
    if benchmark == "chicago":
        clusters = run_chicago(data, labels)
    else:
        sources = {r["id"]: r["source"] for r in spec["records"]}
        clusters = run_abt_buy(data, sources, labels)
    seconds = time.perf_counter() - started
    peak = sum(  # this process plus its largest worker (dedupe forks workers)
        resource.getrusage(who).ru_maxrss / 1024
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    print(json.dumps({"clusters": clusters, "seconds": seconds, "peak_mb": peak}))


if __name__ == "__main__":
    main()
