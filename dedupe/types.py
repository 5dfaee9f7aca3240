"""The nouns of the dedupe core: records in, scored pairs and clusters out.

Scores are on rapidfuzz's 0-100 scale throughout (100 = certainly the same).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

RecordID = str
OppID = str
Band = Literal["auto", "review", "distinct"]
DecisionKind = Literal["must_link", "cannot_link"]


@dataclass(frozen=True, slots=True)
class MatchRecord:
    """What one source says about one opportunity, as the matcher sees it.

    ``trust``: lower is more trusted (government and the provider's own site
    rank above aggregators). ``apply_url`` is expected to be canonical already.
    """

    id: RecordID
    source: str
    title: str | None
    provider: str | None = None
    postcode: str | None = None
    outcode: str | None = None
    lat: float | None = None
    lon: float | None = None
    closing: date | None = None
    start: date | None = None
    pay_min: float | None = None
    pay_max: float | None = None
    apply_url: str | None = None
    url: str | None = None
    description: str | None = None
    phone: str | None = None
    address: str | None = None
    source_ids: tuple[str, ...] = ()
    trust: int = 50
    seen: datetime | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Decision:
    """A reviewer's ruling on two records; outranks every score."""

    a: RecordID
    b: RecordID
    kind: DecisionKind


@dataclass(frozen=True, slots=True)
class ScoredPair:
    """Two records compared. ``score`` is 0-100; ``features`` hold each field's
    similarity (0-100) plus ``model_score``, the score before any decision."""

    a: RecordID
    b: RecordID
    score: float
    band: Band
    features: dict[str, float]
    explanation: str


@dataclass(frozen=True, slots=True)
class MatchResult:
    clusters: list[frozenset[RecordID]]
    pairs: list[ScoredPair]
    review: list[ScoredPair]
    block_counts: dict[str, int]
    compared: int
