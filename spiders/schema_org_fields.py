"""schema.org entities mapped into :class:`~spiders.items.ListingItem` fields.

One function per entity kind returns the item's keyword arguments, in the
source's own words: dates stay text (``start_text``, ``end_text``,
``closing_text``), prices stay text (``cost_text``), and the entity itself goes
to ``raw``. Identity (``source_key``, ``url``) is left to the spider.

Attendance mode becomes a ``workplace_type`` hint that the enrichment
pipeline reads: "remote" for an online event or a ``VirtualLocation`` only,
"hybrid" for mixed attendance or a physical and a virtual place together,
"in person" otherwise (when the source says so).
"""

from __future__ import annotations

from typing import Any

from spiders.jsonld import types_of

Entity = dict[str, Any]
Fields = dict[str, Any]

JOB_TYPES = frozenset({"JobPosting"})
COURSE_TYPES = frozenset({"Course"})
PROGRAM_TYPES = frozenset({"EducationalOccupationalProgram", "WorkBasedProgram"})
EVENT_TYPES = frozenset(
    {
        "Event",
        "EducationEvent",
        "BusinessEvent",
        "ChildrensEvent",
        "CourseInstance",
        "ExhibitionEvent",
        "Hackathon",
        "SocialEvent",
    }
)
LISTING_TYPES = JOB_TYPES | COURSE_TYPES | PROGRAM_TYPES | EVENT_TYPES

_ATTENDANCE = {
    "OnlineEventAttendanceMode": "remote",
    "OfflineEventAttendanceMode": "in person",
    "MixedEventAttendanceMode": "hybrid",
}
_COURSE_MODES = {"online": "remote", "blended": "hybrid", "onsite": "in person"}


def listing_fields(entity: Entity) -> Fields:
    """The item fields of any listing entity, chosen by its ``@type``."""
    types = types_of(entity)
    if types & JOB_TYPES:
        return posting_fields(entity)
    if types & COURSE_TYPES:
        return course_fields(entity)
    if types & PROGRAM_TYPES:
        return program_fields(entity)
    return event_fields(entity)


def posting_fields(posting: Entity) -> Fields:
    places = as_list(posting.get("jobLocation"))
    organisation = posting.get("hiringOrganization")
    return {
        "title": text(posting.get("title")),
        "provider_name": text(get(organisation, "name")),
        "provider_url": text(get(organisation, "sameAs"))
        or text(get(organisation, "url")),
        **place_fields(places),
        "base_salary": as_dict(posting.get("baseSalary")),
        "pay_text": text(get(posting, "baseSalary", "value", "value")),
        "closing_text": text(posting.get("validThrough")),
        "posted_text": text(posting.get("datePosted")),
        "start_text": text(posting.get("jobStartDate")),
        "hours_text": text(posting.get("workHours")),
        "description_html": text(posting.get("description")),
        "employment_type": joined(posting.get("employmentType")),
        "workplace_type": text(posting.get("jobLocationType")),
        "apply_url": text(posting.get("url")),
        "categories": present([posting.get("occupationalCategory")]),
        "positions": whole_number(posting.get("totalJobOpenings")),
        "raw": posting,
    }


def course_fields(course: Entity) -> Fields:
    instances = [i for i in as_list(course.get("hasCourseInstance")) if is_dict(i)]
    first: Entity = instances[0] if instances else {}
    offers = as_list(course.get("offers")) or as_list(first.get("offers"))
    places = as_list(first.get("location"))
    return {
        **_learning_fields(course),
        **place_fields(places),
        "start_text": text(first.get("startDate")),
        "end_text": text(first.get("endDate")),
        "closing_text": offer_deadline(offers),
        "opens_text": text(get(first_dict(offers), "validFrom")),
        "cost_text": cost_text(offers, course.get("isAccessibleForFree")),
        "duration_text": text(course.get("timeRequired"))
        or text(first.get("courseWorkload")),
        "workplace_type": _course_mode(first.get("courseMode"))
        or attendance_hint(first, places),
        "raw": course,
    }


def program_fields(program: Entity) -> Fields:
    offers = as_list(program.get("offers"))
    places = as_list(program.get("location"))
    mode = joined(program.get("educationalProgramMode"))
    return {
        **_learning_fields(program),
        **place_fields(places),
        "start_text": text(program.get("startDate")),
        "end_text": text(program.get("endDate")),
        "closing_text": text(program.get("applicationDeadline"))
        or offer_deadline(offers),
        "opens_text": text(program.get("applicationStartDate")),
        "cost_text": cost_text(offers, program.get("isAccessibleForFree")),
        "duration_text": text(program.get("timeToComplete")),
        "employment_type": mode,
        "workplace_type": "remote" if mode and "online" in mode.lower() else None,
        "categories": present(
            [
                *as_list(program.get("programType")),
                *as_list(program.get("occupationalCategory")),
            ]
        ),
        "positions": whole_number(program.get("maximumEnrollment")),
        "raw": program,
    }


