from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines import dates
from pipelines.dates import (
    LONDON,
    DateRange,
    parse_closing,
    parse_date,
    parse_range,
    to_closing_instant,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RECORDING = SHARED_DATA / "web" / "recorded.warc.gz"
needs_recording = pytest.mark.skipif(
    not RECORDING.exists(), reason=f"shared recording not found at {RECORDING}"
)

# CASES DATE-02: a Sunday crawl, re-parsed three days later
DATE02_FETCHED = datetime(2026, 11, 15, 10, 0, tzinfo=UTC)
DATE02_REPARSED_ON = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)
# CASES DATE-04
DATE04_FETCHED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CSJ_FETCHED = datetime(2023, 7, 2, 16, 52, tzinfo=UTC)


def _utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


# -- parse_date


DATE02_CASES = [
    pytest.param(
        "Closing date: 3rd March", date(2027, 3, 3), id="date02-A-yearless-future"
    ),
    pytest.param("Closes in 5 days", date(2026, 11, 20), id="date02-B-in-n-days"),
    pytest.param(
        "Applications close 5 days from now", date(2026, 11, 20), id="date02-C-from-now"
    ),
    pytest.param("Apply by tomorrow", date(2026, 11, 16), id="date02-D-tomorrow"),
    pytest.param("Ends Friday", date(2026, 11, 20), id="date02-E-weekday"),
    pytest.param("Deadline: 20th", date(2026, 11, 20), id="date02-F-bare-ordinal"),
    pytest.param(
        "You may apply if you are aged 16-18. Do you have a car? Page 1 of 3. "
        "Open to Year 12.",
        None,
        id="date02-G-no-deadline",
    ),
]


@pytest.mark.parametrize(("text", "expected"), DATE02_CASES)
def test_parse_date_date02(text: str, expected: date | None) -> None:
    assert parse_date(text, fetched_at=DATE02_FETCHED) == expected


class _ClockOnNov18(datetime):
    """A clock that says the page is being re-parsed on 18 November."""

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> _ClockOnNov18:  # type: ignore[override]
        moment = DATE02_REPARSED_ON.astimezone(tz) if tz else DATE02_REPARSED_ON
        return cls.fromtimestamp(moment.timestamp(), tz)

    @classmethod
    def today(cls) -> _ClockOnNov18:  # type: ignore[override]
        return cls.now()


class _DateOnNov18(date):
    @classmethod
    def today(cls) -> _DateOnNov18:  # type: ignore[override]
        return cls(2026, 11, 18)


