"""Publishing: each opportunity's state from its members, and the change feed.

An opportunity is ``live`` while any member listing is active, ``closed`` when
every member has closed, and ``deleted`` when it has no members left. Whenever
what a consumer would see changes, it gets a new change number and a
``FeedChange`` row; an unchanged opportunity is left alone, so a re-run of the
same data writes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload, sessionmaker

from storage.models import FeedChange, Listing, Opportunity, OpportunityMember, utcnow
from storage.session import transaction


@dataclass
class PublishSummary:
    published: int
    changed: int
    live: int
    closed: int
    deleted: int


def publish_feed(factory: sessionmaker[Session]) -> PublishSummary:
    with transaction(factory) as session:
        changed = 0
        for opportunity in _opportunities(session):
            if _refresh_state(session, opportunity):
                changed += 1
        counts = dict(
            session.execute(
                select(Opportunity.state, func.count()).group_by(Opportunity.state)
            ).all()
        )
        published = session.scalar(select(func.count()).where(*_published()))
    return PublishSummary(
        published=published or 0,
        changed=changed,
        live=counts.get("live", 0),
        closed=counts.get("closed", 0),
        deleted=counts.get("deleted", 0),
    )


def _opportunities(session: Session) -> Iterator[Opportunity]:
    query = (
        select(Opportunity)
        .where(Opportunity.state != "merged")
        .options(
            selectinload(Opportunity.members).selectinload(OpportunityMember.listing)
        )
        .order_by(Opportunity.id)
    )
    yield from session.scalars(query)


def _refresh_state(session: Session, opportunity: Opportunity) -> bool:
    statuses = {m.listing.status for m in opportunity.members}
    if not statuses:
        state = "deleted"
    elif "active" in statuses:
        state = "live"
    else:
        state = "closed"
    opportunity.state = state
    digest = _digest(opportunity)
    if digest == opportunity.content_hash:
        return False
    opportunity.content_hash = digest
    record_change(session, opportunity, "deleted" if state == "deleted" else "updated")
    return True


def record_change(
    session: Session,
    opportunity: Opportunity,
    kind: str,
    related: dict[str, Any] | None = None,
) -> FeedChange:
    """Give ``opportunity`` a new change number and stamp, and log the change."""
    change = FeedChange(
        opportunity_id=opportunity.id, kind=kind, related=related or {}, at=utcnow()
    )
    session.add(change)
    session.flush()
    opportunity.change_no = change.change_no
    opportunity.modified = change.at
    return change


def _digest(opportunity: Opportunity) -> str:
    members = sorted(m.listing_id for m in opportunity.members)
    payload = {"state": opportunity.state, "golden": opportunity.golden, "m": members}
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _published() -> tuple[Any, ...]:
    return (Opportunity.state == "live", Opportunity.in_scope.is_(True))


def list_published(
    session: Session, *, in_scope_only: bool = True
) -> Iterator[Opportunity]:
    """The published feed, in (modified, id) order, with members loaded."""
    conditions = _published() if in_scope_only else (Opportunity.state == "live",)
    query = (
        select(Opportunity)
        .where(*conditions)
        .options(
            selectinload(Opportunity.members)
            .selectinload(OpportunityMember.listing)
            .selectinload(Listing.source)
        )
        .order_by(Opportunity.modified, Opportunity.id)
        .execution_options(yield_per=500)
    )
    yield from session.scalars(query)


def to_feed_record(opportunity: Opportunity) -> dict[str, Any]:
    """One published opportunity as a consumer reads it."""
    members = [m.listing for m in opportunity.members]
    return {
        "id": opportunity.id,
        "state": opportunity.state,
        "modified": opportunity.modified.isoformat(),
        "change_no": opportunity.change_no,
        **opportunity.golden,
        "listings": [
            {
                "source": listing.source.name,
                "source_key": listing.source_key,
                "url": listing.url,
                "status": listing.status,
                "first_seen": listing.first_seen.isoformat(),
                "last_seen": listing.last_seen.isoformat(),
                "licence": listing.source.licence,
                "attribution": listing.source.attribution,
            }
            for listing in sorted(members, key=lambda x: x.id)
        ],
    }
