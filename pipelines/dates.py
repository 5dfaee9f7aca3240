"""Date normalisers for closing, posted and programme dates, UK conventions.

Every function is anchored on the page's ``fetched_at``, never on the clock, so
re-processing a stored page gives the same answer (CASES DATE-02). Day comes before
month ("3/4/2027" is 3 April). A year-less date is the next such date on or after
the fetch day (or the last one before it with ``prefer="past"``). A closing date
without a time runs to the end of that day in Europe/London.

Our own small grammar does the work: dateparser finds dates in words such as "may",
"to" and "car" and resolves incomplete dates into the past, which is what these
rules exist to avoid. Unrecognised text gives None; nothing here raises on text.
"""

from __future__ import annotations

import calendar
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pipelines.text import decode_entities

logger = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
END_OF_DAY = time(23, 59, 59)
# "Midnight on 3 March" in a deadline means the end of 3 March. (policy)
MIDNIGHT = END_OF_DAY
NOON = time(12, 0)
_YEARS_TO_SEARCH = 9  # enough to reach the next 29 February
_MAX_CHARS = 500

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?"
    r"|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\b\.?"
)
_WEEKDAY = (
    r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?"
    r"|fri(?:day)?|sat(?:urday)?|sun(?:day)?)\b\.?"
)
_DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?\b"
_YEAR = r"(?:19|20)\d\d\b"
_SEP = r"\s*(?:-|\bto\b|\buntil\b|\btill\b|\bthrough\b|\bthru\b)\s*"
_MONTHS = {name[:3].lower(): n for n, name in enumerate(calendar.month_abbr) if n}
_WEEKDAYS = {name[:3].lower(): n for n, name in enumerate(calendar.day_abbr)}


def _side(p: str, *, month_required: bool) -> str:
    """One written date: "Sun 2nd July 2023", "July 2, 2023", "6" (in a range)."""
    month = "" if month_required else "?"
    return (
        rf"(?:(?P<{p}wd>{_WEEKDAY}),?\s+)?"
        rf"(?:(?P<{p}d>{_DAY})(?:\s+(?:of\s+)?(?P<{p}m>{_MONTH})){month}"
        rf"|(?P<{p}m2>{_MONTH})\s+(?P<{p}d2>{_DAY}))"
        rf"(?:,?\s+(?P<{p}y>{_YEAR}))?"
    )


_ISO = re.compile(
    r"\b\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,6})?)?"
    r"(?:z|[+-]\d{2}(?::?\d{2})?)?)?(?![\d:])"
)
_NUMERIC = r"(?P<{p}d>[0-3]?\d)(?P<{p}s>[/.])(?P<{p}m>[01]?\d)(?P=" + "{p}s)"
_NUMERIC += r"(?P<{p}y>\d{{4}}|\d\d)(?![\d/.])"
_NUMERIC_DATE = re.compile(r"\b" + _NUMERIC.format(p="a"))
_NUMERIC_RANGE = re.compile(
    r"\b" + _NUMERIC.format(p="a") + _SEP + _NUMERIC.format(p="b")
)
_TEXT_DATE = re.compile(r"\b" + _side("a", month_required=True))
_DAY_RANGE = re.compile(
    r"\b" + _side("a", month_required=False) + _SEP + _side("b", month_required=False)
)
_MONTH_RANGE = re.compile(
    rf"\b(?P<am>{_MONTH})(?:\s+(?P<ay>{_YEAR}))?{_SEP}(?P<bm>{_MONTH})"
    rf"(?:\s+(?P<by>{_YEAR}))?"
)
_TIME = (
    r"(?:(?P<h>1[0-2]|0?[1-9])(?:[:.](?P<mi>[0-5]\d))?\s*(?P<ap>am|pm)\b"
    r"|(?P<h24>[01]?\d|2[0-3]):(?P<mi24>[0-5]\d)(?::[0-5]\d)?(?![\d:])"
    r"|(?P<word>noon|midday|midnight))"
)
_TIME_BEFORE = re.compile(rf"\b{_TIME}\s*(?:,|\bon\b|\bat\b)?\s*$")
_TIME_AFTER = re.compile(rf"^\s*(?:,|\bat\b|\bby\b|-)?\s*{_TIME}")

