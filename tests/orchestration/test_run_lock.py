"""SCHED-01 (a): one slot of one deployment is worked by at most one flow run."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest

from storage.health import claim_slot, list_claimed_slots, release_slot
from storage.session import transaction

pytestmark = pytest.mark.db

SLOT = datetime(2026, 5, 10, 5, 0, tzinfo=UTC)  # 06:00 in London
NOW = SLOT + timedelta(seconds=2)


def claim(store, slot=SLOT, now=NOW, run_id="run-1"):
    with transaction(store.factory) as session:
        return claim_slot(session, "refresh-government", slot, run_id, now)


@pytest.mark.parametrize(
    ("first_released", "second_slot", "acquired", "reason"),
    [
        pytest.param(True, SLOT, False, "already claimed", id="a redeploy's rerun"),
        pytest.param(False, SLOT, False, "already claimed", id="a duplicate at once"),
        pytest.param(
            False, SLOT + timedelta(hours=3), False, "still going", id="overlaps a run"
        ),
        pytest.param(True, SLOT + timedelta(days=1), True, "claimed", id="next day"),
    ],
)
def test_claims(store, first_released, second_slot, acquired, reason):
    first = claim(store)
    if first_released:
        with transaction(store.factory) as session:
            release_slot(session, first.lock_id)

    second = claim(store, slot=second_slot, now=second_slot, run_id="run-2")

    assert first.acquired
    assert second.acquired is acquired
    assert reason in second.reason


def test_a_lock_left_by_a_dead_run_goes_stale(store):
    claim(store)

    later = claim(store, slot=SLOT + timedelta(days=1), now=SLOT + timedelta(days=1))

    assert later.acquired


def test_racing_claims_for_one_slot_give_one_winner_and_no_error(store):
    barrier = threading.Barrier(4)
    results, errors = [], []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            results.append(claim(store, run_id=f"run-{n}").acquired)
        except Exception as exc:  # noqa: BLE001 - the test reports any error
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(results) == [False, False, False, True]
    with store.factory() as session:
        assert list_claimed_slots(session, "refresh-government") == [SLOT]
