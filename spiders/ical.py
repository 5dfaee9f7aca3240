"""A small, careful iCalendar (RFC 5545) reader for event feeds: VEVENTs only.

Open days and taster sessions are often published as ``.ics`` feeds. This reads
what a listing needs and nothing more: lines are unfolded, parameters may be
quoted (``CN="Smith; Jones"``), TEXT values are unescaped, ``DTSTART``/``DTEND``
are dates or date-times (UTC ``Z``, ``TZID=`` with an IANA name, a few Windows
names, or floating). Components nested in a VEVENT (VALARM) are skipped.

Policies: a floating date-time is taken as UK time (Europe/London); an all-day
``DTEND`` is exclusive in the standard, so it is turned into the event's last
day; ``DURATION`` gives the end when ``DTEND`` is absent. An unknown TZID keeps
the time floating in Europe/London and is noted in ``problems``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

logger = logging.getLogger(__name__)

LONDON = ZoneInfo("Europe/London")
_FOLD = re.compile(r"\r?\n[ \t]")
_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_DATE_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$")
_DURATION = re.compile(
    r"^(?P<sign>[+-])?P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+)S)?)?$"
)
_ESCAPES = re.compile(r"\\([\\;,nN])")
_WINDOWS_ZONES = {
    "GMT Standard Time": "Europe/London",
    "Greenwich Standard Time": "Etc/GMT",
    "UTC": "UTC",
    "W. Europe Standard Time": "Europe/Berlin",
}

Moment = date | datetime


@dataclass
class Property:
    name: str
    params: dict[str, str]
    value: str


@dataclass
class CalendarEvent:
    uid: str | None = None
    summary: str | None = None
    description: str | None = None
    location: str | None = None
    url: str | None = None
    start: Moment | None = None
    end: Moment | None = None
    status: str | None = None
    organizer: str | None = None
    recurrence_id: str | None = None
    rrule: str | None = None
    categories: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    properties: dict[str, str] = field(default_factory=dict)


@dataclass
class Calendar:
    name: str | None = None
    events: list[CalendarEvent] = field(default_factory=list)


def parse_calendar(text: str) -> Calendar:
    """Every VEVENT in an iCalendar document; malformed lines are skipped."""
    calendar = Calendar()
    current: list[Property] | None = None
    nested = 0
    for line in unfold(text):
        prop = parse_line(line)
        if prop is None:
            continue
        if prop.name == "BEGIN" and prop.value.upper() == "VEVENT" and current is None:
            current = []
        elif prop.name == "END" and prop.value.upper() == "VEVENT" and not nested:
            if current is not None:
                calendar.events.append(build_event(current))
            current = None
        elif current is not None and prop.name in {"BEGIN", "END"}:
            nested += 1 if prop.name == "BEGIN" else -1
        elif current is not None and not nested:
            current.append(prop)
        elif current is None and prop.name == "X-WR-CALNAME":
            calendar.name = unescape(prop.value)
    return calendar


def unfold(text: str) -> list[str]:
    """Content lines with folded continuations joined (CRLF or LF, then a blank)."""
    text = text.lstrip("\ufeff")
    return [line for line in _FOLD.sub("", text).splitlines() if line.strip()]


def parse_line(line: str) -> Property | None:
    """``NAME;PARAM=a;PARAM="b:c":value``; quotes protect ``;``, ``:`` and ``,``."""
    parts: list[str] = []
    start, quoted = 0, False
    for index, char in enumerate(line):
        if char == '"':
            quoted = not quoted
        elif char in ";:" and not quoted:
            parts.append(line[start:index])
            start = index + 1
            if char == ":":
                return _property(parts, line[start:])
    return None


def _property(parts: list[str], value: str) -> Property | None:
    name = parts[0].strip().upper()
    if not name:
        return None
    params = {}
    for param in parts[1:]:
        key, _, raw = param.partition("=")
        params[key.strip().upper()] = raw.strip().strip('"')
    return Property(name, params, value)


def unescape(value: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        return "\n" if char in "nN" else char

    return _ESCAPES.sub(replace, value)


def build_event(props: list[Property]) -> CalendarEvent:
    event = CalendarEvent()
    for prop in props:
        event.properties.setdefault(prop.name, prop.value)
        _apply(event, prop)
    duration = next((p.value for p in props if p.name == "DURATION"), None)
    if event.end is None and event.start is not None and duration:
        event.end = _end_from_duration(event.start, duration, event.problems)
    return event


def _apply(event: CalendarEvent, prop: Property) -> None:
    texts = {
        "UID": "uid",
        "SUMMARY": "summary",
        "DESCRIPTION": "description",
        "LOCATION": "location",
        "URL": "url",
        "STATUS": "status",
        "RRULE": "rrule",
        "RECURRENCE-ID": "recurrence_id",
    }
    if prop.name in texts:
        setattr(event, texts[prop.name], unescape(prop.value).strip() or None)
    elif prop.name == "DTSTART":
        event.start = parse_moment(prop, event.problems)
    elif prop.name == "DTEND":
        event.end = _inclusive_end(parse_moment(prop, event.problems))
    elif prop.name == "CATEGORIES":
        event.categories += [c.strip() for c in _split_list(prop.value) if c.strip()]
    elif prop.name == "ORGANIZER":
        event.organizer = prop.params.get("CN") or prop.value.removeprefix("mailto:")


def _split_list(value: str) -> list[str]:
    return [unescape(v) for v in re.split(r"(?<!\\),", value)]


def parse_moment(prop: Property, problems: list[str]) -> Moment | None:
    """A DATE or DATE-TIME value as a date or an aware datetime."""
    value = prop.value.strip()
    day = _DATE.match(value)
    if day and prop.params.get("VALUE", "DATE").upper() == "DATE":
        return _date(day.groups(), problems, prop)
    moment = _DATE_TIME.match(value)
    if moment is None:
        problems.append(f"{prop.name}: not a date or date-time: {value!r}")
        return None
    *fields, utc = moment.groups()
    try:
        naive = datetime(*(int(f) for f in fields))
    except ValueError:
        problems.append(f"{prop.name}: impossible date-time: {value!r}")
        return None
    if utc:
        return naive.replace(tzinfo=UTC)
    return naive.replace(tzinfo=_zone(prop.params.get("TZID"), problems))


def _date(groups: tuple[str, ...], problems: list[str], prop: Property) -> date | None:
    try:
        return date(*(int(g) for g in groups))
    except ValueError:
        problems.append(f"{prop.name}: impossible date: {prop.value!r}")
        return None


def _zone(tzid: str | None, problems: list[str]) -> ZoneInfo:
    if not tzid:
        return LONDON
    name = _WINDOWS_ZONES.get(tzid, tzid)
    # vendor prefixes such as "/mozilla.org/20050126_1/Europe/London"
    candidates = [name, "/".join(name.strip("/").split("/")[-2:])]
    for candidate in candidates:
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    problems.append(f"unknown TZID {tzid!r}: taken as Europe/London")
    return LONDON


def _inclusive_end(end: Moment | None) -> Moment | None:
    if isinstance(end, date) and not isinstance(end, datetime):
        return end - timedelta(days=1)
    return end


def parse_duration(value: str) -> timedelta | None:
    match = _DURATION.match(value.strip())
    if match is None or not any(
        match.group(k) for k in ("weeks", "days", "hours", "minutes", "seconds")
    ):
        return None
    parts = {k: int(v) for k, v in match.groupdict().items() if v and k != "sign"}
    delta = timedelta(**parts)
    return -delta if match.group("sign") == "-" else delta


def _end_from_duration(
    start: Moment, duration: str, problems: list[str]
) -> Moment | None:
    delta = parse_duration(duration)
    if delta is None:
        problems.append(f"DURATION: not understood: {duration!r}")
        return None
    if isinstance(start, datetime):
        return start + delta
    return _inclusive_end(start + delta)


def moment_text(value: Moment | None) -> str | None:
    """ISO 8601: ``2026-08-04`` for a date, with the offset for a date-time."""
    return value.isoformat() if value is not None else None
