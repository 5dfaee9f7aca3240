"""The change feed in the manner of OpenActive's RPDE ("modified" ordering).

Items run in (modified, id) order; ``modified`` is the change stamp in integer
microseconds since 1970 UTC, and a position is ``afterTimestamp`` (that
integer) with ``afterId``. An opportunity that was deleted or merged away, or
is not published, is a ``deleted`` item with ``data: null``; a merged one also
names ``merged_into``. Every item carries the merge and split ``events`` of its
id recorded after the page's position, naming the ids involved. Tombstones are
never purged, so they outlive the seven days consumers are promised.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.orm import Session

from hub.web.records import golden_record
from storage.feed import FeedPosition, list_feed_page, list_id_events
from storage.models import FeedChange

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_RPDE_PAGE = 500
Scope = Literal["published", "all"]


def to_micros(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def rpde_page(
    session: Session,
    after: FeedPosition | None,
    limit: int,
    scope: Scope,
    licence: str,
    next_url: Callable[[FeedPosition | None], str],
) -> dict[str, Any]:
    """One page; ``next_url(None)`` is the URL of this very page (the last)."""
    opportunities = list_feed_page(session, after, limit)
    since = after.modified if after else None
    events = list_id_events(session, [o.id for o in opportunities], since)
    items = [_item(o, scope, events.get(o.id, [])) for o in opportunities]
    last = opportunities[-1] if opportunities else None
    position = FeedPosition(last.modified, last.id) if last else None
    return {
        "next": next_url(position),
        "items": items,
        "license": licence,
    }


def _item(
    opportunity: Row[Any], scope: Scope, events: list[FeedChange]
) -> dict[str, Any]:
    gone = opportunity.state in ("deleted", "merged")
    hidden = scope == "published" and not opportunity.in_scope
    item: dict[str, Any] = {
        "state": "deleted" if gone or hidden else "updated",
        "kind": "Opportunity",
        "id": opportunity.id,
        "modified": to_micros(opportunity.modified),
    }
    if opportunity.state == "merged":
        item["merged_into"] = opportunity.merged_into
    if events:
        item["events"] = [_event(change) for change in events]
    item["data"] = None if item["state"] == "deleted" else _data(opportunity)
    return item


def _data(opportunity: Row[Any]) -> dict[str, Any]:
    record = golden_record(
        opportunity.id, opportunity.state, opportunity.modified, opportunity.golden
    )
    record["change_no"] = opportunity.change_no
    return record


def _event(change: FeedChange) -> dict[str, Any]:
    ids = change.related.get("ids") if isinstance(change.related, dict) else None
    return {
        "kind": change.kind,
        "change_no": change.change_no,
        "at": change.at.isoformat(),
        "ids": [str(i) for i in ids] if isinstance(ids, list) else [],
    }
