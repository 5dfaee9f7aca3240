from __future__ import annotations

import dataclasses
import random
from pathlib import Path

import pytest

from dedupe import MatchRecord, MatchResult, match
from dedupe.benchmarks import load_chicago
from dedupe.evaluate import CHICAGO_CONFIG

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"
CHICAGO = DATA / "benchmarks" / "chicago-early-childhood"


def _same_result(a: MatchResult, b: MatchResult) -> None:
    assert a.clusters == b.clusters
    assert [(p.a, p.b, p.score, p.band, p.explanation) for p in a.pairs] == [
        (p.a, p.b, p.score, p.band, p.explanation) for p in b.pairs
    ]


def _incremental_equals_full(records: list[MatchRecord], seed: int) -> None:
    rng = random.Random(seed)
    rng.shuffle(records)
    new = {r.id for r in records[: len(records) // 10]}
    edited = {r.id for r in records[len(records) // 10 : len(records) // 5]}
    # The previous run saw older versions of the edited records.
    before = [
        dataclasses.replace(r, title=f"{r.title} annex", phone=None)
        if r.id in edited
        else r
        for r in records
        if r.id not in new
    ]
    previous = match(before, config=CHICAGO_CONFIG)
    rng.shuffle(records)

    full = match(records, config=CHICAGO_CONFIG)
    incremental = match(
        records,
        changed=new | edited,
        previous_pairs=previous.pairs,
        config=CHICAGO_CONFIG,
    )

    _same_result(full, incremental)
    assert incremental.compared < full.compared


@pytest.mark.skipif(
    not CHICAGO.is_dir(), reason=f"shared benchmark data not found at {CHICAGO}"
)
def test_incremental_equals_full_on_a_shuffled_chicago_sample() -> None:
    records = load_chicago(DATA).records
    sample = random.Random(11).sample(records, 900)

    _incremental_equals_full(sample, seed=5)


def test_incremental_equals_full_on_synthetic_records() -> None:
    titles = ["Data Apprentice", "Summer School", "Law Insight Day", "Coding Bootcamp"]
    records = [
        MatchRecord(
            f"r{k:03d}",
            f"s{k % 5}",
            f"{titles[k % 4]} {k % 7}",
            provider=f"Provider {k % 3}",
            outcode=f"LS{k % 2}",
        )
        for k in range(120)
    ]

    _incremental_equals_full(records, seed=3)


def test_changed_without_previous_pairs_compares_only_changed() -> None:
    records = [
        MatchRecord(f"r{k}", "s", "Data Apprentice", outcode="LS1") for k in range(4)
    ]

    result = match(records, changed={"r0"})

    assert result.compared == 3
    assert {frozenset({p.a, p.b}) for p in result.pairs} <= {
        frozenset({"r0", f"r{k}"}) for k in range(1, 4)
    }
