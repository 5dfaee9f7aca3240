"""How often the machine was right, on the pairs reviewers ruled on, by band.

A pair counts once, by its decision that counts (the latest), when that is
"same" (must-link) or "different" (cannot-link); unsure and undone pairs are
left out. The machine's call is the band it gave the pair before any reviewer
(:class:`storage.models_review.DecisionEvidence`): auto means same, distinct
means different, and in the review band it leans by score (0-100): at or above
50 it leans same. Pairs it never scored (cluster members linked only through
others) are counted but have no call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.web.review.decisions import RULING_KINDS, latest_decisions
from hub.web.review.queue import MIDPOINT
from storage.models_review import DecisionEvidence

BANDS = ("auto", "review", "distinct", None)


@dataclass
class BandAccuracy:
    band: str | None
    checked: int = 0
    right: int = 0
    said_same: int = 0

    @property
    def rate(self) -> float | None:
        """Share right, 0-1; None with nothing checked or no call to check."""
        if not self.checked or self.band is None:
            return None
        return self.right / self.checked


def machine_says_same(band: str | None, score: float | None) -> bool | None:
    if band == "auto":
        return True
    if band == "distinct":
        return False
    if band == "review" and score is not None:
        return score >= MIDPOINT
    return None


def tally(
    rulings: Iterable[tuple[str, str | None, float | None]],
) -> list[BandAccuracy]:
    """(decision kind, band, score) per ruled pair -> one row per band."""
    rows = {band: BandAccuracy(band) for band in BANDS}
    for kind, band, score in rulings:
        row = rows[band if band in rows else None]
        row.checked += 1
        reviewer_same = kind == "must_link"
        row.said_same += reviewer_same
        row.right += machine_says_same(band, score) is reviewer_same
    return list(rows.values())


def accuracy_by_band(session: Session) -> list[BandAccuracy]:
    latest = [d for d in latest_decisions(session).values() if d.kind in RULING_KINDS]
    evidence = {
        e.decision_id: e
        for e in session.scalars(
            select(DecisionEvidence).where(
                DecisionEvidence.decision_id.in_([d.id for d in latest])
            )
        )
    }
    rulings = []
    for decision in latest:
        found = evidence.get(decision.id)
        band, score = (found.band, found.score) if found else (None, None)
        rulings.append((decision.kind, band, score))
    return tally(rulings)