_PREFIX = re.compile(
    r"^(?:(?:applications?|closing|closes?|closed|date|deadline|apply|applying|by"
    r"|before|ends?|ending|expires?|expiry|valid|through|until|till|on|posted"
    r"|published|starts?|starting|the|is|are|will|be|submit|due)\b[\s:.\-]*)+"
)
_NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_COUNT = (
    r"(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven"
    r"|twelve)"
)
_UNIT = r"(?P<u>day|week|fortnight|month)s?"
_IN_N = re.compile(rf"(?:in|within)\s+{_COUNT}\s+{_UNIT}(?:'?s?\s+time)?")
_N_FROM_NOW = re.compile(rf"{_COUNT}\s+{_UNIT}(?:\s+from\s+(?:now|today)|'?s?\s+time)")
_N_AGO = re.compile(rf"{_COUNT}\s+{_UNIT}\s+ago")
_DAY_WORD = re.compile(r"today|tonight|tomorrow|yesterday")
_NAMED_WEEKDAY = re.compile(
    rf"(?:(?P<rel>next|last|this|(?:this\s+)?coming)\s+)?(?P<wd>{_WEEKDAY})"
)
_ORDINAL = re.compile(
    r"(?P<d>3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)(?:\s+of\s+(?:the|this)\s+month)?"
)
# "Year 12 may apply", "aged 16 March"...: a number after these words is no day.
_COUNTER_BEFORE = re.compile(
    r"\b(?:years?|yr|aged?|ages|page|level|band|grade|stage|step|no|number|room"
    r"|unit|ks|sized?|over|under)\s*$"
)
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    precision: str  # "day" | "month"
    weekday_mismatch: bool = False  # a weekday written in the text disagrees


# -- shared helpers


def _normalise(text: str) -> str:
    text = decode_entities(text[:_MAX_CHARS]).translate(_DASHES).lower()
    text = text.replace("a.m.", "am").replace("p.m.", "pm")
    return re.sub(r"\s+", " ", text).strip(" .!")


def _anchor(fetched_at: datetime) -> date:
    if fetched_at.tzinfo is None or fetched_at.utcoffset() is None:
        raise ValueError(f"fetched_at must be timezone-aware, got {fetched_at!r}")
    return fetched_at.astimezone(LONDON).date()


def _check_prefer(prefer: str) -> None:
    if prefer not in ("future", "past"):
        raise ValueError(f"prefer must be 'future' or 'past', got {prefer!r}")


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _nearest(month: int, day: int, anchor: date, prefer: str) -> date | None:
    """The next (or last) month/day on or after (or before) the anchor day."""
    step = 1 if prefer == "future" else -1
    for offset in range(_YEARS_TO_SEARCH):
        found = _make_date(anchor.year + step * offset, month, day)
        if found is not None and (found >= anchor if step > 0 else found <= anchor):
            return found
    return None


def _group(match: re.Match[str], *names: str) -> str | None:
    for name in names:
        value = match.groupdict().get(name)
        if value:
            return value
    return None


def _month_number(name: str | None) -> int | None:
    return _MONTHS.get(name[:3]) if name else None


def _day_number(text: str | None) -> int | None:
    return int(re.sub(r"\D", "", text)) if text else None


def _add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


# -- times


def _time_from(match: re.Match[str]) -> time | None:
    word = match.group("word")
    if word:
        return NOON if word in ("noon", "midday") else MIDNIGHT
    if match.group("h24") is not None:
        return time(int(match.group("h24")), int(match.group("mi24")))
    hour = int(match.group("h")) % 12 + (12 if match.group("ap") == "pm" else 0)
    return time(hour, int(match.group("mi") or 0))


def _time_near(text: str, start: int, end: int) -> time | None:
    """A time written just before ("10:00 pm on ...") or after ("... at 5pm")."""
    before = _TIME_BEFORE.search(text[max(0, start - 40) : start])
    if before:
        return _time_from(before)
    after = _TIME_AFTER.match(text[end : end + 40])
    return _time_from(after) if after else None


def _with_time(day: date, at: time | None) -> date | datetime:
    return day if at is None else datetime.combine(day, at, tzinfo=LONDON)


# -- absolute dates


def _iso(text: str) -> date | datetime | None:
    match = _ISO.search(text)
    if not match:
        return None
    raw = match.group(0).upper().replace(",", ".")
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if len(raw) == 10:
        return parsed.date()
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=LONDON)


def _text_date(match: re.Match[str], anchor: date, prefer: str) -> date | None:
    month = _month_number(_group(match, "am", "am2"))
    day = _day_number(_group(match, "ad", "ad2"))
    year = _group(match, "ay")
    if month is None or day is None:
        return None
    if year:
        return _make_date(int(year), month, day)
    return _nearest(month, day, anchor, prefer)


def _numeric_date(match: re.Match[str]) -> date | None:
    if match.group("as") == "." and len(match.group("ay")) == 2:
        return None  # "1.2.33" is a version, not a date
    year = int(match.group("ay"))
    year += 2000 if year < 100 else 0
    return _make_date(year, int(match.group("am")), int(match.group("ad")))


