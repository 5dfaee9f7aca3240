from __future__ import annotations

import json
from pathlib import Path

import pytest

from dedupe import match
from dedupe.benchmarks import load_abt_buy, load_chicago
from dedupe.evaluate import (
    CHICAGO_CONFIG,
    bcubed_f1,
    evaluate,
    pairwise_scores,
    within_pairs,
)

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
BENCHMARKS = DATA / "benchmarks"
needs_data = pytest.mark.skipif(
    not BENCHMARKS.is_dir(), reason=f"shared benchmark data not found at {BENCHMARKS}"
)


@pytest.mark.parametrize(
    ("predicted", "truth", "expected"),
    [
        pytest.param(
            [{"a", "b"}, {"c"}], [{"a", "b"}, {"c"}], (1.0, 1.0, 1.0), id="perfect"
        ),
        pytest.param(
            [{"a", "b", "c"}], [{"a", "b"}, {"c"}], (1 / 3, 1.0, 0.5), id="over-merged"
        ),
        pytest.param(
            [{"a"}, {"b"}, {"c"}],
            [{"a", "b", "c"}],
            (1.0, 0.0, 0.0),
            id="nothing merged",
        ),
    ],
)
def test_pairwise_scores(
    predicted: list[set[str]], truth: list[set[str]], expected: tuple[float, ...]
) -> None:
    found = pairwise_scores(within_pairs(predicted), within_pairs(truth))

    assert found == pytest.approx(expected)


def test_within_pairs_cross_source_only() -> None:
    sources = {"a": "abt", "b": "abt", "c": "buy"}

    assert within_pairs([{"a", "b", "c"}], sources) == {("a", "c"), ("b", "c")}


def test_bcubed() -> None:
    assert bcubed_f1([{"a", "b"}, {"c"}], [{"a", "b"}, {"c"}]) == 1.0
    # precision: a,b,c each 1/3 -> 1/3 avg; recall 1 -> F1 0.5
    assert bcubed_f1([{"a", "b", "c"}], [{"a"}, {"b"}, {"c"}]) == pytest.approx(0.5)


@needs_data
def test_loaders_keep_truth_out_of_records() -> None:
    chicago, abt_buy = load_chicago(DATA), load_abt_buy(DATA)

    assert len(chicago.records) == 3337 and len(abt_buy.records) == 1081 + 1092
    labels = set(abt_buy.truth.values())
    assert not any(r.id.split(":")[1] in labels for r in abt_buy.records)


@needs_data
def test_labelled_training_pairs_end_in_one_cluster() -> None:
    pairs = json.loads(
        (BENCHMARKS / "chicago-early-childhood" / "training_pairs.json").read_text()
    )["match"]
    result = match(load_chicago(DATA).records, config=CHICAGO_CONFIG)
    owner = {r: k for k, cluster in enumerate(result.clusters) for r in cluster}

    assert all(owner[a["Id"]] == owner[b["Id"]] for a, b in pairs)


@needs_data
@pytest.mark.parametrize(
    ("name", "target"),
    [
        pytest.param("chicago", 0.95, id="chicago"),
        pytest.param("abt-buy", 0.85, id="abt-buy"),
    ],
)
def test_benchmark_reaches_target(name: str, target: float) -> None:
    scores = evaluate(name, DATA)

    assert scores["f1"] >= target
    assert set(scores) >= {
        "precision",
        "recall",
        "bcubed_f1",
        "pairs_compared",
        "wall_seconds",
        "peak_memory_mb",
    }


def test_unknown_benchmark() -> None:
    with pytest.raises(ValueError, match="unknown benchmark"):
        evaluate("nope", DATA)
