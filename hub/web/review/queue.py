"""The review queue: pairs in the review band that wait for a decision.

Most useful first. Scores run 0-100 and 50 is where the machine is least sure,
so pairs are grouped by their distance from 50 in steps of
``UNCERTAINTY_STEP`` points (62 and 64 are equally uncertain); within a group
the pair whose earlier closing date comes soonest goes first, then pairs with
no closing date, then pairs already closed; then the nearer score, then the
pair's listing ids. Pairs this session skipped go to the end.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.web.review.decisions import PairKey, is_open, latest_decisions, pair_key
from hub.web.review.decisions import pair_slug as slug
from storage.models import Listing, MatchPair

MIDPOINT = 50.0
UNCERTAINTY_STEP = 5.0


@dataclass(frozen=True)
class QueueItem:
    key: PairKey
    score: float
    closing: datetime | None = None
    sources: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    titles: tuple[str | None, str | None] = (None, None)
    unsure: bool = False
    skipped: bool = False

    @property
    def slug(self) -> str:
        return slug(self.key)


@dataclass(frozen=True)
class QueueFilter:
    source: str | None = None
    type: str | None = None
    include_unsure: bool = False

    def admits(self, item: QueueItem) -> bool:
        if item.unsure and not self.include_unsure:
            return False
        if self.source and self.source not in item.sources:
            return False
        return not (self.type and self.type not in item.types)


@dataclass
class Queue:
    items: list[QueueItem]
    waiting: int
    unsure: int
    by_source: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)


def queue_order(item: QueueItem, now: datetime) -> tuple[object, ...]:
    distance = abs(item.score - MIDPOINT)
    if item.closing is None:
        closing_rank, stamp = 1, 0.0
    elif item.closing >= now:
        closing_rank, stamp = 0, item.closing.timestamp()
    else:
        closing_rank, stamp = 2, -item.closing.timestamp()
    group = int(distance // UNCERTAINTY_STEP)
    return (item.skipped, group, closing_rank, stamp, distance, item.key)


def order_queue(items: Iterable[QueueItem], now: datetime) -> list[QueueItem]:
    return sorted(items, key=lambda item: queue_order(item, now))


def load_queue(
    session: Session,
    wanted: QueueFilter,
    now: datetime,
    skipped: Sequence[str] = (),
) -> Queue:
    candidates = review_items(session)
    waiting = [i for i in candidates if not i.unsure]
    shown = [
        replace(item, skipped=item.slug in skipped)
        for item in candidates
        if wanted.admits(item)
    ]
    return Queue(
        items=order_queue(shown, now),
        waiting=len(waiting),
        unsure=len(candidates) - len(waiting),
        by_source=_count(source for i in waiting for source in i.sources),
        by_type=_count(kind for i in waiting for kind in i.types),
    )


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(sorted(Counter(values).items()))


def review_items(session: Session) -> list[QueueItem]:
    """Review-band pairs that are undecided (or decided "unsure")."""
    latest = latest_decisions(session)
    pairs = session.scalars(select(MatchPair).where(MatchPair.band == "review")).all()
    open_pairs: list[tuple[MatchPair, bool]] = []
    for pair in pairs:
        decision = latest.get(pair_key(pair.listing_a, pair.listing_b))
        if is_open(decision) or decision.kind == "unsure":  # type: ignore[union-attr]
            open_pairs.append((pair, not is_open(decision)))
    listings = _listings(session, {i for p, _ in open_pairs for i in _ids(p)})
    return [_item(pair, unsure, listings) for pair, unsure in open_pairs]


def _ids(pair: MatchPair) -> tuple[int, int]:
    return (pair.listing_a, pair.listing_b)


def _listings(session: Session, ids: set[int]) -> dict[int, Listing]:
    if not ids:
        return {}
    query = (
        select(Listing).where(Listing.id.in_(ids)).options(selectinload(Listing.source))
    )
    return {listing.id: listing for listing in session.scalars(query)}


def _item(pair: MatchPair, unsure: bool, listings: dict[int, Listing]) -> QueueItem:
    key = pair_key(pair.listing_a, pair.listing_b)
    a, b = listings[key[0]], listings[key[1]]
    closings = [d for d in (a.closing_date, b.closing_date) if d is not None]
    return QueueItem(
        key=key,
        score=pair.score,
        closing=min(closings) if closings else None,
        sources=tuple(sorted({a.source.name, b.source.name})),
        types=tuple(sorted({t for t in (a.opportunity_type, b.opportunity_type) if t})),
        titles=(a.title, b.title),
        unsure=unsure,
    )


def next_pair(queue: Queue, after: PairKey | None = None) -> QueueItem | None:
    """The first pair of the queue that is not ``after`` (the one just shown)."""
    return next((item for item in queue.items if item.key != after), None)