def _absolute(text: str, anchor: date, prefer: str) -> date | datetime | None:
    """The first written date in the text, with a time beside it if there is one."""
    candidates: list[tuple[int, int, date]] = []
    for match in _TEXT_DATE.finditer(text):
        if _COUNTER_BEFORE.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        found = _text_date(match, anchor, prefer)
        if found is not None:
            candidates.append((match.start(), match.end(), found))
            break
    for match in _NUMERIC_DATE.finditer(text):
        found = _numeric_date(match)
        if found is not None:
            candidates.append((match.start(), match.end(), found))
            break
    if not candidates:
        return None
    start, end, found = min(candidates, key=lambda c: c[0])
    return _with_time(found, _time_near(text, start, end))


# -- relative phrases


def _count(match: re.Match[str]) -> int:
    raw = match.group("n")
    return int(raw) if raw.isdigit() else _NUMBER_WORDS[raw]


def _shift(anchor: date, count: int, unit: str) -> date:
    if unit == "month":
        return _add_months(anchor, count)
    days = {"day": 1, "week": 7, "fortnight": 14}[unit]
    return anchor + timedelta(days=count * days)


def _day_word(match: re.Match[str], anchor: date, prefer: str) -> date:
    offsets = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}
    return anchor + timedelta(days=offsets[match.group(0)])


def _in_n(match: re.Match[str], anchor: date, prefer: str) -> date:
    return _shift(anchor, _count(match), match.group("u"))


def _n_ago(match: re.Match[str], anchor: date, prefer: str) -> date:
    return _shift(anchor, -_count(match), match.group("u"))


def _named_weekday(match: re.Match[str], anchor: date, prefer: str) -> date:
    """ "Friday" is the next Friday, today included; "next Friday" excludes today."""
    target = _WEEKDAYS[match.group("wd")[:3]]
    ahead = (target - anchor.weekday()) % 7
    behind = (anchor.weekday() - target) % 7
    relation = match.group("rel")
    if relation == "next":
        return anchor + timedelta(days=ahead or 7)
    if relation == "last":
        return anchor - timedelta(days=behind or 7)
    if relation is not None or prefer == "future":
        return anchor + timedelta(days=ahead)
    return anchor - timedelta(days=behind)


def _ordinal(match: re.Match[str], anchor: date, prefer: str) -> date | None:
    """ "20th": this month if that day is still to come (or has passed, for past)."""
    day = int(match.group("d"))
    step = 1 if prefer == "future" else -1
    first = anchor.replace(day=1)
    for months in range(0, 12 * step, step):
        month = _add_months(first, months)
        found = _make_date(month.year, month.month, day)
        if found is not None and (found >= anchor if step > 0 else found <= anchor):
            return found
    return None


_Resolver = Callable[[re.Match[str], date, str], date | None]
_RELATIVE: tuple[tuple[re.Pattern[str], _Resolver], ...] = (
    (_DAY_WORD, _day_word),
    (_IN_N, _in_n),
    (_N_FROM_NOW, _in_n),
    (_N_AGO, _n_ago),
    (_NAMED_WEEKDAY, _named_weekday),
    (_ORDINAL, _ordinal),
)


def _relative(text: str, anchor: date, prefer: str) -> date | None:
    phrase = _PREFIX.sub("", text).strip(" .!:")
    for pattern, resolve in _RELATIVE:
        match = pattern.fullmatch(phrase)
        if match:
            return resolve(match, anchor, prefer)
    return None


# -- public API


def parse_date(
    text: str, *, fetched_at: datetime, prefer: str = "future"
) -> date | datetime | None:
    """A date (or an aware datetime when a time or offset is given) from free text.

    ``prefer`` ("future" or "past") decides year-less dates, bare weekdays and bare
    ordinals: deadlines look forward from ``fetched_at``, posted dates back.
    """
    _check_prefer(prefer)
    anchor = _anchor(fetched_at)
    normalised = _normalise(text)
    if not normalised:
        return None
    found = _iso(normalised) or _absolute(normalised, anchor, prefer)
    if found is None:
        found = _relative(normalised, anchor, prefer)
    logger.debug("parse_date(%r) -> %r", text, found)
    return found


