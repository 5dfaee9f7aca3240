"""The one adapter between the pure dedupe core and storage.

Reads every listing and every reviewer decision, runs the matcher, keeps
opportunity ids stable (:func:`dedupe.ids.assign_ids`), writes memberships,
match pairs, merge and split events, and each opportunity's golden fields.

Matching is incremental: ``matched_listings`` (:mod:`storage.models_match`)
keeps what the matcher last saw of each listing, so a run compares only the
listings new or changed since then (and those of any reviewer decision),
carrying the stored match pairs for the rest; the result equals a full
rebuild, which ``full=True`` (or an empty marker table) runs instead.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from dedupe.ids import IdAssignment, assign_ids
from dedupe.match import match, resume_state
from dedupe.normalize import normalize_reference
from dedupe.prepared import MATCH_FIELDS
from dedupe.survive import rank_records, survive
from dedupe.types import Decision as MatchDecision
from dedupe.types import MatchRecord, MatchResult, ScoredPair
from storage.feed import record_change
from storage.models import (
    Decision,
    Listing,
    MatchPair,
    Opportunity,
    OpportunityMember,
    utcnow,
)
from storage.models_match import MatchedListing
from storage.repository import list_standing_decisions
from storage.session import transaction

logger = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
DESCRIPTION_CHARS = 2000
# feed fields taken, each, from the most trusted member that has it
FEED_FIELDS = (
    "title",
    "alternate_title",
    "provider_name",
    "provider_url",
    "training_provider_name",
    "opportunity_type",
    "level",
    "summary",
    "description_text",
    "description_safe_html",
    "opens_date",
    "closing_date",
    "posted_date",
    "start_date",
    "end_date",
    "duration_text",
    "hours_text",
    "positions",
    "pay",
    "cost",
    "support",
    "support_evidence",
    "locations",
    "mode",
    "eligibility",
    "apply_url",
)


@dataclass
class MatchSummary:
    listings: int
    opportunities: int
    merged: int
    review: int
    compared: int
    block_counts: dict[str, int]


def match_listings(
    factory: sessionmaker[Session], *, full: bool = False
) -> MatchSummary:
    """Match the listings new or changed since the last match against all the
    others, and bring opportunities and memberships up to date.

    Args:
        factory: sessions on the product's database.
        full: compare every listing afresh (also done when nothing was
            matched before). Either way the result is the same.
    """
    with transaction(factory) as session:
        listings = _listings(session)
        records = [to_match_record(listing) for listing in listings]
        decisions = _decisions(session)
        marks = {m.listing_id: m for m in session.scalars(select(MatchedListing))}
        if full or not marks:
            result = match(records, decisions)
        else:
            result = _match_changed(session, listings, records, decisions, marks)
        assignment = _assign(session, result)
        by_id = {str(listing.id): listing for listing in listings}
        _write_opportunities(session, assignment, by_id, records)
        _write_pairs(session, result)
        _write_marks(session, listings, records, marks)
    merged = sum(1 for c in result.clusters if len(c) > 1)
    logger.info(
        "Matched %d listings into %d opportunities (%d merged)",
        len(records),
        len(result.clusters),
        merged,
    )
    return MatchSummary(
        listings=len(records),
        opportunities=len(result.clusters),
        merged=merged,
        review=len(result.review),
        compared=result.compared,
        block_counts=result.block_counts,
    )


def _match_changed(
    session: Session,
    listings: list[Listing],
    records: list[MatchRecord],
    decisions: list[MatchDecision],
    marks: dict[int, MatchedListing],
) -> MatchResult:
    """Match against the state the last run left (its listings and pairs)."""
    previous = [record_from_json(mark.record) for mark in marks.values()]
    state = resume_state(previous, _stored_pairs(session))
    changed = {
        str(listing.id)
        for listing in listings
        if listing.id not in marks
        or marks[listing.id].changed_run_id != listing.changed_run_id
    }
    # stored pairs lack the pairs reviewers kept apart: compare those again
    changed |= _decided_listings(session)
    logger.info("Matching %d new or changed listings", len(changed))
    return match(records, decisions, changed=changed, state=state)


def _stored_pairs(session: Session) -> list[ScoredPair]:
    return [
        ScoredPair(
            str(pair.listing_a),
            str(pair.listing_b),
            pair.score,
            pair.band,  # type: ignore[arg-type]
            dict(pair.features),
            pair.explanation or "",
        )
        for pair in session.scalars(select(MatchPair))
    ]


def _decided_listings(session: Session) -> set[str]:
    rows = session.execute(select(Decision.listing_a, Decision.listing_b))
    return {str(listing) for pair in rows for listing in pair}


def record_to_json(record: MatchRecord) -> dict[str, Any]:
    """The fields matching reads, as JSON values."""
    values = {name: getattr(record, name) for name in MATCH_FIELDS}
    for name in ("closing", "start"):
        if values[name] is not None:
            values[name] = values[name].isoformat()
    values["source_ids"] = list(record.source_ids)
    return values


def record_from_json(values: dict[str, Any]) -> MatchRecord:
    fields = dict(values)
    for name in ("closing", "start"):
        if fields.get(name) is not None:
            fields[name] = date.fromisoformat(fields[name])
    fields["source_ids"] = tuple(fields.get("source_ids") or ())
    return MatchRecord(**fields)


def _write_marks(
    session: Session,
    listings: list[Listing],
    records: list[MatchRecord],
    marks: dict[int, MatchedListing],
) -> None:
    """Record what this run matched, where it differs from the marks."""
    now = utcnow()
    for listing, record in zip(listings, records, strict=True):
        values = record_to_json(record)
        mark = marks.pop(listing.id, None)
        if mark is None:
            session.add(
                MatchedListing(
                    listing_id=listing.id,
                    changed_run_id=listing.changed_run_id,
                    record=values,
                    matched=now,
                )
            )
        elif mark.record != values or mark.changed_run_id != listing.changed_run_id:
            mark.record, mark.changed_run_id, mark.matched = (
                values,
                listing.changed_run_id,
                now,
            )
    for gone in marks.values():
        session.delete(gone)


def _listings(session: Session) -> list[Listing]:
    query = (
        select(Listing)
        .options(selectinload(Listing.source), selectinload(Listing.member))
        .order_by(Listing.id)
    )
    return list(session.scalars(query))


def to_match_record(listing: Listing) -> MatchRecord:
    """A stored listing as the matcher sees it."""
    fields = listing.fields
    place = (fields.get("locations") or [{}])[0]
    pay = fields.get("pay") or {}
    return MatchRecord(
        id=str(listing.id),
        source=listing.source.name,
        title=listing.title,
        provider=listing.provider_name,
        postcode=listing.postcode,
        outcode=listing.outcode,
        lat=place.get("lat"),
        lon=place.get("lon"),
        closing=_london_date(listing.closing_date),
        start=_parse_date(fields.get("start_date")),
        pay_min=pay.get("min"),
        pay_max=pay.get("max"),
        apply_url=fields.get("canonical_apply_url"),
        url=listing.canonical_url,
        description=(fields.get("description_text") or "")[:DESCRIPTION_CHARS] or None,
        address=place.get("text"),
        trust=listing.source.trust_rank,
        seen=listing.last_seen,
        source_ids=tuple(filter(None, [normalize_reference(fields.get("reference"))])),
        extra={"source_kind": listing.source.provider_kind},
    )


def _london_date(value: datetime | None) -> date | None:
    return value.astimezone(LONDON).date() if value else None


def _parse_date(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).date()
    except ValueError:
        return None


def _decisions(session: Session) -> list[MatchDecision]:
    """The rulings that stand (an "unsure", or every decision undone, is none)."""
    rulings = []
    for pair, decision in sorted(list_standing_decisions(session).items()):
        if decision.kind in ("must_link", "cannot_link"):
            a, b = sorted(str(listing_id) for listing_id in pair)
            rulings.append(MatchDecision(a, b, decision.kind))  # type: ignore[arg-type]
    return rulings


def _assign(session: Session, result: MatchResult) -> IdAssignment:
    previous = {
        str(member.listing_id): member.opportunity_id
        for member in session.scalars(select(OpportunityMember))
    }
    created = dict(session.execute(select(Opportunity.id, Opportunity.created)).all())
    return assign_ids(
        previous,
        result.clusters,
        existing_ids_created=created,
        new_id=new_opportunity_id,
    )


def new_opportunity_id() -> str:
    return f"opp_{uuid.uuid4().hex[:16]}"


def _write_opportunities(
    session: Session,
    assignment: IdAssignment,
    listings: dict[str, Listing],
    records: Sequence[MatchRecord],
) -> None:
    existing = {o.id: o for o in session.scalars(select(Opportunity))}
    by_record = {r.id: r for r in records}
    now = utcnow()
    for cluster, opp_id in assignment.cluster_ids.items():
        opportunity = existing.get(opp_id)
        if opportunity is None:
            opportunity = Opportunity(id=opp_id, created=now, modified=now)
            session.add(opportunity)
            existing[opp_id] = opportunity
        members = [listings[r] for r in cluster]
        _set_members(session, opportunity, members)
        _set_golden(opportunity, members, [by_record[r] for r in cluster])
    for old_id, into in assignment.merged_into.items():
        merged = existing[old_id]
        merged.state, merged.merged_into = "merged", into
        merged.content_hash = None
    session.flush()
    for event in assignment.events:
        if event.kind in ("merged", "split"):
            record_change(
                session,
                existing[event.opp_id],
                event.kind,
                {"ids": list(event.related)},
            )


def _set_members(
    session: Session, opportunity: Opportunity, members: list[Listing]
) -> None:
    for listing in members:
        if listing.member is None:
            listing.member = OpportunityMember(
                listing_id=listing.id, opportunity_id=opportunity.id
            )
            session.add(listing.member)
        elif listing.member.opportunity_id != opportunity.id:
            listing.member.opportunity_id = opportunity.id


def _set_golden(
    opportunity: Opportunity, members: list[Listing], records: list[MatchRecord]
) -> None:
    golden = survive(records)
    ranked = [
        next(m for m in members if str(m.id) == r.id) for r in rank_records(records)
    ]
    values: dict[str, Any] = {}
    field_sources: dict[str, str] = {}
    for name in FEED_FIELDS:
        for listing in ranked:
            value = listing.fields.get(name)
            if value not in (None, "", [], {}):
                values[name] = value
                field_sources[name] = listing.source.name
                break
    values["in_scope"] = any(m.in_scope for m in members)
    values["apply_url"] = golden.apply_url or values.get("apply_url")
    values["field_sources"] = field_sources
    values["sources"] = [golden.primary_source, *golden.also_listed_on]
    values["also_listed_on"] = list(golden.also_listed_on)
    values["licences"] = sorted({m.source.licence for m in members if m.source.licence})
    values["attributions"] = sorted(
        {m.source.attribution for m in members if m.source.attribution}
    )
    opportunity.golden = values
    opportunity.title = values.get("title")
    opportunity.opportunity_type = values.get("opportunity_type")
    opportunity.in_scope = values["in_scope"]
    opportunity.ever_in_scope = bool(opportunity.ever_in_scope or values["in_scope"])
    closing = values.get("closing_date")
    opportunity.closing_date = datetime.fromisoformat(closing) if closing else None
    if opportunity.state in ("merged", "deleted"):
        opportunity.state, opportunity.merged_into = "live", None


def _write_pairs(session: Session, result: MatchResult) -> None:
    """Replace the stored pairs with this run's (auto and review bands)."""
    session.execute(delete(MatchPair))
    now = utcnow()
    session.add_all(
        MatchPair(
            listing_a=int(pair.a),
            listing_b=int(pair.b),
            score=pair.score,
            band=pair.band,
            features=pair.features,
            explanation=pair.explanation,
            updated=now,
        )
        for pair in result.pairs
    )
