"""Every decision as JSON, and back: for backups and for moving deployments.

Listings are named by (source name, source key), never by internal id, so a
file exported from one database imports into another that crawled the same
sources. Import is idempotent: a decision already present (same pair, kind,
reviewer and time) is not written twice; one naming a listing this database
does not hold is counted and left out.

Format (``"format": "opportunity-hub-decisions/1"``)::

    {"format": ..., "exported_at": "...", "decisions": [
      {"a": {"source": "nhs_jobs", "source_key": "..."}, "b": {...},
       "kind": "must_link", "reviewer": "ana", "reason": "...", "at": "...",
       "machine": {"score": 63.2, "band": "review"}}]}
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.web.review.decisions import MachineView, PairKey, machine_view, pair_key
from storage.models import Decision, Listing, Source, utcnow
from storage.models_review import DecisionEvidence

logger = logging.getLogger(__name__)

FORMAT = "opportunity-hub-decisions/1"
KINDS = ("must_link", "cannot_link", "unsure", "undo")
ListingName = tuple[str, str]


class TransferError(ValueError):
    """A decisions file that is not one this hub wrote."""


@dataclass(frozen=True)
class ImportSummary:
    added: int
    already_present: int
    unknown_listings: int


def export_decisions(session: Session) -> dict[str, Any]:
    names = _names_by_id(session)
    query = (
        select(Decision, DecisionEvidence)
        .outerjoin(DecisionEvidence, DecisionEvidence.decision_id == Decision.id)
        .order_by(Decision.at, Decision.id)
    )
    rows = [
        _exported(decision, evidence, names)
        for decision, evidence in session.execute(query).tuples()
    ]
    return {"format": FORMAT, "exported_at": utcnow().isoformat(), "decisions": rows}


def _names_by_id(session: Session) -> dict[int, ListingName]:
    query = select(Listing.id, Source.name, Listing.source_key).join(Source)
    return {row[0]: (row[1], row[2]) for row in session.execute(query)}


def _exported(
    decision: Decision,
    evidence: DecisionEvidence | None,
    names: dict[int, ListingName],
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "a": _named(names[decision.listing_a]),
        "b": _named(names[decision.listing_b]),
        "kind": decision.kind,
        "reviewer": decision.reviewer,
        "reason": decision.reason,
        "at": decision.at.isoformat(),
    }
    if evidence is not None:
        row["machine"] = {"score": evidence.score, "band": evidence.band}
    return row


def _named(name: ListingName) -> dict[str, str]:
    return {"source": name[0], "source_key": name[1]}


def import_decisions(session: Session, document: Any) -> ImportSummary:
    """Add the file's decisions that this database lacks; see the module doc."""
    entries = _entries(document)
    ids = {name: i for i, name in _names_by_id(session).items()}
    present = _present(session)
    added = known = unknown = 0
    action = uuid.uuid4().hex
    for entry in entries:
        key = _pair(entry, ids)
        if key is None:
            unknown += 1
            continue
        signature = (key, entry["kind"], entry["reviewer"], entry["at"])
        if signature in present:
            known += 1
            continue
        present.add(signature)
        _add(session, key, entry, action)
        added += 1
    logger.info("Imported %d decisions (%d present, %d unknown)", added, known, unknown)
    return ImportSummary(added, known, unknown)


def _entries(document: Any) -> list[dict[str, Any]]:
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise TransferError(f"not a decisions file: expected format {FORMAT!r}")
    decisions = document.get("decisions")
    if not isinstance(decisions, list):
        raise TransferError("a decisions file holds a list under 'decisions'")
    return [_checked(entry, n) for n, entry in enumerate(decisions)]


def _checked(entry: Any, n: int) -> dict[str, Any]:
    try:
        at = datetime.fromisoformat(entry["at"])
        names = [(entry[s]["source"], entry[s]["source_key"]) for s in ("a", "b")]
        kind, reviewer = entry["kind"], entry["reviewer"]
    except KeyError as exc:
        raise TransferError(f"decision {n} has no {exc.args[0]!r}") from None
    except (TypeError, ValueError):
        raise TransferError(
            f"decision {n} is malformed: 'at' must be an ISO 8601 time, 'a' and "
            "'b' each a source and a source_key"
        ) from None
    if kind not in KINDS or at.tzinfo is None or not isinstance(reviewer, str):
        raise TransferError(f"decision {n}: bad kind, time zone or reviewer")
    reason = entry.get("reason")
    return {
        "names": names,
        "kind": kind,
        "reviewer": reviewer[:100],
        "reason": reason if isinstance(reason, str) else None,
        "at": at.astimezone(UTC),
        "machine": _machine(entry.get("machine")),
    }


def _machine(value: Any) -> MachineView | None:
    if not isinstance(value, dict):
        return None
    score, band = value.get("score"), value.get("band")
    if band not in ("auto", "review", "distinct", None):
        return None
    return MachineView(float(score) if isinstance(score, int | float) else None, band)


def _pair(entry: dict[str, Any], ids: dict[ListingName, int]) -> PairKey | None:
    a, b = (ids.get(tuple(name)) for name in entry["names"])  # type: ignore[arg-type]
    if a is None or b is None or a == b:
        return None
    return pair_key(a, b)


def _present(session: Session) -> set[tuple[Any, ...]]:
    return {
        (pair_key(d.listing_a, d.listing_b), d.kind, d.reviewer, d.at)
        for d in session.scalars(select(Decision))
    }


def _add(session: Session, key: PairKey, entry: dict[str, Any], action: str) -> None:
    view = entry["machine"] or machine_view(session, key)
    decision = Decision(
        listing_a=key[0],
        listing_b=key[1],
        kind=entry["kind"],
        reviewer=entry["reviewer"],
        reason=entry["reason"],
        at=entry["at"],
    )
    session.add(decision)
    session.flush()
    session.add(
        DecisionEvidence(
            decision_id=decision.id,
            action=action,
            score=view.score,
            band=view.band,
            features=view.features,
            explanation=view.explanation,
        )
    )
