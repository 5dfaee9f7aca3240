"""The iCalendar reader: unfolding, parameters, escapes, dates and zones."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from spiders.ical import parse_calendar, parse_duration, parse_line, unfold

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def calendar(fixture):
    return parse_calendar(fixture("feeds", "events.ics").decode("utf-8"))


def event(calendar, uid_start):
    return next(e for e in calendar.events if e.uid.startswith(uid_start))


def test_every_vevent_is_read_and_the_calendar_named(calendar):
    assert [e.summary for e in calendar.events] == [
        "Open Evening, Sixth Form",
        "Taster Days",
        "Careers Fair",
        "Cancelled Workshop",
        "Outlook Event",
    ]
    assert calendar.name == "Riverside Sixth Form College"


@pytest.mark.parametrize(
    ("uid", "field", "expected"),
    [
        pytest.param(
            "open-evening",
            "description",
            "Meet our teachers.\nTour the science labs; bring a parent or carer.",
            id="folded-and-escaped-text",
        ),
        pytest.param(
            "open-evening",
            "location",
            "Riverside College, Hull HU1 2AA",
            id="escaped-comma",
        ),
        pytest.param(
            "open-evening",
            "start",
            datetime(2026, 6, 24, 18, 0, tzinfo=LONDON),
            id="tzid-start",
        ),
        pytest.param(
            "open-evening",
            "end",
            datetime(2026, 6, 24, 20, 0, tzinfo=LONDON),
            id="tzid-end",
        ),
        pytest.param(
            "open-evening",
            "url",
            "https://riverside.example.org/events/open-evening",
            id="url",
        ),
        pytest.param(
            "open-evening", "categories", ["Open day", "Sixth form"], id="categories"
        ),
        pytest.param(
            "open-evening", "organizer", "Admissions; Riverside", id="quoted-parameter"
        ),
        pytest.param("taster-day", "start", date(2026, 7, 7), id="all-day-start"),
        pytest.param(
            "taster-day",
            "end",
            date(2026, 7, 8),
            id="exclusive-all-day-end-becomes-last-day",
        ),
        pytest.param(
            "careers-fair", "start", datetime(2026, 9, 15, 9, 0, tzinfo=UTC), id="utc"
        ),
        pytest.param(
            "careers-fair",
            "end",
            datetime(2026, 9, 15, 12, 30, tzinfo=UTC),
            id="end-from-duration",
        ),
        pytest.param("cancelled", "status", "CANCELLED", id="status"),
        pytest.param(
            "outlook",
            "start",
            datetime(2026, 11, 3, 10, 0, tzinfo=LONDON),
            id="windows-zone-name",
        ),
    ],
)
def test_event_fields(calendar, uid, field, expected):
    assert getattr(event(calendar, uid), field) == expected


def test_the_alarm_inside_an_event_does_not_leak_into_it(calendar):
    assert event(calendar, "open-evening").properties.get("ACTION") is None
    assert event(calendar, "open-evening").description.startswith("Meet")


def test_an_unknown_zone_is_taken_as_london_and_noted(calendar):
    outlook = event(calendar, "outlook")

    assert outlook.end == datetime(2026, 11, 3, 12, 0, tzinfo=LONDON)
    assert outlook.problems == ["unknown TZID 'Mars/Olympus': taken as Europe/London"]


def test_a_start_in_london_summer_time_is_an_hour_ahead_of_utc(calendar):
    start = event(calendar, "open-evening").start

    assert start.utcoffset() == timedelta(hours=1)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("A:1\r\n B\r\nC:2", ["A:1B", "C:2"], id="crlf-space"),
        pytest.param("A:1\n\tB\nC:2", ["A:1B", "C:2"], id="lf-tab"),
        pytest.param("\ufeffA:1\r\n\r\n", ["A:1"], id="bom-and-blank-lines"),
    ],
)
def test_unfold(text, expected):
    assert unfold(text) == expected


@pytest.mark.parametrize(
    ("line", "name", "params", "value"),
    [
        pytest.param(
            "SUMMARY:Hi: there", "SUMMARY", {}, "Hi: there", id="colon-in-value"
        ),
        pytest.param(
            'X;A="b:c;d";E=f:v', "X", {"A": "b:c;d", "E": "f"}, "v", id="quoted-params"
        ),
        pytest.param(
            "dtstart;value=date:20260101",
            "DTSTART",
            {"VALUE": "date"},
            "20260101",
            id="lower-case-name",
        ),
    ],
)
def test_parse_line(line, name, params, value):
    prop = parse_line(line)

    assert (prop.name, prop.params, prop.value) == (name, params, value)


def test_a_line_without_a_value_is_skipped():
    assert parse_line("NOT A PROPERTY") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("PT1H30M", timedelta(hours=1, minutes=30), id="hours-minutes"),
        pytest.param("P1W", timedelta(weeks=1), id="weeks"),
        pytest.param("P2DT3H", timedelta(days=2, hours=3), id="days-hours"),
        pytest.param("-PT15M", -timedelta(minutes=15), id="negative"),
        pytest.param("P", None, id="empty"),
        pytest.param("soon", None, id="garbled"),
    ],
)
def test_parse_duration(value, expected):
    assert parse_duration(value) == expected


def test_impossible_dates_are_noted_not_fatal():
    text = "BEGIN:VEVENT\nUID:x\nDTSTART:20260231T100000Z\nSUMMARY:X\nEND:VEVENT\n"

    (bad,) = parse_calendar(text).events

    assert bad.start is None
    assert "impossible" in bad.problems[0]
