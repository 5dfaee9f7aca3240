"""Benchmark evaluation: pairwise precision/recall/F1 and B-cubed F1.

``evaluate("chicago" | "abt-buy", data_dir)`` loads the benchmark in place,
runs ``match`` with that benchmark's configuration and scores the clusters
against the truth. Configurations set field weights and thresholds from the
fields' meaning; the truth is used only to score.
"""

from __future__ import annotations

import logging
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from itertools import combinations
from pathlib import Path

from dedupe.benchmarks import Benchmark, load_abt_buy, load_chicago
from dedupe.config import Comparison, Level, MatchConfig
from dedupe.match import match
from dedupe.types import RecordID

logger = logging.getLogger(__name__)

Pair = tuple[RecordID, RecordID]


def _cmp(otherwise: float, *levels: tuple[float, float]) -> Comparison:
    return Comparison(tuple(Level(a, w) for a, w in levels), otherwise)


# Chicago: one real site at one street address; names vary a lot between the
# nine sources, the address and phone much less. Similarities 0-100, weights
# in bits, thresholds 0-100.
CHICAGO_CONFIG = MatchConfig(
    comparisons={
        "title": _cmp(-2.0, (97, 4.0), (90, 2.5), (80, 1.0), (65, -0.5)),
        "address": _cmp(-8.0, (95, 8.0), (80, 2.0)),
        "phone": _cmp(-1.5, (100, 4.0)),
        "place": _cmp(-4.0, (95, 1.0)),
        "provider": _cmp(-0.5, (90, 1.0)),
        "url": _cmp(0.0, (100, 3.0)),
    },
    prior=-5.0,
    auto_threshold=60.0,
    review_threshold=40.0,
    link_threshold=50.0,
    max_cluster_size=40,
    block_keys=("address", "phone", "title_tokens", "url"),
)

# Abt-Buy: one product per shop, so records of one shop never merge and only
# cross-shop pairs are compared. Model numbers carry most of the evidence.
ABT_BUY_CONFIG = MatchConfig(
    comparisons={
        "title": _cmp(-3.0, (90, 3.0), (75, 1.5), (60, 0.0)),
        "codes": _cmp(-2.0, (100, 8.0), (90, 6.0), (80, 3.0)),
        "description": _cmp(0.0, (80, 1.0)),
    },
    # At most one match per product of the smaller shop (~1,080) among the
    # ~28,800 blocked pairs: log2(1080 / 27700) ~ -4.7.
    prior=-4.7,
    auto_threshold=20.0,
    review_threshold=10.0,
    link_threshold=20.0,
    max_cluster_size=2,
    block_keys=("codes", "title_tokens"),
    max_block_size=40,
    thin_score_cutoff=50.0,
    cross_source_only=True,
    distinct_within_source=True,
)

LOADERS: dict[str, tuple[Callable[[Path], Benchmark], MatchConfig]] = {
    "chicago": (load_chicago, CHICAGO_CONFIG),
    "abt-buy": (load_abt_buy, ABT_BUY_CONFIG),
}


def evaluate(benchmark_name: str, data_dir: Path | str) -> dict[str, float]:
    """Match one benchmark and score it.

    Args:
        benchmark_name: "chicago" or "abt-buy".
        data_dir: the shared ``data`` folder or its ``benchmarks`` folder.

    Returns:
        precision, recall, f1 (pairwise), bcubed_f1, pairs_compared,
        wall_seconds (matching only), load_seconds and peak_memory_mb (the
        process's peak resident size).

    Raises:
        ValueError: for an unknown benchmark name.
    """
    if benchmark_name not in LOADERS:
        raise ValueError(f"unknown benchmark {benchmark_name!r}: try {sorted(LOADERS)}")
    loader, config = LOADERS[benchmark_name]
    started = time.perf_counter()
    benchmark = loader(Path(data_dir))
    loaded = time.perf_counter()
    result = match(benchmark.records, config=config)
    finished = time.perf_counter()
    sources = {r.id: r.source for r in benchmark.records}
    scores = score_clusters(result.clusters, benchmark.truth, sources, benchmark)
    scores |= {
        "pairs_compared": result.compared,
        "wall_seconds": round(finished - loaded, 3),
        "load_seconds": round(loaded - started, 3),
        "peak_memory_mb": round(_peak_rss_mb(), 1),
    }
    logger.info("benchmark %s: %s", benchmark_name, scores)
    return scores


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def score_clusters(
    clusters: Iterable[frozenset[RecordID]],
    truth: Mapping[RecordID, str],
    sources: Mapping[RecordID, str],
    benchmark: Benchmark,
) -> dict[str, float]:
    predicted = [set(c) for c in clusters]
    true_clusters = _group(truth)
    cross = benchmark.cross_source_only
    found = within_pairs(predicted, sources if cross else None)
    wanted = within_pairs(true_clusters, sources if cross else None)
    precision, recall, f1 = pairwise_scores(found, wanted)
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "bcubed_f1": round(bcubed_f1(predicted, true_clusters), 4),
    }


def _group(labels: Mapping[RecordID, str]) -> list[set[RecordID]]:
    groups: dict[str, set[RecordID]] = defaultdict(set)
    for record_id, label in labels.items():
        groups[label].add(record_id)
    return list(groups.values())


def within_pairs(
    clusters: Iterable[set[RecordID]], sources: Mapping[RecordID, str] | None = None
) -> set[Pair]:
    """Every pair inside a cluster; with ``sources``, cross-source pairs only."""
    pairs: set[Pair] = set()
    for cluster in clusters:
        for a, b in combinations(sorted(cluster), 2):
            if sources is None or sources[a] != sources[b]:
                pairs.add((a, b))
    return pairs


def pairwise_scores(found: set[Pair], wanted: set[Pair]) -> tuple[float, float, float]:
    hits = len(found & wanted)
    precision = hits / len(found) if found else 1.0
    recall = hits / len(wanted) if wanted else 1.0
    return precision, recall, _harmonic(precision, recall)


def bcubed_f1(predicted: list[set[RecordID]], truth: list[set[RecordID]]) -> float:
    """Harmonic mean of the records' average B-cubed precision and recall."""
    cluster_of = {r: c for c in predicted for r in c}
    precision = recall = 0.0
    for true_cluster in truth:
        for record in true_cluster:
            overlap = len(cluster_of[record] & true_cluster)
            precision += overlap / len(cluster_of[record])
            recall += overlap / len(true_cluster)
    count = sum(len(c) for c in truth)
    return _harmonic(precision / count, recall / count)


def _harmonic(a: float, b: float) -> float:
    return 2 * a * b / (a + b) if a + b else 0.0
