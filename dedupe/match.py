"""The matching run: normalise -> block -> score -> apply decisions -> cluster."""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace

from dedupe.block import block_records
from dedupe.cluster import ClusterOutcome, ClusterRules, cluster_records
from dedupe.config import MatchConfig
from dedupe.prepared import Prepared, prepare
from dedupe.score import PairScores, explain, score_pairs
from dedupe.types import Band, Decision, MatchRecord, MatchResult, RecordID, ScoredPair

logger = logging.getLogger(__name__)

DEFAULT_CONFIG = MatchConfig()
NOTE = " | "  # separates the model's explanation from later notes
CHAINING = "the average link between the two clusters is below the link threshold"
Key = tuple[RecordID, RecordID]


def match(
    records: Sequence[MatchRecord],
    decisions: Iterable[Decision] = (),
    *,
    changed: set[RecordID] | None = None,
    previous_pairs: Iterable[ScoredPair] = (),
    config: MatchConfig = DEFAULT_CONFIG,
) -> MatchResult:
    """Match records into clusters of the same opportunity.

    Args:
        records: every current record (unchanged ones too: they are blocked
            against, not re-compared).
        decisions: reviewer rulings in the order made; the latest on a pair
            wins, and every one outranks any score.
        changed: ids of new or changed records. When given, only pairs touching
            them are compared and the other pairs come from ``previous_pairs``
            (the previous run's ``pairs`` under the same config); the result
            then equals a full run. None compares everything.
        previous_pairs: see ``changed``.
        config: weights and thresholds, all on 0-100 (see ``MatchConfig``).

    Returns:
        Clusters (singletons included), auto and review pairs, review pairs,
        pairs produced per blocking key, and how many pairs were compared.
    """
    prep = prepare(records)
    index = _index(prep)
    focus = None if changed is None else {index[r] for r in changed if r in index}
    candidates, block_counts = block_records(prep, config, focus)
    rulings = _latest_rulings(decisions, index)
    for a, b in rulings:
        candidates.add(_index_pair(index, a, b))
    pairs = _score(prep, sorted(candidates), config, rulings)
    if changed is not None:
        pairs.update(_carry(previous_pairs, changed, index, rulings, config))
    pairs = _apply_rulings(pairs, rulings)
    outcome = _cluster(prep, pairs, rulings, config)
    settled = _settle(pairs, outcome)
    review = [p for p in settled if p.band == "review"]
    logger.info(
        "matched %d records: %d clusters, %d pairs compared, %d for review",
        len(prep),
        len(outcome.clusters),
        len(candidates),
        len(review),
    )
    return MatchResult(outcome.clusters, settled, review, block_counts, len(candidates))


def _index(prep: Prepared) -> dict[RecordID, int]:
    index = {record_id: k for k, record_id in enumerate(prep.ids)}
    if len(index) != len(prep.ids):
        raise ValueError("record ids must be unique within one match() call")
    return index


def _index_pair(
    index: dict[RecordID, int], a: RecordID, b: RecordID
) -> tuple[int, int]:
    i, j = index[a], index[b]
    return (i, j) if i < j else (j, i)


def _key(a: RecordID, b: RecordID) -> Key:
    return (a, b) if a < b else (b, a)


def _latest_rulings(
    decisions: Iterable[Decision], index: dict[RecordID, int]
) -> dict[Key, str]:
    rulings: dict[Key, str] = {}
    for decision in decisions:
        if decision.a in index and decision.b in index and decision.a != decision.b:
            rulings[_key(decision.a, decision.b)] = decision.kind
    return rulings


def _band(score: float, config: MatchConfig) -> Band:
    if score >= config.auto_threshold:
        return "auto"
    return "review" if score >= config.review_threshold else "distinct"


