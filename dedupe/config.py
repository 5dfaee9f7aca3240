"""Matching configuration: comparison levels, bands, blocking and clustering.

Scales: every similarity and every threshold here is 0-100 (rapidfuzz's scale;
100 = identical). Level weights are log2 Bayes factors ("bits" of evidence for
a match); a pair's score is 100 * P(match) from the prior plus its weights.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Level:
    at_least: float  # similarity 0-100
    weight: float  # bits

    def __post_init__(self) -> None:
        if not 0 <= self.at_least <= 100:
            raise ValueError(f"Level.at_least runs 0-100, got {self.at_least}")


@dataclass(frozen=True)
class Comparison:
    """Levels tried from the first; ``otherwise`` applies when none is reached.
    A missing value on either side weighs 0 (no evidence)."""

    levels: tuple[Level, ...]
    otherwise: float

    def explain_level(self, similarity: float) -> float:
        for level in self.levels:
            if similarity >= level.at_least:
                return level.weight
        return self.otherwise


def _cmp(otherwise: float, *levels: tuple[float, float]) -> Comparison:
    return Comparison(tuple(Level(a, w) for a, w in levels), otherwise)


DEFAULT_COMPARISONS: dict[str, Comparison] = {
    "title": _cmp(-5.0, (97, 5.0), (90, 3.0), (80, 1.0), (65, -1.5)),
    "provider": _cmp(-3.0, (95, 2.5), (85, 1.5), (70, 0.0)),
    "place": _cmp(-3.0, (95, 1.5), (80, 0.5), (50, -0.5)),
    "closing": _cmp(-2.5, (100, 1.5), (85, 0.5)),
    "start": _cmp(-2.5, (100, 1.0), (85, 0.5)),
    "pay": _cmp(-2.0, (95, 1.0), (80, 0.3)),
    "apply_url": _cmp(0.0, (100, 6.0)),
    "url": _cmp(0.0, (100, 6.0)),
    "description": _cmp(-1.0, (90, 2.0), (70, 0.5)),
    "phone": _cmp(-1.0, (100, 4.0)),
    "address": _cmp(-2.0, (95, 3.0), (80, 1.0)),
    "source_ids": _cmp(0.0, (100, 10.0)),
}

DEFAULT_BLOCK_KEYS = (
    "provider",
    "title_tokens",
    "outcode",
    "apply_url",
    "url",
    "source_ids",
    "phone",
    "address",
)


@dataclass(frozen=True)
class MatchConfig:
    """``prior``: log2 odds of a match before any evidence, for a blocked pair.

    Bands (0-100): ``auto_threshold`` <= score is auto-merge, ``review_threshold``
    <= score < auto is review, lower is distinct. Clusters merge while the
    average link (0-100, pairs not compared or distinct count 0) between them
    reaches ``link_threshold`` and one of those pairs is in the auto band: the
    review band alone never merges.
    """

    comparisons: dict[str, Comparison] = field(
        default_factory=lambda: dict(DEFAULT_COMPARISONS)
    )
    prior: float = -4.0
    auto_threshold: float = 90.0
    review_threshold: float = 50.0
    link_threshold: float = 80.0
    max_cluster_size: int = 12
    block_keys: tuple[str, ...] = DEFAULT_BLOCK_KEYS
    max_block_size: int = 60  # all pairs up to this many records
    thin_score_cutoff: float = 60.0  # 0-100 title token_sort_ratio, bigger blocks
    thin_top_k: int | None = 10  # per record in a thinned block; None keeps all
    hard_block_size: int = 5000  # blocks beyond this are dropped
    cross_source_only: bool = False
    distinct_within_source: bool = False
    workers: int = -1

    def __post_init__(self) -> None:
        for name in ("auto_threshold", "review_threshold", "link_threshold"):
            value = getattr(self, name)
            if not 0 <= value <= 100:
                raise ValueError(f"{name} runs 0-100, got {value}")
        if self.review_threshold > self.auto_threshold:
            raise ValueError("review_threshold must not exceed auto_threshold")