def to_closing_instant(value: date | datetime) -> datetime:
    """A date runs to 23:59:59 Europe/London; a datetime keeps its instant. In UTC."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=LONDON)
        return aware.astimezone(UTC)
    return datetime.combine(value, END_OF_DAY, tzinfo=LONDON).astimezone(UTC)


def parse_closing(text: str, *, fetched_at: datetime) -> datetime | None:
    """The closing instant as an aware UTC datetime, or None.

    Local times are Europe/London wall time. An ambiguous time in the October
    repeated hour is the first (BST) one; a time in the skipped March hour is read
    with the GMT offset (zoneinfo's fold=0).
    """
    found = parse_date(text, fetched_at=fetched_at, prefer="future")
    return None if found is None else to_closing_instant(found)


# -- ranges


@dataclass(frozen=True)
class _Side:
    month: int | None
    day: int
    year: int | None
    weekday: int | None


def _day_side(match: re.Match[str], p: str) -> _Side | None:
    day = _day_number(_group(match, f"{p}d", f"{p}d2"))
    if day is None:
        return None
    weekday = _group(match, f"{p}wd")
    year = _group(match, f"{p}y")
    return _Side(
        month=_month_number(_group(match, f"{p}m", f"{p}m2")),
        day=day,
        year=int(year) if year else None,
        weekday=_WEEKDAYS[weekday[:3]] if weekday else None,
    )


def _numeric_side(match: re.Match[str], p: str) -> _Side:
    year = int(match.group(f"{p}y"))
    year += 2000 if year < 100 else 0
    month, day = int(match.group(f"{p}m")), int(match.group(f"{p}d"))
    return _Side(month=month, day=day, year=year, weekday=None)


def _years(a: _Side, b: _Side, anchor: date) -> tuple[int, int] | None:
    """Years for both sides: one given year is shared; none means the next range."""
    assert a.month is not None and b.month is not None
    crosses = (b.month, b.day) < (a.month, a.day)
    if a.year and b.year:
        return a.year, b.year
    if b.year:
        return b.year - crosses, b.year
    if a.year:
        return a.year, a.year + crosses
    for year in range(anchor.year - 1, anchor.year + _YEARS_TO_SEARCH):
        end = _make_date(year + crosses, b.month, b.day)
        if end is not None and end >= anchor:
            return year, year + crosses
    return None


def _month_before(b: _Side, start_day: int) -> int | None:
    """ "30 – 2 July" starts in June: the start takes the month before the end's."""
    if b.month is None or start_day <= b.day:
        return b.month
    return b.month - 1 or 12


def _build_range(a: _Side, b: _Side, anchor: date) -> DateRange | None:
    if a.month is None and b.month is None:
        return None
    a = _Side(a.month or _month_before(b, a.day), a.day, a.year, a.weekday)
    b = _Side(b.month or a.month, b.day, b.year, b.weekday)
    years = _years(a, b, anchor)
    if years is None:
        return None
    assert a.month is not None and b.month is not None
    start = _make_date(years[0], a.month, a.day)
    end = _make_date(years[1], b.month, b.day)
    if start is None or end is None or end < start:
        return None
    mismatch = any(
        side.weekday is not None and side.weekday != value.weekday()
        for side, value in ((a, start), (b, end))
    )
    if mismatch:
        logger.debug("Weekdays disagree with the range %s to %s", start, end)
    return DateRange(start, end, "day", weekday_mismatch=mismatch)


def _month_range(match: re.Match[str], anchor: date) -> DateRange | None:
    a_month, b_month = _month_number(match["am"]), _month_number(match["bm"])
    assert a_month is not None and b_month is not None
    b_last = calendar.monthrange(2001, b_month)[1]  # February checked below
    a = _Side(a_month, 1, int(match["ay"]) if match["ay"] else None, None)
    b = _Side(b_month, b_last, int(match["by"]) if match["by"] else None, None)
    years = _years(a, b, anchor)
    if years is None or years[1] < years[0]:
        return None
    end_day = calendar.monthrange(years[1], b_month)[1]
    start, end = date(years[0], a_month, 1), date(years[1], b_month, end_day)
    return DateRange(start, end, "month") if end >= start else None


def _range_candidates(text: str, anchor: date) -> list[tuple[int, DateRange]]:
    found: list[tuple[int, DateRange]] = []
    for match in _DAY_RANGE.finditer(text):
        a, b = _day_side(match, "a"), _day_side(match, "b")
        built = _build_range(a, b, anchor) if a and b else None
        if built is not None:
            found.append((match.start(), built))
            break
    for match in _NUMERIC_RANGE.finditer(text):
        built = _build_range(
            _numeric_side(match, "a"), _numeric_side(match, "b"), anchor
        )
        if built is not None:
            found.append((match.start(), built))
            break
    for match in _MONTH_RANGE.finditer(text):
        built = _month_range(match, anchor)
        if built is not None:
            found.append((match.start(), built))
            break
    return found


def parse_range(text: str, *, fetched_at: datetime) -> DateRange | None:
    """A date range such as "28 Dec – 3 Jan 2027" or "Sept–Oct 2026", or None.

    The first side inherits the month and year it leaves out; a range that crosses
    New Year starts in the year before the one written. Recurring slots ("Every
    Tuesday, 6–8pm") and bare number pairs ("16-18") are not ranges.
    """
    anchor = _anchor(fetched_at)
    normalised = _normalise(text)
    candidates = _range_candidates(normalised, anchor) if normalised else []
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[0])[1]
