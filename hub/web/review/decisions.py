"""Reviewers' decisions: writing them, undoing them, and re-clustering after.

A decision is a row of ``decisions`` and is never deleted or edited: undo is a
new ``undo`` decision on the same pair, which takes back the latest decision
and lets the one it replaced count again; the decision that stands on a pair
counts (``dedupe.adapter.match_listings`` reads them the same way on every run,
so each decision is re-applied until another replaces it).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import Decision, MatchPair, OpportunityMember, utcnow
from storage.models_review import DecisionEvidence
from storage.repository import list_standing_decisions

logger = logging.getLogger(__name__)

PairKey = tuple[int, int]
# what a reviewer says -> the decision kind stored
KINDS = {"same": "must_link", "different": "cannot_link", "unsure": "unsure"}
RULING_KINDS = ("must_link", "cannot_link")


@dataclass(frozen=True)
class MachineView:
    """What the machine thought of a pair: score 0-100 and band, or unscored."""

    score: float | None = None
    band: str | None = None
    features: dict[str, Any] = field(default_factory=dict)
    explanation: str | None = None


def pair_key(a: int, b: int) -> PairKey:
    if a == b:
        raise ValueError(f"a pair needs two listings, got {a} twice")
    return (a, b) if a < b else (b, a)


def pair_slug(key: PairKey) -> str:
    return f"{key[0]}-{key[1]}"


def latest_decisions(session: Session) -> dict[PairKey, Decision]:
    """The decision that counts on each pair (see
    :func:`storage.repository.list_standing_decisions`)."""
    return list_standing_decisions(session)


def is_open(decision: Decision | None) -> bool:
    """True when a pair waits for review: never decided, or its decision undone."""
    return decision is None or decision.kind == "undo"


def machine_view(session: Session, key: PairKey) -> MachineView:
    """The machine's view before any reviewer: from the first evidence recorded
    on the pair, else its stored match pair, else distinct or unscored."""
    earlier = _first_evidence(session, key)
    if earlier is not None:
        return MachineView(
            earlier.score, earlier.band, dict(earlier.features), earlier.explanation
        )
    pair = session.scalar(
        select(MatchPair).where(
            MatchPair.listing_a.in_(key), MatchPair.listing_b.in_(key)
        )
    )
    if pair is not None:
        return MachineView(pair.score, pair.band, dict(pair.features), pair.explanation)
    return MachineView(band=None if _same_cluster(session, key) else "distinct")


def _first_evidence(session: Session, key: PairKey) -> DecisionEvidence | None:
    query = (
        select(DecisionEvidence)
        .join(Decision, Decision.id == DecisionEvidence.decision_id)
        .where(Decision.listing_a == key[0], Decision.listing_b == key[1])
        .order_by(Decision.at, Decision.id)
        .limit(1)
    )
    return session.scalar(query)


def _same_cluster(session: Session, key: PairKey) -> bool:
    found = session.scalars(
        select(OpportunityMember.opportunity_id).where(
            OpportunityMember.listing_id.in_(key)
        )
    ).all()
    return len(found) == 2 and found[0] == found[1]


def record_action(
    session: Session,
    pairs: Iterable[PairKey],
    kind: str,
    reviewer: str,
    reason: str | None,
) -> str:
    """Write one decision per pair, grouped as one action; returns its id."""
    if kind not in (*RULING_KINDS, "unsure", "undo"):
        raise ValueError(f"unknown decision kind {kind!r}")
    action = uuid.uuid4().hex
    now = utcnow()
    for key in pairs:
        view = machine_view(session, key)
        decision = Decision(
            listing_a=key[0],
            listing_b=key[1],
            kind=kind,
            reviewer=reviewer,
            reason=reason or None,
            at=now,
        )
        session.add(decision)
        session.flush()
        session.add(_evidence(decision.id, action, view))
    session.flush()
    logger.info("%s decided %s on pairs of action %s", reviewer, kind, action)
    return action


def _evidence(decision_id: int, action: str, view: MachineView) -> DecisionEvidence:
    return DecisionEvidence(
        decision_id=decision_id,
        action=action,
        score=view.score,
        band=view.band,
        features=view.features,
        explanation=view.explanation,
    )


def decide_pair(
    session: Session, key: PairKey, said: str, reviewer: str, reason: str | None
) -> str:
    """Record "same", "different" or "unsure" on one pair."""
    if said not in KINDS:
        raise ValueError(f"a reviewer says one of {', '.join(KINDS)}, got {said!r}")
    return record_action(session, [key], KINDS[said], reviewer, reason)


def split_out(
    session: Session, listing_id: int, reviewer: str, reason: str | None
) -> list[PairKey]:
    """Cannot-link ``listing_id`` with every other member of its opportunity."""
    member = session.get(OpportunityMember, listing_id)
    if member is None:
        return []
    others = session.scalars(
        select(OpportunityMember.listing_id).where(
            OpportunityMember.opportunity_id == member.opportunity_id,
            OpportunityMember.listing_id != listing_id,
        )
    ).all()
    pairs = sorted(pair_key(listing_id, other) for other in others)
    if pairs:
        record_action(session, pairs, "cannot_link", reviewer, reason)
    return pairs


def undo_last(session: Session, reviewer: str) -> list[PairKey]:
    """Take back the reviewer's latest action that still counts on some pair.

    Each pair of that action whose latest decision is still the action's gets
    an ``undo`` decision; repeated undos walk further back. Returns the pairs.
    """
    latest = latest_decisions(session)
    for action, decisions in _actions_newest_first(session, reviewer):
        standing = [
            pair_key(d.listing_a, d.listing_b)
            for d in decisions
            if _still_counts(latest, d)
        ]
        if standing:
            record_action(session, standing, "undo", reviewer, f"undo of {action}")
            return standing
    return []


def _still_counts(latest: dict[PairKey, Decision], decision: Decision) -> bool:
    current = latest.get(pair_key(decision.listing_a, decision.listing_b))
    return current is not None and current.id == decision.id


def _actions_newest_first(
    session: Session, reviewer: str
) -> list[tuple[str, list[Decision]]]:
    query = (
        select(DecisionEvidence.action, Decision)
        .join(Decision, Decision.id == DecisionEvidence.decision_id)
        .where(Decision.reviewer == reviewer, Decision.kind != "undo")
        .order_by(Decision.at.desc(), Decision.id.desc())
    )
    actions: dict[str, list[Decision]] = {}
    for action, decision in session.execute(query).tuples():
        actions.setdefault(action, []).append(decision)
    return list(actions.items())
