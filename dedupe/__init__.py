"""Pure dedupe core: normalize -> block -> score -> cluster -> survive.

Scores and thresholds are on a 0-100 scale throughout (rapidfuzz's).
"""

from __future__ import annotations

from dedupe.config import Comparison, Level, MatchConfig
from dedupe.ids import IdAssignment, IdEvent, assign_ids
from dedupe.match import match
from dedupe.state import MatchState
from dedupe.survive import Golden, survive
from dedupe.types import (
    Decision,
    MatchRecord,
    MatchResult,
    OppID,
    RecordID,
    ScoredPair,
)

__all__ = [
    "Comparison",
    "Decision",
    "Golden",
    "IdAssignment",
    "IdEvent",
    "Level",
    "MatchConfig",
    "MatchRecord",
    "MatchResult",
    "MatchState",
    "OppID",
    "RecordID",
    "ScoredPair",
    "assign_ids",
    "match",
    "survive",
]
