"""next_interval: the calendar and the source's recent runs set its cadence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.cadence import Bounds, History, RunSummary, bounds_for, is_due, next_interval

NOW = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
DAILY = Bounds(
    base=timedelta(days=1), shortest=timedelta(hours=6), longest=timedelta(days=4)
)
H = timedelta(hours=1)
D = timedelta(days=1)


def runs(*verdicts_and_changes: tuple[str, int]) -> list[RunSummary]:
    """Runs a day apart, newest first."""
    return [
        RunSummary(NOW - D * (i + 1), verdict, changed)
        for i, (verdict, changed) in enumerate(verdicts_and_changes)
    ]


@pytest.mark.parametrize(
    ("history", "expected"),
    [
        pytest.param(History(NOW, []), D, id="no history: the cron's period"),
        pytest.param(
            History(NOW, runs(("ok", 1), ("ok", 0))), D, id="one change: no hurry"
        ),
        pytest.param(
            History(NOW, runs(("ok", 3), ("ok", 2))), 12 * H, id="changing: twice a day"
        ),
        pytest.param(
            History(NOW, runs(("ok", 0)), [NOW + 40 * H]),
            10 * H,
            id="a closing date in 40 h: four looks before it",
        ),
        pytest.param(
            History(NOW, runs(("ok", 0)), [NOW + 3 * H]),
            6 * H,
            id="closing in 3 h: no sooner than the shortest bound",
        ),
        pytest.param(
            History(NOW, runs(("ok", 0)), [NOW + 5 * D]),
            D,
            id="a closing date far off changes nothing",
        ),
        pytest.param(
            History(NOW, runs(("ok", 0), ("ok", 0), ("ok", 0)), [NOW + 5 * D]),
            2 * D,
            id="quiet, with dates ahead: every other day",
        ),
        pytest.param(
            History(NOW, runs(("ok", 0), ("ok", 0), ("ok", 0)), [NOW - D]),
            4 * D,
            id="quiet and out of season: the longest bound",
        ),
        pytest.param(
            History(NOW, runs(("failed", 0), ("ok", 5))), 2 * D, id="failed once"
        ),
        pytest.param(
            History(NOW, runs(("failed", 0), ("suspicious", 0), ("ok", 5))),
            4 * D,
            id="failing twice: backs off, capped",
        ),
        pytest.param(
            History(NOW, runs(*[("failed", 0)] * 5)), 4 * D, id="failing long: capped"
        ),
        pytest.param(
            History(NOW, runs(("failed", 0)), [NOW + 10 * H]),
            2 * D,
            id="failing wins over a near closing date",
        ),
        pytest.param(
            History(NOW, runs(("partial", 2), ("ok", 1))),
            12 * H,
            id="a partial run is not a failure",
        ),
    ],
)
def test_next_interval(history, expected):
    assert next_interval(history, DAILY) == expected


@pytest.mark.parametrize(
    ("last_run_ago", "expected"),
    [
        pytest.param(None, True, id="never crawled"),
        pytest.param(D, True, id="a day ago, daily"),
        pytest.param(D - 10 * timedelta(minutes=1), True, id="ten minutes early"),
        pytest.param(12 * H, False, id="half a day ago"),
    ],
)
def test_is_due(last_run_ago, expected):
    history = History(
        NOW, [] if last_run_ago is None else [RunSummary(NOW - last_run_ago, "ok", 0)]
    )

    assert is_due(history, DAILY) is expected


@pytest.mark.parametrize(
    ("schedule", "politeness", "expected"),
    [
        pytest.param("0 6 * * *", {}, (D, 6 * H, 4 * D), id="daily defaults"),
        pytest.param("0 7 * * 1", {}, (7 * D, 42 * H, 28 * D), id="weekly defaults"),
        pytest.param(
            "0 6 * * *",
            {"min_interval_hours": 2, "max_interval_hours": 72},
            (D, 2 * H, 3 * D),
            id="bounds from the registry",
        ),
        pytest.param(None, {}, (D, 6 * H, 4 * D), id="no schedule: daily"),
    ],
)
def test_bounds_for(schedule, politeness, expected):
    bounds = bounds_for(schedule, politeness, NOW)

    assert (bounds.base, bounds.shortest, bounds.longest) == expected