def event_fields(event: Entity) -> Fields:
    offers = as_list(event.get("offers"))
    places = as_list(event.get("location"))
    organiser = first_dict(as_list(event.get("organizer")))
    return {
        "title": text(event.get("name")),
        "alternate_title": text(event.get("alternateName")),
        "provider_name": text(get(organiser, "name")),
        "provider_url": text(get(organiser, "url")),
        **place_fields(places),
        "start_text": text(event.get("startDate")),
        "end_text": text(event.get("endDate")),
        "closing_text": offer_deadline(offers),
        "opens_text": text(get(first_dict(offers), "validFrom")),
        "cost_text": cost_text(offers, event.get("isAccessibleForFree")),
        "duration_text": text(event.get("duration")),
        "description_html": text(event.get("description")),
        "workplace_type": attendance_hint(event, places),
        "apply_url": text(get(first_dict(offers), "url")) or text(event.get("url")),
        "categories": keywords(event.get("keywords")),
        "positions": whole_number(event.get("maximumAttendeeCapacity")),
        "raw": event,
    }


def _learning_fields(entity: Entity) -> Fields:
    """What a Course and a Program share: names, provider, level, description."""
    provider = first_dict(as_list(entity.get("provider")))
    return {
        "title": text(entity.get("name")),
        "alternate_title": text(entity.get("alternateName")),
        "provider_name": text(get(provider, "name")),
        "provider_url": text(get(provider, "url")) or text(get(provider, "sameAs")),
        "description_html": text(entity.get("description")),
        "level_text": _level_text(entity.get("educationalLevel")),
        "apply_url": text(entity.get("url")),
    }


def _level_text(value: Any) -> str | None:
    if is_dict(value):
        return text(value.get("name"))
    return joined(value)


def _course_mode(value: Any) -> str | None:
    modes = [m.lower() for m in present(as_list(value))]
    hints = {_COURSE_MODES.get(m, "") for m in modes} - {""}
    if len(hints) > 1:
        return "hybrid"
    return hints.pop() if hints else None


def attendance_hint(entity: Entity, places: list[Any]) -> str | None:
    mode = text(entity.get("eventAttendanceMode"))
    if mode:
        hint = _ATTENDANCE.get(mode.rsplit("/", 1)[-1])
        if hint:
            return hint
    kinds = {"virtual" if _is_virtual(p) else "physical" for p in places if p}
    if kinds == {"virtual"}:
        return "remote"
    return "hybrid" if kinds == {"virtual", "physical"} else None


def _is_virtual(place: Any) -> bool:
    return is_dict(place) and "VirtualLocation" in types_of(place)


def place_fields(places: list[Any]) -> Fields:
    physical = [p for p in places if not _is_virtual(p)]
    virtual = [p for p in places if _is_virtual(p)]
    texts = [t for t in map(address_text, physical) if t]
    texts += [text(get(p, "name")) or "Online" for p in virtual]
    return {
        "location_texts": texts,
        "postcodes": [p for p in map(postcode, physical) if p],
        "coordinates": [c for c in map(coordinates, physical) if c],
    }


def address_text(place: Any) -> str | None:
    if isinstance(place, str):
        return place.strip() or None
    address = get(place, "address")
    if isinstance(address, str):
        return address.strip() or None
    parts = [
        text(get(address, name))
        for name in ("streetAddress", "addressLocality", "addressRegion", "postalCode")
    ]
    found = ", ".join(p for p in parts if p)
    return found or text(get(place, "name"))


def postcode(place: Any) -> str | None:
    return text(get(place, "address", "postalCode"))


def coordinates(place: Any) -> tuple[float, float] | None:
    geo = get(place, "geo")
    try:
        lat = float(get(geo, "latitude"))
        lon = float(get(geo, "longitude"))
    except (TypeError, ValueError):
        return None
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return (lat, lon)
    return None


def cost_text(offers: list[Any], free: Any = None) -> str | None:
    """What taking part costs, as the offer states it: "Free", "GBP 25" or a range."""
    if free is True:
        return "Free"
    for offer in filter(is_dict, offers):
        low = text(offer.get("lowPrice"))
        high = text(offer.get("highPrice"))
        price = text(offer.get("price")) or (f"{low} - {high}" if low and high else low)
        if price is None:
            continue
        if _is_zero(price):
            return "Free"
        currency = text(offer.get("priceCurrency"))
        return f"{currency} {price}" if currency else price
    return None


def _is_zero(price: str) -> bool:
    try:
        return float(price) == 0
    except ValueError:
        return False


def offer_deadline(offers: list[Any]) -> str | None:
    return text(get(first_dict(offers), "validThrough"))


def keywords(value: Any) -> list[str]:
    if isinstance(value, str):
        return present(value.split(","))
    return present(as_list(value))


def get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def is_dict(value: Any) -> bool:
    return isinstance(value, dict)


def first_dict(values: list[Any]) -> Entity | None:
    return next((v for v in values if isinstance(v, dict)), None)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def as_dict(value: Any) -> Entity | None:
    return value if isinstance(value, dict) else None


def text(value: Any) -> str | None:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        found = str(value).strip()
        return found or None
    return None


def present(values: list[Any]) -> list[str]:
    return [t for t in map(text, values) if t]


def joined(value: Any) -> str | None:
    return ", ".join(present(as_list(value))) or None


def whole_number(value: Any) -> int | None:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if number >= 0 else None