@pytest.mark.parametrize(("text", "expected"), DATE02_CASES)
def test_reparsing_later_gives_the_same_values(
    text: str, expected: date | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(dates, "datetime", _ClockOnNov18)
    monkeypatch.setattr(dates, "date", _DateOnNov18)

    assert parse_date(text, fetched_at=DATE02_FETCHED) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Closing date: 3rd March", date(2020, 3, 3), id="yearless"),
        pytest.param("Closes in 5 days", date(2019, 5, 10), id="in-n-days"),
        pytest.param("Apply by tomorrow", date(2019, 5, 6), id="tomorrow"),
        pytest.param("Ends Friday", date(2019, 5, 10), id="weekday"),
        pytest.param("Deadline: 20th", date(2019, 5, 20), id="ordinal"),
    ],
)
def test_parse_date_is_anchored_on_fetch_time(text: str, expected: date) -> None:
    fetched_on_a_sunday_in_2019 = datetime(2019, 5, 5, 10, 0, tzinfo=UTC)

    assert parse_date(text, fetched_at=fetched_on_a_sunday_in_2019) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("3/4/2027", date(2027, 4, 3), id="day-first-numeric"),
        pytest.param("03.04.2027", date(2027, 4, 3), id="dotted-numeric"),
        pytest.param("3/4/27", date(2027, 4, 3), id="two-digit-year"),
        pytest.param("31/02/2027", None, id="impossible-numeric"),
        pytest.param("1.2.33", None, id="version-number"),
        pytest.param("3rd March 2027", date(2027, 3, 3), id="ordinal-with-year"),
        pytest.param("the 3rd of March", date(2027, 3, 3), id="ordinal-of-month"),
        pytest.param("March 3, 2027", date(2027, 3, 3), id="month-first"),
        pytest.param("14 Nov", date(2027, 11, 14), id="yearless-passed-goes-next-year"),
        pytest.param("15 November", date(2026, 11, 15), id="yearless-today-counts"),
        pytest.param("29 Feb", date(2028, 2, 29), id="next-leap-day"),
        pytest.param("Sept 30th 2027", date(2027, 9, 30), id="sept-abbreviation"),
        pytest.param("2027-03-08", date(2027, 3, 8), id="iso-date"),
        pytest.param("Closes: today", date(2026, 11, 15), id="today"),
        pytest.param("in a fortnight", date(2026, 11, 29), id="fortnight"),
        pytest.param("in 2 weeks' time", date(2026, 11, 29), id="weeks-time"),
        pytest.param("within one month", date(2026, 12, 15), id="month-word-number"),
        pytest.param("Sunday", date(2026, 11, 15), id="weekday-is-today"),
        pytest.param("next Sunday", date(2026, 11, 22), id="next-weekday-skips-today"),
        pytest.param("15th", date(2026, 11, 15), id="ordinal-today"),
        pytest.param("14th", date(2026, 12, 14), id="ordinal-passed-next-month"),
        pytest.param("31st", date(2026, 12, 31), id="ordinal-skips-short-month"),
        pytest.param("Do you have a car?", None, id="car"),
        pytest.param("Page 1 of 3", None, id="page-numbers"),
        pytest.param("Open to Year 12", None, id="school-year"),
        pytest.param("Year 12 may apply", None, id="year-12-may-is-no-date"),
        pytest.param("aged 16-18", None, id="age-range"),
        pytest.param("may", None, id="bare-month-word"),
        pytest.param("20", None, id="bare-number"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_date(text: str, expected: date | None) -> None:
    assert parse_date(text, fetched_at=DATE02_FETCHED) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("Posted 3 days ago", date(2026, 11, 12), id="days-ago"),
        pytest.param("yesterday", date(2026, 11, 14), id="yesterday"),
        pytest.param("3rd March", date(2026, 3, 3), id="yearless-past"),
        pytest.param("Friday", date(2026, 11, 13), id="weekday-past"),
        pytest.param("last Sunday", date(2026, 11, 8), id="last-weekday"),
        pytest.param("20th", date(2026, 10, 20), id="ordinal-past"),
    ],
)
def test_parse_date_prefer_past(text: str, expected: date) -> None:
    assert parse_date(text, fetched_at=DATE02_FETCHED, prefer="past") == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Closes : 10:00 pm on Sunday 2nd July 2023",
            datetime(2023, 7, 2, 22, 0, tzinfo=LONDON),
            id="civil-service-jobs",
        ),
        pytest.param(
            "3 March 2027 at 5.30pm",
            datetime(2027, 3, 3, 17, 30, tzinfo=LONDON),
            id="time-after",
        ),
        pytest.param(
            "12 noon, 4th December",
            datetime(2026, 12, 4, 12, 0, tzinfo=LONDON),
            id="noon",
        ),
        pytest.param(
            "2020-11-30T23:59:59+0000",
            datetime(2020, 11, 30, 23, 59, 59, tzinfo=UTC),
            id="nhs-iso-basic-offset",
        ),
        pytest.param(
            "2026-07-27T14:17:12-04:00",
            datetime(2026, 7, 27, 14, 17, 12, tzinfo=timezone(timedelta(hours=-4))),
            id="iso-negative-offset",
        ),
        pytest.param(
            "2027-03-08T17:00",
            datetime(2027, 3, 8, 17, 0, tzinfo=LONDON),
            id="iso-naive-is-london",
        ),
    ],
)
def test_parse_date_with_time_is_aware(text: str, expected: datetime) -> None:
    parsed = parse_date(text, fetched_at=DATE02_FETCHED)

    assert isinstance(parsed, datetime) and parsed.tzinfo is not None
    assert parsed == expected


