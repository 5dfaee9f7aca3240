"""Scoring: field similarities (see ``compare``) combined into one 0-100 score.

``MatchConfig.comparisons`` turns each 0-100 similarity into bits of evidence;
the pair's score is 100 * P(match) given the prior and those bits, also 0-100.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dedupe.compare import FEATURES
from dedupe.config import Comparison, MatchConfig
from dedupe.prepared import Prepared


@dataclass(frozen=True)
class PairScores:
    left: np.ndarray
    right: np.ndarray
    features: dict[str, np.ndarray]  # 0-100, NaN = missing
    weights: dict[str, np.ndarray]  # bits
    total_bits: np.ndarray
    score: np.ndarray  # 0-100


def score_pairs(
    prep: Prepared, pairs: Sequence[tuple[int, int]], config: MatchConfig
) -> PairScores:
    """Features, evidence and 0-100 scores of index pairs, vectorised."""
    left = np.array([i for i, _ in pairs], dtype=np.int64)
    right = np.array([j for _, j in pairs], dtype=np.int64)
    features = {
        name: FEATURES[name](prep, left, right, config.workers)
        for name in config.comparisons
    }
    weights = {
        name: _weights(values, config.comparisons[name])
        for name, values in features.items()
    }
    total = config.prior + sum(weights.values(), np.zeros(len(pairs)))
    score = np.round(100.0 / (1.0 + np.exp2(-total)), 2)
    return PairScores(left, right, features, weights, total, score)


def _weights(values: np.ndarray, comparison: Comparison) -> np.ndarray:
    conditions = [values >= level.at_least for level in comparison.levels]
    choices = [level.weight for level in comparison.levels]
    weights = np.select(conditions, choices, default=comparison.otherwise)
    return np.where(np.isnan(values), 0.0, weights)


def explain(scores: PairScores, k: int, prior: float) -> str:
    """Human-readable account of pair ``k``: each field's similarity and bits."""
    present, missing = [], []
    for name, values in scores.features.items():
        value = values[k]
        if math.isnan(value):
            missing.append(name)
        else:
            present.append((scores.weights[name][k], name, value))
    present.sort(key=lambda item: (-abs(item[0]), item[1]))
    parts = [
        f"{name} {value:.0f}/100 ({bits:+.1f} bits)" for bits, name, value in present
    ]
    if missing:
        parts.append("no evidence from " + ", ".join(missing))
    total = float(scores.total_bits[k])
    parts.append(
        f"prior {prior:+.1f}, total {total:+.1f} bits -> {scores.score[k]:.1f}/100"
    )
    return "; ".join(parts)
