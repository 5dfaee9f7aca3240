"""The queue, the pair view, and deciding pairs (keys s, d, n, k; u undoes)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from hub.web.review.compare import field_rows
from hub.web.review.context import Review, Signed, render
from hub.web.review.decisions import (
    PairKey,
    decide_pair,
    latest_decisions,
    machine_view,
    pair_key,
    pair_slug,
    undo_last,
)
from hub.web.review.queue import Queue, QueueFilter, load_queue, next_pair
from hub.web.review.security import NotFound, ReviewRoute
from hub.web.review.sessions import add_skipped
from storage.models import Listing, MatchPair, utcnow
from storage.session import transaction

router = APIRouter(route_class=ReviewRoute, include_in_schema=False)
QUEUE_PAGE = 50
MAX_NOTE = 2000
SAID = ("same", "different", "unsure", "skip")


def _filter(source: str | None, type: str | None, unsure: str | None) -> QueueFilter:
    return QueueFilter(source or None, type or None, unsure == "1")


def filter_query(wanted: QueueFilter) -> str:
    values = {"source": wanted.source, "type": wanted.type}
    values["unsure"] = "1" if wanted.include_unsure else None
    return urlencode({k: v for k, v in values.items() if v})


def _queue(
    session: Session, active_skipped: tuple[str, ...], wanted: QueueFilter
) -> Queue:
    return load_queue(session, wanted, utcnow(), active_skipped)


@router.get("/review")
def queue_page(
    request: Request,
    review: Review,
    active: Signed,
    source: str | None = None,
    type: str | None = None,
    unsure: str | None = None,
    saved: str | None = None,
) -> Response:
    wanted = _filter(source, type, unsure)
    with review.factory() as session:
        queue = _queue(session, active.skipped, wanted)
    values = {
        "saved": saved if saved in SAID else None,
        "queue": queue,
        "shown": queue.items[:QUEUE_PAGE],
        "wanted": wanted,
        "query": filter_query(wanted),
    }
    return render(request, "queue.html", values)


@router.get("/review/next")
def next_page(
    review: Review,
    active: Signed,
    source: str | None = None,
    type: str | None = None,
    unsure: str | None = None,
) -> Response:
    wanted = _filter(source, type, unsure)
    with review.factory() as session:
        found = next_pair(_queue(session, active.skipped, wanted))
    return RedirectResponse(_pair_url(found.key if found else None, wanted), 303)


def _pair_url(key: PairKey | None, wanted: QueueFilter, **extra: str) -> str:
    query = filter_query(wanted)
    more = urlencode(extra)
    joined = "&".join(part for part in (query, more) if part)
    path = f"/review/pairs/{pair_slug(key)}" if key else "/review"
    return f"{path}?{joined}" if joined else path


def _load_pair(session: Session, key: PairKey) -> tuple[Listing, Listing]:
    query = (
        select(Listing)
        .where(Listing.id.in_(key))
        .options(selectinload(Listing.source), selectinload(Listing.member))
    )
    found = {listing.id: listing for listing in session.scalars(query)}
    if len(found) != 2:
        raise NotFound(f"no pair {pair_slug(key)}")
    return found[key[0]], found[key[1]]


@router.get("/review/pairs/{a:int}-{b:int}")
def pair_page(
    request: Request,
    review: Review,
    active: Signed,
    a: int,
    b: int,
    source: str | None = None,
    type: str | None = None,
    unsure: str | None = None,
    saved: str | None = None,
    undone: str | None = None,
    overtaken: str | None = None,
) -> Response:
    key = _key_or_404(a, b)
    wanted = _filter(source, type, unsure)
    with review.factory() as session:
        left, right = _load_pair(session, key)
        stored = session.scalar(
            select(MatchPair).where(
                MatchPair.listing_a == key[0], MatchPair.listing_b == key[1]
            )
        )
        values = {
            "key": key,
            "slug": pair_slug(key),
            "left": left,
            "right": right,
            "rows": field_rows(left, right),
            "pair": stored,
            "machine": machine_view(session, key),
            "decision": latest_decisions(session).get(key),
            "queue": _queue(session, active.skipped, wanted),
            "wanted": wanted,
            "query": filter_query(wanted),
            "saved": saved if saved in SAID else None,
            "undone": undone,
            "overtaken": overtaken,
        }
        return render(request, "pair.html", values)


def _key_or_404(a: int, b: int) -> PairKey:
    try:
        return pair_key(a, b)
    except ValueError:
        raise NotFound("a pair needs two different listings") from None


@router.post("/review/pairs/{a:int}-{b:int}/decide")
def decide(
    review: Review,
    active: Signed,
    a: int,
    b: int,
    said: Annotated[str, Form(pattern="^(same|different|unsure|skip)$")],
    note: Annotated[str, Form(max_length=MAX_NOTE)] = "",
    source: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "",
    unsure: Annotated[str, Form()] = "",
    seen: Annotated[str | None, Form(max_length=20)] = None,
) -> Response:
    """Record the decision; ``seen`` is the id of the decision that counted
    when the page was shown (0 for none): if another reviewer's has
    replaced it since, nothing is saved and the page shows theirs."""
    key = _key_or_404(a, b)
    wanted = _filter(source, type, unsure)
    reviewer = active.reviewer.name if active.reviewer else ""
    with transaction(review.factory) as session:
        _load_pair(session, key)
        if said != "skip" and _overtaken(session, key, seen):
            return RedirectResponse(
                _pair_url(key, wanted, overtaken="1"), status_code=303
            )
        if said == "skip":
            add_skipped(session, active.id, pair_slug(key))
        else:
            decide_pair(session, key, said, reviewer, note.strip() or None)
    if said != "skip":
        review.reclusterer.request()
    with review.factory() as session:
        skipped = _skipped_now(active.skipped, key, said)
        found = next_pair(_queue(session, skipped, wanted), after=key)
    target = _pair_url(found.key if found else None, wanted, saved=said)
    return RedirectResponse(target, status_code=303)


def _overtaken(session: Session, key: PairKey, seen: str | None) -> bool:
    if seen is None:  # a client that does not say what it saw
        return False
    current = latest_decisions(session).get(key)
    return seen != str(current.id if current is not None else 0)


def _skipped_now(skipped: tuple[str, ...], key: PairKey, said: str) -> tuple[str, ...]:
    return (*skipped, pair_slug(key)) if said == "skip" else skipped


@router.post("/review/undo")
def undo(
    review: Review,
    active: Signed,
    source: Annotated[str, Form()] = "",
    type: Annotated[str, Form()] = "",
    unsure: Annotated[str, Form()] = "",
) -> Response:
    wanted = _filter(source, type, unsure)
    reviewer = active.reviewer.name if active.reviewer else ""
    with transaction(review.factory) as session:
        pairs = undo_last(session, reviewer)
    if not pairs:
        return RedirectResponse(_pair_url(None, wanted), status_code=303)
    review.reclusterer.request()
    shown = pairs[0] if len(pairs) == 1 else None
    if shown is None:
        return RedirectResponse("/review/audit?undone=" + str(len(pairs)), 303)
    return RedirectResponse(_pair_url(shown, wanted, undone="1"), status_code=303)
