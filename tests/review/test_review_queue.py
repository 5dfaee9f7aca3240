"""The queue's order (pure), its filters, and which pairs wait (on storage)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from hub.web.review.decisions import decide_pair, record_action
from hub.web.review.queue import (
    Queue,
    QueueFilter,
    QueueItem,
    load_queue,
    next_pair,
    order_queue,
)
from storage.models import MatchPair
from storage.session import transaction
from tests.review.review_builders import Spec, add_listings, days, listing_id

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def item(
    n: int,
    score: float,
    closing: timedelta | None = None,
    *,
    sources: tuple[str, ...] = (),
    types: tuple[str, ...] = (),
    unsure: bool = False,
    skipped: bool = False,
) -> QueueItem:
    return QueueItem(
        key=(n, n + 100),
        score=score,
        closing=NOW + closing if closing is not None else None,
        sources=sources,
        types=types,
        unsure=unsure,
        skipped=skipped,
    )


ORDER_CASES = [
    pytest.param(
        [item(1, 88), item(2, 51), item(3, 70)],
        [2, 3, 1],
        id="nearest to 50 first",
    ),
    pytest.param(
        [item(1, 51, days(30)), item(2, 53, days(2))],
        [2, 1],
        id="equally uncertain (same 5-point group): sooner closing first",
    ),
    pytest.param(
        [item(1, 54, days(2)), item(2, 56, days(30))],
        [1, 2],
        id="a nearer group beats a sooner closing date",
    ),
    pytest.param(
        [item(1, 52), item(2, 52, days(-3)), item(3, 52, days(9))],
        [3, 1, 2],
        id="open closing dates, then none, then already closed",
    ),
    pytest.param(
        [item(1, 52, days(5)), item(2, 52, days(5))],
        [1, 2],
        id="full tie: by listing ids",
    ),
    pytest.param(
        [item(1, 50, skipped=True), item(2, 89)],
        [2, 1],
        id="skipped in this session: last",
    ),
    pytest.param(
        [item(1, 47), item(2, 54), item(3, 56)],
        [1, 2, 3],
        id="below 50 counts by distance too",
    ),
]


@pytest.mark.parametrize(("items", "expected"), ORDER_CASES)
def test_queue_order(items: list[QueueItem], expected: list[int]) -> None:
    ordered = order_queue(items, NOW)

    assert [i.key[0] for i in ordered] == expected


FILTER_CASES = [
    pytest.param(QueueFilter(), item(1, 60), True, id="no filter"),
    pytest.param(
        QueueFilter(source="nhs_jobs"),
        item(1, 60, sources=("brightpath", "nhs_jobs")),
        True,
        id="source matches either listing",
    ),
    pytest.param(
        QueueFilter(source="nhs_jobs"),
        item(1, 60, sources=("brightpath",)),
        False,
        id="source matches neither",
    ),
    pytest.param(
        QueueFilter(type="internship"),
        item(1, 60, types=("apprenticeship",)),
        False,
        id="type differs",
    ),
    pytest.param(QueueFilter(), item(1, 60, unsure=True), False, id="unsure hidden"),
    pytest.param(
        QueueFilter(include_unsure=True),
        item(1, 60, unsure=True),
        True,
        id="unsure shown when asked",
    ),
]


@pytest.mark.parametrize(("wanted", "candidate", "admitted"), FILTER_CASES)
def test_queue_filter(
    wanted: QueueFilter, candidate: QueueItem, admitted: bool
) -> None:
    assert wanted.admits(candidate) is admitted


def test_next_pair_skips_the_one_just_shown() -> None:
    queue = load_queue_of([item(1, 50), item(2, 60)])

    found = next_pair(queue, after=(1, 101))

    assert found is not None and found.key == (2, 102)
    assert next_pair(load_queue_of([item(1, 50)]), after=(1, 101)) is None


def load_queue_of(items: list[QueueItem]) -> Queue:
    return Queue(items=order_queue(items, NOW), waiting=len(items), unsure=0)


@pytest.fixture
def four_pairs(factory: sessionmaker[Session]) -> list[tuple[int, int]]:
    """Eight listings, four review pairs stored as the matcher would."""
    specs = [
        Spec("brightpath" if n % 2 else "jobs_board", f"k{n}", f"Title {n}")
        for n in range(8)
    ]
    add_listings(factory, specs)
    keys = []
    with transaction(factory) as session:
        for n, score in zip(range(0, 8, 2), (60.0, 52.0, 75.0, 58.0), strict=True):
            a = listing_id(factory, "jobs_board", f"k{n}")
            b = listing_id(factory, "brightpath", f"k{n + 1}")
            session.add(MatchPair(listing_a=a, listing_b=b, score=score, band="review"))
            keys.append((a, b))
    return keys


def _waiting(
    factory: sessionmaker[Session], wanted: QueueFilter | None = None
) -> Queue:
    with factory() as session:
        return load_queue(session, wanted or QueueFilter(), NOW)


DECISION_CASES = [
    pytest.param([], [1, 3, 0, 2], id="nothing decided: all wait"),
    pytest.param([(0, "must_link")], [1, 3, 2], id="same: leaves the queue"),
    pytest.param([(1, "cannot_link")], [3, 0, 2], id="different: leaves the queue"),
    pytest.param([(1, "unsure")], [3, 0, 2], id="not sure: leaves the queue"),
    pytest.param(
        [(1, "cannot_link"), (1, "undo")], [1, 3, 0, 2], id="undone: waits again"
    ),
    pytest.param(
        [(2, "must_link"), (2, "cannot_link")], [1, 3, 0], id="latest of two counts"
    ),
]


@pytest.mark.db
@pytest.mark.parametrize(("decisions", "expected"), DECISION_CASES)
def test_which_pairs_wait(
    factory: sessionmaker[Session],
    four_pairs: list[tuple[int, int]],
    decisions: list[tuple[int, str]],
    expected: list[int],
) -> None:
    with transaction(factory) as session:
        for index, kind in decisions:
            record_action(session, [four_pairs[index]], kind, "ana", None)

    queue = _waiting(factory)

    assert [four_pairs.index(i.key) for i in queue.items] == expected
    assert queue.waiting == len(expected)


@pytest.mark.db
def test_unsure_pairs_can_be_shown_and_are_counted(
    factory: sessionmaker[Session], four_pairs: list[tuple[int, int]]
) -> None:
    with transaction(factory) as session:
        decide_pair(session, four_pairs[0], "unsure", "ana", "cannot tell")

    shown = _waiting(factory, QueueFilter(include_unsure=True))

    assert shown.unsure == 1
    assert shown.waiting == 3
    assert [i.unsure for i in shown.items if i.key == four_pairs[0]] == [True]


@pytest.mark.db
def test_counts_by_source_and_type(
    factory: sessionmaker[Session], four_pairs: list[tuple[int, int]]
) -> None:
    queue = _waiting(factory, QueueFilter(source="nowhere"))

    assert queue.items == []
    assert queue.by_source == {"brightpath": 4, "jobs_board": 4}
    assert queue.by_type == {"apprenticeship": 4}
