"""Our dedupe core against the ``dedupe`` library and Splink, same data, same run.

    .venv/bin/python benchmarks/dedupe_peers.py [--benchmarks chicago abt-buy]

Run by hand, never as a test. Each peer runs as a subprocess in its own venv
under ``benchmarks/.venvs/`` (created and pip-installed on first use; see
``peers/venvs.py``). Ours runs through ``dedupe.evaluate``. Every engine's
clusters are scored by the same code against the same truth. Prints a table
of pairwise P/R/F1, wall time and peak RSS, with ours/peer ratios.

Labels given to the ``dedupe`` library (it needs some; ours and Splink get
none): Chicago's 15 labelled matches from ``training_pairs.json``; for
abt-buy, which ships none, 15 true matches drawn from the truth. Both get 15
random record pairs presumed distinct (the file has no distinct pairs).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).parent)]

from peers.venvs import ensure_venv  # noqa: E402

from dedupe.benchmarks import Benchmark, load_abt_buy, load_chicago  # noqa: E402
from dedupe.evaluate import evaluate, score_clusters  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
PEERS_DIR = Path(__file__).resolve().parent / "peers"
TRAINING_FILE = (
    SHARED_DATA / "benchmarks" / "chicago-early-childhood" / "training_pairs.json"
)
LABELS = 15
PEER_TIMEOUT = 1800
Pairs = dict[str, list[list[str]]]


@dataclass(frozen=True)
class Row:
    engine: str
    benchmark: str
    precision: float
    recall: float
    f1: float
    seconds: float
    peak_mb: float
    error: str = ""


def peer_records(benchmark: Benchmark) -> list[dict[str, Any]]:
    return [
        {
            "id": r.id,
            "source": r.source,
            "title": r.title,
            "provider": r.provider,
            "url": r.url,
            "address": r.address,
            "zip": r.outcode,
            "phone": r.phone,
            "description": r.description,
        }
        for r in benchmark.records
    ]


def chicago_pairs(benchmark: Benchmark) -> Pairs:
    labelled = json.loads(TRAINING_FILE.read_text(encoding="utf-8"))
    matches = [[a["Id"], b["Id"]] for a, b in labelled["match"]][:LABELS]
    return {"match": matches, "distinct": _presumed_distinct(benchmark)}


def abt_buy_pairs(benchmark: Benchmark) -> Pairs:
    by_entity: dict[str, dict[str, str]] = {}
    for record in benchmark.records:
        by_entity.setdefault(benchmark.truth[record.id], {})[record.source] = record.id
    both = sorted(e for e, shops in by_entity.items() if len(shops) == 2)
    chosen = random.Random(3).sample(both, LABELS)
    matches = [[by_entity[e]["abt"], by_entity[e]["buy"]] for e in chosen]
    return {"match": matches, "distinct": _presumed_distinct(benchmark, cross=True)}


def _presumed_distinct(benchmark: Benchmark, cross: bool = False) -> list[list[str]]:
    rng = random.Random(5)
    records = benchmark.records
    pairs: list[list[str]] = []
    while len(pairs) < LABELS:
        a, b = rng.sample(records, 2)
        if not cross or a.source != b.source:
            pairs.append([a.id, b.id] if a.source <= b.source else [b.id, a.id])
    return pairs


BENCHMARKS = {
    "chicago": (load_chicago, chicago_pairs),
    "abt-buy": (load_abt_buy, abt_buy_pairs),
}


def run_ours(name: str) -> Row:
    scores = evaluate(name, SHARED_DATA)
    return Row(
        "ours",
        name,
        scores["precision"],
        scores["recall"],
        scores["f1"],
        scores["wall_seconds"],
        scores["peak_memory_mb"],
    )


def run_peer(peer: str, name: str, workdir: Path) -> Row:
    loader, labelled = BENCHMARKS[name]
    benchmark = loader(SHARED_DATA)
    spec = {
        "benchmark": name,
        "records": peer_records(benchmark),
        "pairs": labelled(benchmark),
    }
    spec_file = workdir / f"{peer}-{name}.json"
    spec_file.write_text(json.dumps(spec), encoding="utf-8")
    python = ensure_venv(peer)
    script = PEERS_DIR / f"{peer}_peer.py"
    started = time.perf_counter()
    done = subprocess.run(
        [str(python), str(script), str(spec_file)],
        capture_output=True,
        text=True,
        timeout=PEER_TIMEOUT,
        cwd=workdir,  # never our repo root: its dedupe/ would shadow the library
    )
    outer = time.perf_counter() - started
    if done.returncode != 0:
        error = done.stderr.strip().splitlines()[-1:] or ["no output"]
        return Row(peer, name, 0, 0, 0, outer, 0, error[0][:100])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    scores = _score(benchmark, result["clusters"])
    return Row(
        peer,
        name,
        scores["precision"],
        scores["recall"],
        scores["f1"],
        round(result["seconds"], 3),
        round(result["peak_mb"], 1),
    )


def _score(benchmark: Benchmark, clusters: list[list[str]]) -> dict[str, float]:
    seen = {r for cluster in clusters for r in cluster}
    frozen = [frozenset(c) for c in clusters]
    frozen += [frozenset({r.id}) for r in benchmark.records if r.id not in seen]
    sources = {r.id: r.source for r in benchmark.records}
    return score_clusters(frozen, benchmark.truth, sources, benchmark)


def print_table(rows: list[Row]) -> None:
    ours = {row.benchmark: row for row in rows if row.engine == "ours"}
    print(
        f"{'engine':<8}{'benchmark':<10}{'P':>8}{'R':>8}{'F1':>8}{'wall s':>9}"
        f"{'peak MB':>9}{'F1 ours/peer':>14}{'time ours/peer':>16}"
    )
    for row in rows:
        print(_line(row, ours[row.benchmark]))
    for row in rows:
        if row.error:
            print(f"{row.engine} on {row.benchmark} failed: {row.error}")


def _line(row: Row, ours: Row) -> str:
    f1_ratio = ours.f1 / row.f1 if row.f1 else float("nan")
    time_ratio = ours.seconds / row.seconds if row.seconds else float("nan")
    return (
        f"{row.engine:<8}{row.benchmark:<10}{row.precision:>8.4f}{row.recall:>8.4f}"
        f"{row.f1:>8.4f}{row.seconds:>9.2f}{row.peak_mb:>9.0f}"
        f"{f1_ratio:>14.3f}{time_ratio:>16.3f}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmarks", nargs="+", default=list(BENCHMARKS))
    parser.add_argument("--peers", nargs="+", default=["dedupe", "splink"])
    args = parser.parse_args(argv)
    rows = [run_ours(name) for name in args.benchmarks]
    with tempfile.TemporaryDirectory(prefix="dedupe-peers-") as tmp:
        for name in args.benchmarks:
            for peer in args.peers:
                print(f"running {peer} on {name} ...", file=sys.stderr, flush=True)
                rows.append(run_peer(peer, name, Path(tmp)))
    print_table(rows)


if __name__ == "__main__":
    main()