def _score(
    prep: Prepared,
    candidates: list[tuple[int, int]],
    config: MatchConfig,
    ruled: dict[Key, str],
) -> dict[Key, ScoredPair]:
    """Scored pairs in the auto or review band, and every pair under a ruling."""
    if not candidates:
        return {}
    scores = score_pairs(prep, candidates, config)
    pairs: dict[Key, ScoredPair] = {}
    for k in range(len(candidates)):
        band = _band(float(scores.score[k]), config)
        key = _key(prep.ids[scores.left[k]], prep.ids[scores.right[k]])
        if band != "distinct" or key in ruled:
            pairs[key] = _scored_pair(prep, scores, k, band, config)
    return pairs


def _scored_pair(
    prep: Prepared, scores: PairScores, k: int, band: Band, config: MatchConfig
) -> ScoredPair:
    a, b = _key(prep.ids[scores.left[k]], prep.ids[scores.right[k]])
    features = {
        name: round(float(values[k]), 2)
        for name, values in scores.features.items()
        if not math.isnan(values[k])
    }
    score = float(scores.score[k])
    features["model_score"] = score
    return ScoredPair(a, b, score, band, features, explain(scores, k, config.prior))


def _carry(
    previous: Iterable[ScoredPair],
    changed: set[RecordID],
    index: dict[RecordID, int],
    rulings: dict[Key, str],
    config: MatchConfig,
) -> dict[Key, ScoredPair]:
    """Previous pairs between unchanged records, as the model scored them."""
    carried: dict[Key, ScoredPair] = {}
    for pair in previous:
        key = _key(pair.a, pair.b)
        if pair.a in changed or pair.b in changed or key in rulings:
            continue
        if pair.a not in index or pair.b not in index:
            continue
        score = pair.features.get("model_score", pair.score)
        band = _band(score, config)
        if band != "distinct":
            explanation = pair.explanation.split(NOTE)[0]
            carried[key] = replace(
                pair, score=score, band=band, explanation=explanation
            )
    return carried


def _apply_rulings(
    pairs: dict[Key, ScoredPair], rulings: dict[Key, str]
) -> dict[Key, ScoredPair]:
    for key, kind in rulings.items():
        pair = pairs.pop(key)
        if kind == "must_link":
            note = f"{NOTE}reviewer must-link outranks model score {pair.score:.1f}"
            pairs[key] = replace(
                pair, score=100.0, band="auto", explanation=pair.explanation + note
            )
    return pairs


def _cluster(
    prep: Prepared,
    pairs: dict[Key, ScoredPair],
    rulings: dict[Key, str],
    config: MatchConfig,
) -> ClusterOutcome:
    rules = ClusterRules(
        link_threshold=config.link_threshold,
        max_cluster_size=config.max_cluster_size,
        sources=dict(zip(prep.ids, prep.sources, strict=True))
        if config.distinct_within_source
        else None,
    )
    links = {key: pair.score for key, pair in pairs.items()}
    must = [key for key, kind in rulings.items() if kind == "must_link"]
    cannot = [key for key, kind in rulings.items() if kind == "cannot_link"]
    return cluster_records(prep.ids, links, rules, _groups(must), cannot)


def _groups(edges: list[Key]) -> list[set[RecordID]]:
    parent: dict[RecordID, RecordID] = {}

    def find(x: RecordID) -> RecordID:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[RecordID, set[RecordID]] = {}
    for x in list(parent):
        groups.setdefault(find(x), set()).add(x)
    return list(groups.values())


def _settle(pairs: dict[Key, ScoredPair], outcome: ClusterOutcome) -> list[ScoredPair]:
    """Auto pairs the clustering kept apart go to review, with the reason."""
    owner = {r: k for k, cluster in enumerate(outcome.clusters) for r in cluster}
    settled = []
    for key in sorted(pairs):
        pair = pairs[key]
        if pair.band == "auto" and owner[pair.a] != owner[pair.b]:
            reason = outcome.held.get(key, CHAINING)
            note = f"{NOTE}not merged: {reason}"
            pair = replace(pair, band="review", explanation=pair.explanation + note)
        settled.append(pair)
    return settled
