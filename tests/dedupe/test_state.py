"""A MatchState carried between runs gives exactly what a full run gives."""

from __future__ import annotations

import dataclasses
import importlib
import logging
import random
from collections.abc import Callable

import numpy as np
import pytest

from dedupe import Decision, MatchConfig, MatchRecord, MatchResult, MatchState, match
from dedupe.block import (
    ALL_PAIRS,
    DROPPED,
    THINNED,
    BlockCache,
    KindBlocks,
    _status,
    candidate_keys,
    unpack,
)
from dedupe.prepared import prepare
from dedupe.score import explain, explain_all, score_pairs

WORDS = "data law coding summer school mentor level apprentice insight day".split()
# small blocks so that most are thinned to each record's nearest titles
THIN = MatchConfig(max_block_size=8, thin_top_k=3, hard_block_size=400)
Change = Callable[[list[MatchRecord], random.Random], list[MatchRecord]]


def _records(n: int, seed: int, prefix: str = "r") -> list[MatchRecord]:
    rng = random.Random(seed)
    return [
        MatchRecord(
            f"{prefix}{k:04d}",
            f"s{rng.randrange(4)}",
            " ".join(rng.sample(WORDS, rng.randrange(2, 5))),
            provider=f"Provider {rng.randrange(12)}",
            outcode=f"LS{rng.randrange(6)}",
            pay_min=float(rng.randrange(14, 20) * 1000),
        )
        for k in range(n)
    ]


def _same(a: MatchResult, b: MatchResult) -> None:
    assert a.clusters == b.clusters
    assert [
        (p.a, p.b, p.score, p.band, p.features, p.explanation) for p in a.pairs
    ] == [(p.a, p.b, p.score, p.band, p.features, p.explanation) for p in b.pairs]
    assert a.block_counts == b.block_counts


def _add(records: list[MatchRecord], rng: random.Random) -> list[MatchRecord]:
    return records + _records(40, seed=rng.randrange(1000), prefix="new")


def _edit(records: list[MatchRecord], rng: random.Random) -> list[MatchRecord]:
    edited = set(rng.sample(range(len(records)), 30))
    return [
        dataclasses.replace(r, title=f"{r.title} extra", outcode="LS9")
        if k in edited
        else r
        for k, r in enumerate(records)
    ]


def _remove(records: list[MatchRecord], rng: random.Random) -> list[MatchRecord]:
    gone = set(rng.sample(range(len(records)), 30))
    return [r for k, r in enumerate(records) if k not in gone]


def _all_three(records: list[MatchRecord], rng: random.Random) -> list[MatchRecord]:
    return _add(_edit(_remove(records, rng), rng), rng)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda records, rng: records, id="nothing changed"),
        pytest.param(_add, id="new records"),
        pytest.param(_edit, id="edited titles and places"),
        pytest.param(_remove, id="removed records"),
        pytest.param(_all_three, id="new, edited and removed at once"),
    ],
)
def test_state_run_equals_full_run(change: Change) -> None:
    rng = random.Random(5)
    state = MatchState()
    before = _records(300, seed=1)
    match(before, config=THIN, state=state)
    after = change(before, rng)
    rng.shuffle(after)

    incremental = match(after, config=THIN, state=state)

    _same(match(after, config=THIN), incremental)
    assert incremental.compared < match(after, config=THIN).compared


def test_decisions_made_and_undone_between_runs() -> None:
    records = _records(300, seed=2)
    state = MatchState()
    first = match(records, config=THIN, state=state)
    auto = [p for p in first.pairs if p.band == "auto"]
    decisions = [Decision(auto[0].a, auto[0].b, "cannot_link")]
    decisions.append(Decision(records[0].id, records[1].id, "must_link"))

    for ruling in (decisions, decisions[1:], []):
        incremental = match(records, ruling, config=THIN, state=state)

        _same(match(records, ruling, config=THIN), incremental)


def test_a_new_config_starts_the_state_afresh() -> None:
    records = _records(200, seed=3)
    state = MatchState()
    match(records, state=state)

    again = match(records, config=THIN, state=state)

    _same(match(records, config=THIN), again)


def test_duplicate_ids_are_refused() -> None:
    records = _records(3, seed=4)

    with pytest.raises(ValueError, match="unique"):
        match([*records, records[0]], state=MatchState())


def test_batch_explanations_equal_one_by_one() -> None:
    prep = prepare(_records(120, seed=6))
    keys, _ = candidate_keys(prep, THIN)
    left, right = unpack(keys)
    scores = score_pairs(prep, left, right, THIN)
    picked = np.arange(0, len(keys), 3)

    batch = explain_all(scores, picked, THIN.prior)

    assert batch == [explain(scores, int(k), THIN.prior) for k in picked]


# blocks cross every size limit as records come and go: all pairs up to 5,
# thinned to each record's 3 nearest up to 14, dropped beyond
CROSSING = MatchConfig(max_block_size=5, thin_top_k=2, hard_block_size=14)
STATUSES = (ALL_PAIRS, THINNED, DROPPED)