def test_parse_date_rejects_naive_fetch_time() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_date("tomorrow", fetched_at=datetime(2026, 11, 15))


def test_parse_date_rejects_unknown_preference() -> None:
    with pytest.raises(ValueError, match="prefer"):
        parse_date("tomorrow", fetched_at=DATE02_FETCHED, prefer="nearest")


def test_today_is_the_london_day_of_the_fetch() -> None:
    late_evening_utc = datetime(2026, 7, 1, 23, 30, tzinfo=UTC)  # 00:30 BST, 2 July

    assert parse_date("today", fetched_at=late_evening_utc) == date(2026, 7, 2)


# -- parse_closing


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Closing date: 3rd March", _utc(2027, 3, 3, 23, 59, 59), id="date02-A"
        ),
        pytest.param("Closes in 5 days", _utc(2026, 11, 20, 23, 59, 59), id="date02-B"),
        pytest.param(
            "Applications close 5 days from now",
            _utc(2026, 11, 20, 23, 59, 59),
            id="date02-C",
        ),
        pytest.param(
            "Apply by tomorrow", _utc(2026, 11, 16, 23, 59, 59), id="date02-D"
        ),
        pytest.param("Ends Friday", _utc(2026, 11, 20, 23, 59, 59), id="date02-E"),
        pytest.param("Deadline: 20th", _utc(2026, 11, 20, 23, 59, 59), id="date02-F"),
        pytest.param("2027-03-08", _utc(2027, 3, 8, 23, 59, 59), id="date-only-in-gmt"),
        pytest.param("2027-07-08", _utc(2027, 7, 8, 22, 59, 59), id="date-only-in-bst"),
        pytest.param(
            "2020-11-30T23:59:59+0000",
            _utc(2020, 11, 30, 23, 59, 59),
            id="iso-instant-kept",
        ),
        pytest.param(
            "2021-05-04T23:59:59+0100",
            _utc(2021, 5, 4, 22, 59, 59),
            id="iso-bst-offset",
        ),
        pytest.param(
            "Closes : 10:00 pm on Sunday 2nd July 2023",
            _utc(2023, 7, 2, 21, 0),
            id="csj-10pm-bst",
        ),
        pytest.param(
            "Closes : 11:55 pm on Sunday 2nd July 2023",
            _utc(2023, 7, 2, 22, 55),
            id="csj-1155pm-bst",
        ),
        pytest.param(
            "midnight on 3 March 2027",
            _utc(2027, 3, 3, 23, 59, 59),
            id="midnight-is-end-of-day",
        ),
        pytest.param("Do you have a car?", None, id="no-date"),
    ],
)
def test_parse_closing(text: str, expected: datetime | None) -> None:
    closing = parse_closing(text, fetched_at=DATE02_FETCHED)

    assert closing == expected
    assert closing is None or closing.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # Clocks go forward at 01:00 GMT on Sunday 28 March 2027.
        pytest.param(
            "23:00 on 27 March 2027",
            _utc(2027, 3, 27, 23, 0),
            id="before-spring-change",
        ),
        pytest.param(
            "23:00 on 28 March 2027", _utc(2027, 3, 28, 22, 0), id="after-spring-change"
        ),
        pytest.param(
            "28 March 2027", _utc(2027, 3, 28, 22, 59, 59), id="spring-change-day"
        ),
        pytest.param(
            "1:30am on 28 March 2027", _utc(2027, 3, 28, 1, 30), id="skipped-hour-fold0"
        ),
        # Clocks go back at 01:00 GMT on Sunday 25 October 2026.
        pytest.param(
            "11:59 pm on 24 October 2026",
            _utc(2026, 10, 24, 22, 59),
            id="before-autumn-change",
        ),
        pytest.param(
            "11:59 pm on 25 October 2026",
            _utc(2026, 10, 25, 23, 59),
            id="after-autumn-change",
        ),
        pytest.param(
            "1:30 am on 25 October 2026",
            _utc(2026, 10, 25, 0, 30),
            id="repeated-hour-first",
        ),
    ],
)
def test_parse_closing_across_clock_changes(text: str, expected: datetime) -> None:
    assert parse_closing(text, fetched_at=DATE04_FETCHED) == expected


