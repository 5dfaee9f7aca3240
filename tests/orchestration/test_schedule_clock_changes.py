"""SCHED-01: cron in Europe/London runs once on each day of a clock change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from flows.schedule import families, fire_times, missed_slots, risky
from hub.registry import SourceEntry
from spiders.items import ProviderKind


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def day_times(cron: str, day: str) -> list[datetime]:
    """The UTC times ``cron`` fires on one UK calendar day."""
    start = utc(f"{day}T00:00:00Z") - timedelta(hours=2)
    found = fire_times(cron, start, start + timedelta(hours=28))
    return [t for t in found if _uk_day(t) == day]


def _uk_day(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo("Europe/London")).date().isoformat()


@pytest.mark.parametrize(
    ("cron", "day", "expected"),
    [
        pytest.param("0 6 * * *", "2026-03-28", ["06:00"], id="2026 before spring"),
        pytest.param("0 6 * * *", "2026-03-29", ["05:00"], id="2026 spring change day"),
        pytest.param("0 6 * * *", "2026-03-30", ["05:00"], id="2026 after spring"),
        pytest.param("0 6 * * *", "2026-10-24", ["05:00"], id="2026 before autumn"),
        pytest.param("0 6 * * *", "2026-10-25", ["06:00"], id="2026 autumn change day"),
        pytest.param("0 6 * * *", "2026-10-26", ["06:00"], id="2026 after autumn"),
        pytest.param("30 1 * * *", "2026-10-25", ["00:30"], id="2026 repeated 01:30"),
        pytest.param("30 1 * * *", "2026-03-29", ["01:30"], id="2026 skipped 01:30"),
        pytest.param("0 6 * * *", "2027-03-27", ["06:00"], id="2027 before spring"),
        pytest.param("0 6 * * *", "2027-03-28", ["05:00"], id="2027 spring change day"),
        pytest.param("0 6 * * *", "2027-03-29", ["05:00"], id="2027 after spring"),
        pytest.param("0 6 * * *", "2027-10-30", ["05:00"], id="2027 before autumn"),
        pytest.param("0 6 * * *", "2027-10-31", ["06:00"], id="2027 autumn change day"),
        pytest.param("0 6 * * *", "2027-11-01", ["06:00"], id="2027 after autumn"),
        pytest.param("30 1 * * *", "2027-10-31", ["00:30"], id="2027 repeated 01:30"),
        pytest.param("30 1 * * *", "2027-03-28", ["01:30"], id="2027 skipped 01:30"),
        pytest.param("30 6 * * *", "2027-10-31", ["06:30"], id="nhs cron, 2027 autumn"),
    ],
)
def test_one_run_a_day_at_the_uk_time(cron, day, expected):
    times = day_times(cron, day)

    assert [f"{t:%H:%M}" for t in times] == expected


@pytest.mark.parametrize(
    ("cron", "start", "end", "count"),
    [
        pytest.param(
            "0 6 * * *", "2027-03-20", "2027-04-03", 14, id="spring fortnight"
        ),
        pytest.param(
            "0 6 * * *", "2027-10-24", "2027-11-07", 14, id="autumn fortnight"
        ),
        pytest.param("0 7 * * 1", "2027-03-01", "2027-04-05", 5, id="weekly, spring"),
    ],
)
def test_no_day_gains_or_loses_a_run(cron, start, end, count):
    times = fire_times(cron, utc(f"{start}T00:00:00Z"), utc(f"{end}T00:00:00Z"))

    assert len(times) == count
    assert len({_uk_day(t) for t in times}) == count


@pytest.mark.parametrize(
    ("cron", "expected"),
    [
        pytest.param("30 1 * * *", True, id="01:30 is repeated or skipped"),
        pytest.param("0 2 * * *", True, id="02:00 is near the change"),
        pytest.param("0 6 * * *", False, id="06:00 is safe"),
        pytest.param("0 */3 * * *", False, id="every third hour skips 1 and 2"),
        pytest.param("0 * * * *", True, id="hourly"),
        pytest.param("0 0-4 * * *", True, id="a range across the window"),
    ],
)
def test_risky_hours(cron, expected):
    assert risky(cron) is expected


def entry(name: str, kind: ProviderKind, cron: str | None) -> SourceEntry:
    return SourceEntry(name=name, spider="x", provider_kind=kind, schedule=cron)


def test_families_group_by_provider_kind_then_cron():
    entries = [
        entry("civil", ProviderKind.GOVERNMENT, "0 6 * * *"),
        entry("nhs", ProviderKind.GOVERNMENT, "30 6 * * *"),
        entry("board_a", ProviderKind.EMPLOYER, "0 7 * * 1"),
        entry("board_b", ProviderKind.EMPLOYER, "0 7 * * 1"),
        entry("unscheduled", ProviderKind.EMPLOYER, None),
    ]

    found = {f.name: f for f in families(entries)}

    assert sorted(found) == ["employer", "government"]
    assert found["government"].crons == ["0 6 * * *", "30 6 * * *"]
    assert found["employer"].schedules[0].sources == ("board_a", "board_b")
    assert found["employer"].deployment == "refresh-employer"


def test_a_slot_no_run_claimed_is_missed():
    claimed = [utc("2027-03-27T06:00:00Z"), utc("2027-03-29T05:00:00Z")]

    missed = missed_slots(
        ["0 6 * * *"], claimed, utc("2027-03-27T06:00:00Z"), utc("2027-03-29T09:00:00Z")
    )

    assert missed == [utc("2027-03-28T05:00:00Z")]


def test_a_slot_inside_the_grace_is_not_missed_yet():
    now = datetime(2027, 3, 29, 5, 10, tzinfo=UTC)

    missed = missed_slots(["0 6 * * *"], [], utc("2027-03-29T00:00:00Z"), now)

    assert missed == []
