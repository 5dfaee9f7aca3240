"""Scoring: field similarities (see ``compare``) combined into one 0-100 score.

``MatchConfig.comparisons`` turns each 0-100 similarity into bits of evidence;
the pair's score is 100 * P(match) given the prior and those bits, also 0-100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from dedupe.arrays import unique_inverse
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
    prep: Prepared, left: np.ndarray, right: np.ndarray, config: MatchConfig
) -> PairScores:
    """Features, evidence and 0-100 scores of row pairs, vectorised."""
    features = {
        name: FEATURES[name](prep, left, right, config.workers)
        for name in config.comparisons
    }
    weights = {
        name: _weights(values, config.comparisons[name])
        for name, values in features.items()
    }
    total = config.prior + sum(weights.values(), np.zeros(len(left)))
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


def explain_all(scores: PairScores, picked: np.ndarray, prior: float) -> list[str]:
    """``explain`` of each picked pair, formatted once per pattern of evidence
    (which fields are present and the bits each gives)."""
    names = list(scores.features)
    values = np.column_stack([scores.features[n][picked] for n in names])
    bits = np.column_stack([scores.weights[n][picked] for n in names])
    patterns = _patterns(values, bits)
    out: list[str] = [""] * len(picked)
    for pattern in np.unique(patterns).tolist():
        members = np.flatnonzero(patterns == pattern)
        first = int(members[0])
        template, columns = _template(names, values[first], bits[first])
        total = float(scores.total_bits[picked[first]])
        template += f"prior {prior:+.1f}, total {total:+.1f} bits -> {{}}/100"
        shown = values[np.ix_(members, columns)].tolist()
        final = scores.score[picked[members]].tolist()
        for k, row, score in zip(members.tolist(), shown, final, strict=True):
            out[k] = template.format(*row, f"{score:.1f}")
    return out


def _patterns(values: np.ndarray, bits: np.ndarray) -> np.ndarray:
    """One int64 per pair naming its present fields and their bits."""
    pattern = np.zeros(len(values), dtype=np.int64)
    for column in range(values.shape[1]):
        levels, code = np.unique(bits[:, column], return_inverse=True)
        code = np.where(np.isnan(values[:, column]), len(levels), code)
        pattern = pattern * (len(levels) + 1) + code
        if pattern.max(initial=0) > 1 << 40:  # renumber before int64 overflows
            pattern = unique_inverse(pattern)[1]
    return pattern


def _template(
    names: list[str], values: np.ndarray, bits: np.ndarray
) -> tuple[str, list[int]]:
    present = [
        (float(bits[c]), names[c], c)
        for c in range(len(names))
        if not math.isnan(values[c])
    ]
    present.sort(key=lambda item: (-abs(item[0]), item[1]))
    missing = [names[c] for c in range(len(names)) if math.isnan(values[c])]
    parts = [f"{name} {{:.0f}}/100 ({b:+.1f} bits)" for b, name, _ in present]
    if missing:
        parts.append("no evidence from " + ", ".join(missing))
    return "; ".join(parts + [""]), [c for _, _, c in present]