def test_to_closing_instant_treats_naive_datetime_as_london() -> None:
    assert to_closing_instant(datetime(2027, 7, 8, 17, 0)) == _utc(2027, 7, 8, 16, 0)


# -- parse_range (CASES DATE-04)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Programme runs 28 July – 1 August 2026",
            DateRange(date(2026, 7, 28), date(2026, 8, 1), "day"),
            id="date04-A",
        ),
        pytest.param(
            "Residential: 12th - 13th April 2026",
            DateRange(date(2026, 4, 12), date(2026, 4, 13), "day"),
            id="date04-B",
        ),
        pytest.param(
            "Mon 6 – Fri 10 July",
            DateRange(date(2026, 7, 6), date(2026, 7, 10), "day"),
            id="date04-C",
        ),
        pytest.param(
            "28 Dec – 3 Jan 2027",
            DateRange(date(2026, 12, 28), date(2027, 1, 3), "day"),
            id="date04-D",
        ),
        pytest.param(
            "Sept–Oct 2026",
            DateRange(date(2026, 9, 1), date(2026, 10, 31), "month"),
            id="date04-E",
        ),
        pytest.param("Every Tuesday, 6–8pm", None, id="date04-F-recurring-slot"),
        pytest.param("16-18", None, id="age-range"),
        pytest.param("aged 16-18", None, id="aged-age-range"),
        pytest.param(
            "Tue 6 – Fri 10 July",
            DateRange(
                date(2026, 7, 6), date(2026, 7, 10), "day", weekday_mismatch=True
            ),
            id="weekday-mismatch-flagged",
        ),
        pytest.param(
            "30 – 2 July",
            DateRange(date(2026, 6, 30), date(2026, 7, 2), "day"),
            id="start-in-previous-month",
        ),
        pytest.param(
            "July 6-10, 2026",
            DateRange(date(2026, 7, 6), date(2026, 7, 10), "day"),
            id="month-first",
        ),
        pytest.param(
            "06/07/2026 - 10/07/2026",
            DateRange(date(2026, 7, 6), date(2026, 7, 10), "day"),
            id="numeric",
        ),
        pytest.param(
            "3 to 5 March",
            DateRange(date(2026, 3, 3), date(2026, 3, 5), "day"),
            id="to-separator",
        ),
        pytest.param(
            "Nov - Feb",
            DateRange(date(2026, 11, 1), date(2027, 2, 28), "month"),
            id="months-across-new-year",
        ),
        pytest.param(
            "Feb–Feb 2028",
            DateRange(date(2028, 2, 1), date(2028, 2, 29), "month"),
            id="month-end-in-leap-year",
        ),
        pytest.param(
            "28 February 2026 - 1 March 2026",
            DateRange(date(2026, 2, 28), date(2026, 3, 1), "day"),
            id="explicit-years",
        ),
        pytest.param(
            "3 March 2027 - 1 March 2027", None, id="explicit-end-before-start"
        ),
        pytest.param("Dec 2026 - Jan 2026", None, id="explicit-months-reversed"),
        pytest.param("3 March 2027", None, id="single-date-is-no-range"),
        pytest.param("", None, id="empty"),
    ],
)
def test_parse_range(text: str, expected: DateRange | None) -> None:
    assert parse_range(text, fetched_at=DATE04_FETCHED) == expected


def test_yearless_range_already_running_stays_this_year() -> None:
    mid_programme = datetime(2026, 7, 8, 9, 0, tzinfo=UTC)

    found = parse_range("Mon 6 – Fri 10 July", fetched_at=mid_programme)

    assert found == DateRange(date(2026, 7, 6), date(2026, 7, 10), "day")


# -- the real recording


def _valid_through(body: bytes) -> list[str]:
    found = []
    for script in re.findall(
        rb'<script type="application/ld\+json">(.*?)</script>', body, re.S
    ):
        record = json.loads(script)
        if isinstance(record, dict) and record.get("@type") == "JobPosting":
            found.append(record["validThrough"])
    return found


