"""The change feed in the manner of OpenActive's RPDE ("modified" ordering).

Items run in (modified, id) order; ``modified`` is the change stamp in integer
microseconds since 1970 UTC, and a position is ``afterTimestamp`` (that
integer) with ``afterId``. An opportunity that was deleted or merged away, or
is not published, is a ``deleted`` item with ``data: null``; a merged one also
names ``merged_into``. Every item carries the merge and split ``events`` of its
id recorded after the page's position, naming the ids involved. Tombstones are
never purged, so they outlive the seven days consumers are promised. The
published feed leaves out opportunities never in scope: it never sent them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Row
from sqlalchemy.orm import Session

from storage.feed import FeedPosition, list_feed_page, list_goldens, list_id_events
from storage.models import FeedChange
from storage.records import dumps, feed_record
from storage.session import as_utf8

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_RPDE_PAGE = 500
Scope = Literal["published", "all"]


def to_micros(value: datetime) -> int:
    return (value - EPOCH) // timedelta(microseconds=1)


def from_micros(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


@dataclass(frozen=True)
class RpdePage:
    """One page of the change feed: its JSON (UTF-8), how many items, the
    position after its last item (None on the last page, which has none), and
    whether every record in it is one publishing stored (none made now from a
    golden record that publishing has not caught up with)."""

    body: bytes
    count: int
    last: FeedPosition | None
    stored: bool = True


def rpde_page(
    session: Session,
    after: FeedPosition | None,
    limit: int,
    scope: Scope,
    licence: str,
    next_url: Callable[[FeedPosition | None], str],
) -> RpdePage:
    """One page; ``next_url(None)`` is the URL of this very page (the last)."""
    opportunities = list_feed_page(session, after, limit, scope)
    since = after.modified if after else None
    flagged = [o.id for o in opportunities if o.has_events]
    events = list_id_events(session, flagged, since)
    shown = [o for o in opportunities if _state(o, scope) == "updated"]
    made_now = [o.id for o in shown if o.feed_doc is None]
    goldens = list_goldens(session, made_now)
    items = [
        _item(o, scope, events.get(o.id, []), goldens.get(o.id)) for o in opportunities
    ]
    last = opportunities[-1] if opportunities else None
    position = FeedPosition(last.modified, last.id) if last else None
    # built as UTF-8 bytes: the stored records come as bytes, and are copied
    # into the page as they are
    body = b"".join(
        (
            b'{"next":',
            _json(next_url(position)),
            b',"items":[',
            b",".join(items),
            b'],"license":',
            _json(licence),
            b"}",
        )
    )
    return RpdePage(body, len(items), position, stored=not made_now)


def _json(value: Any) -> bytes:
    """``value`` encoded as every answer of the feed writes JSON, in UTF-8."""
    return dumps(value).encode()


def _state(opportunity: Row[Any], scope: Scope) -> str:
    gone = opportunity.state in ("deleted", "merged")
    hidden = scope == "published" and not opportunity.in_scope
    return "deleted" if gone or hidden else "updated"


def _item(
    opportunity: Row[Any],
    scope: Scope,
    events: list[FeedChange],
    golden: dict[str, Any] | None,
) -> bytes:
    """The item as JSON."""
    item: dict[str, Any] = {
        "state": _state(opportunity, scope),
        "kind": "Opportunity",
        "id": opportunity.id,
        "modified": to_micros(opportunity.modified),
    }
    if opportunity.state == "merged":
        item["merged_into"] = opportunity.merged_into
    if events:
        item["events"] = [_event(change) for change in events]
    head = _json(item)[:-1]
    # the stored record is copied as it is, never decoded and encoded again
    return b"".join(
        (head, b',"data":', _data(opportunity, item["state"], golden), b"}")
    )


def _data(opportunity: Row[Any], state: str, golden: dict[str, Any] | None) -> bytes:
    """The record as JSON: none for a deleted item, the stored one when it is
    of this change, else one made now from the golden record."""
    if state == "deleted":
        return b"null"
    if opportunity.feed_doc is not None:
        return as_utf8(opportunity.feed_doc)
    return _json(
        feed_record(
            opportunity.id,
            opportunity.state,
            opportunity.modified,
            opportunity.change_no,
            golden or {},
        )
    )


def _event(change: FeedChange) -> dict[str, Any]:
    ids = change.related.get("ids") if isinstance(change.related, dict) else None
    return {
        "kind": change.kind,
        "change_no": change.change_no,
        "at": change.at.isoformat(),
        "ids": [str(i) for i in ids] if isinstance(ids, list) else [],
    }