def _moving(records: list[MatchRecord], rng: random.Random) -> list[MatchRecord]:
    """Some records gone, some retitled or moved to another place, some new;
    or only new ones, now and then a crowd of them with one provider."""
    new = _records(rng.choice([5, 40, 120]), rng.randrange(10**6), f"n{rng.random()}")
    if rng.random() < 0.3:
        provider = rng.choice(records).provider
        crowd = [dataclasses.replace(r, provider=provider) for r in new[:30]]
        return records + crowd + new[30:]
    gone = rng.choice([0.05, 0.3, 0.8])
    kept = [r for r in records if rng.random() > gone]
    for k in rng.sample(range(len(kept)), len(kept) // 8):
        kept[k] = dataclasses.replace(
            kept[k],
            title=" ".join(rng.sample(WORDS, 3)),
            outcode=f"LS{rng.randrange(8)}",
        )
    return kept + new


def _transitions(before: dict[str, KindBlocks], after: dict[str, KindBlocks]) -> set:
    found = set()
    for kind, blocks in after.items():
        was = _status(before[kind].sizes_of(blocks.keys), CROSSING)
        now = _status(blocks.sizes, CROSSING)
        found |= set(zip(was.tolist(), now.tolist(), strict=True))
    return found


def test_blocking_brought_up_to_date_equals_blocking_afresh(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Run after run, the cache's candidate pairs, their support and the pairs
    per kind are what blocking the same rows afresh gives, through blocks
    moving between all pairs, thinned and dropped each way."""
    rng = random.Random(11)
    state = MatchState()
    records = _records(160, seed=7)
    caplog.set_level(logging.DEBUG, logger="dedupe.block")
    transitions = set()
    for run in range(30):
        before = dict(state.blocks.blocks)
        result = match(records, config=CROSSING, state=state)
        fresh = BlockCache()
        keys, counts = candidate_keys(state.prep, CROSSING, fresh)

        assert state.blocks.pairs is not None and state.blocks.support is not None
        assert state.blocks.pairs.tolist() == keys.tolist(), run
        assert state.blocks.support.tolist() == fresh.support.tolist(), run
        assert result.block_counts == counts, run
        if before:
            transitions |= _transitions(before, state.blocks.blocks)
        records = _moving(records, rng)
        rng.shuffle(records)
    assert "blocking afresh" not in caplog.text
    assert caplog.text.count("blocking updated") == 29
    assert transitions == {(a, b) for a in STATUSES for b in STATUSES}


def _linked(record_id: str, source: str) -> MatchRecord:
    return MatchRecord(
        record_id, source, "data law summer school", provider="Prov 1", outcode="LS1"
    )


def test_a_record_removed_with_all_it_was_linked_to_stays_gone() -> None:
    """Two linked records go in one run and one comes back: the other one,
    still gone, is in no cluster (its component went with it)."""
    a, b = _linked("a", "s1"), _linked("b", "s2")
    c = MatchRecord("c", "s1", "coding day", provider="Prov 2", outcode="M1")
    state = MatchState()
    assert frozenset({"a", "b"}) in match([a, b, c], state=state).clusters
    match([c], state=state)

    _same(match([b, c]), match([b, c], state=state))


def test_naming_a_removed_record_as_changed_brings_nothing_back() -> None:
    a = MatchRecord("a", "s1", "data law")
    c = MatchRecord("c", "s1", "coding day")
    state = MatchState()
    match([a, c], state=state)
    match([c], state=state)

    _same(match([c]), match([c], changed={"a", "never seen"}, state=state))


def test_a_refused_run_leaves_the_state_as_it_was() -> None:
    a = MatchRecord("a", "s1", "data law")
    x = MatchRecord("x", "s1", "coding day")
    y = MatchRecord("y", "s1", "summer school")
    state = MatchState()
    match([a], state=state)
    with pytest.raises(ValueError, match="unique"):
        match([a, x, x], state=state)

    _same(match([a, x, y]), match([a, x, y], state=state))


def _decisions(records: list[MatchRecord], rng: random.Random) -> list[Decision]:
    ids = sorted(r.id for r in records)
    picks = [rng.sample(ids, 2) for _ in range(rng.randrange(4))]
    kinds = ("must_link", "cannot_link")
    return [Decision(a, b, rng.choice(kinds)) for a, b in picks]  # type: ignore[arg-type]


def test_run_after_run_equals_a_full_run() -> None:
    """Twenty runs on one state, each changing records and decisions: every
    result, review queue included, is the full run's (the pairs, clusters and
    settled pairs the state carries stay true over many runs)."""
    rng = random.Random(23)
    state = MatchState()
    records = _records(240, seed=9)
    for run in range(20):
        decisions = _decisions(records, rng)
        incremental = match(records, decisions, config=THIN, state=state)
        full = match(records, decisions, config=THIN)

        _same(full, incremental)
        assert incremental.review == full.review, run
        change = rng.choice((_edit, _remove, lambda records, rng: records))
        records = change(records, rng)
        if rng.random() < 0.5:
            records += _records(25, seed=run, prefix=f"run{run}-")
        rng.shuffle(records)


@pytest.mark.parametrize(
    "stage", ["candidate_keys", "score_pairs", "_by_ids", "cluster_records", "_settle"]
)
@pytest.mark.parametrize("named", [False, True], ids=["found", "named as changed"])
def test_a_run_that_failed_part_way_leaves_a_state_the_next_run_can_use(
    monkeypatch: pytest.MonkeyPatch, stage: str, named: bool
) -> None:
    """A run that stops at any stage after taking in its records leaves the
    state marked unfinished: the next run starts afresh and equals a full run,
    also when it names only its own changes in ``changed``."""
    match_module = importlib.import_module("dedupe.match")
    state = MatchState()
    records = _records(200, seed=12)
    match(records, config=THIN, state=state)
    edited = _edit(records, random.Random(3))

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("stopped part way")

    with monkeypatch.context() as patch:
        patch.setattr(match_module, stage, broken)
        with pytest.raises(RuntimeError, match="part way"):
            match(edited, config=THIN, state=state)
    again = _add(edited, random.Random(4))
    changed = {r.id for r in again} - {r.id for r in edited} if named else None

    _same(
        match(again, config=THIN),
        match(again, config=THIN, state=state, changed=changed),
    )