def _recorded_texts() -> tuple[list[str], list[str]]:
    from warcio.archiveiterator import ArchiveIterator

    closes, valid_through = [], []
    with RECORDING.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            body = record.content_stream().read()
            if "civilservicejobs" in url:
                text = body.decode("cp1252")
                closes += re.findall(r"Closes : [^<]+", text)
            elif "jobs.nhs.uk/xi/vacancy" in url:
                valid_through += _valid_through(body)
    return closes, valid_through


@pytest.fixture(scope="module")
def recorded_texts() -> tuple[list[str], list[str]]:
    return _recorded_texts()


@needs_recording
@pytest.mark.recording
def test_civil_service_jobs_closing_times(
    recorded_texts: tuple[list[str], list[str]],
) -> None:
    closes, _ = recorded_texts

    instants = {parse_closing(text, fetched_at=CSJ_FETCHED) for text in closes}

    assert len(closes) >= 50
    assert instants == {
        _utc(2023, 7, 2, 21, 0),
        _utc(2023, 7, 2, 22, 50),
        _utc(2023, 7, 2, 22, 55),
    }


@needs_recording
@pytest.mark.recording
def test_nhs_jobs_valid_through_keeps_the_instant(
    recorded_texts: tuple[list[str], list[str]],
) -> None:
    _, valid_through = recorded_texts
    fetched = datetime(2020, 11, 6, tzinfo=UTC)

    parsed = [parse_closing(text, fetched_at=fetched) for text in valid_through]

    assert len(valid_through) > 2000
    assert parsed == [
        datetime.strptime(t, "%Y-%m-%dT%H:%M:%S%z") for t in valid_through
    ]


# -- properties

_DATE_WORDS = st.sampled_from(
    [
        "3rd",
        "March",
        "2027",
        "-",
        "–",
        "to",
        "Fri",
        "10",
        "July",
        "in",
        "5",
        "days",
        "from",
        "now",
        "ago",
        "next",
        "Closes",
        ":",
        "10:00",
        "pm",
        "on",
        "12/13/2027",
        "29",
        "Feb",
        "midnight",
        "Sept",
        "Oct",
        "2026-03-28T01:30",
        "+0100",
        "a",
        "fortnight",
        "Year",
        "may",
    ]
)
_TEXTS = st.text() | st.lists(_DATE_WORDS, max_size=10).map(" ".join)
_FETCHED = st.datetimes(
    min_value=datetime(1990, 1, 1),
    max_value=datetime(2090, 1, 1),
    timezones=st.just(UTC),
)


@given(_TEXTS, _FETCHED, st.sampled_from(["future", "past"]))
def test_parse_date_never_raises(text: str, fetched_at: datetime, prefer: str) -> None:
    parsed = parse_date(text, fetched_at=fetched_at, prefer=prefer)

    assert parsed is None or isinstance(parsed, date)
    if isinstance(parsed, datetime):
        assert parsed.tzinfo is not None


@given(_TEXTS, _FETCHED)
def test_parse_closing_never_raises(text: str, fetched_at: datetime) -> None:
    closing = parse_closing(text, fetched_at=fetched_at)

    assert closing is None or closing.utcoffset() == timedelta(0)


@given(_TEXTS, _FETCHED)
def test_parse_range_never_raises_and_ends_after_start(
    text: str, fetched_at: datetime
) -> None:
    found = parse_range(text, fetched_at=fetched_at)

    assert found is None or (
        found.end >= found.start and found.precision in ("day", "month")
    )


@given(st.dates(min_value=date(1995, 1, 1), max_value=date(2085, 12, 31)), _FETCHED)
def test_written_dates_round_trip(day: date, fetched_at: datetime) -> None:
    written = f"{day.day} {day.strftime('%B')} {day.year}"

    assert parse_date(written, fetched_at=fetched_at) == day
    assert parse_date(day.strftime("%d/%m/%Y"), fetched_at=fetched_at) == day
