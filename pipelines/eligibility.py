"""Who may apply: ages, school years and widening-participation criteria.

Each finding keeps the sentence it came from (``Eligibility.evidence``), so a
reviewer can see why a listing says "aged 16-18" or "free school meals"; for the
``region`` criterion the named area itself is kept under ``evidence["region_area"]``.
Numbers count as ages only in age wording ("aged 16-18", "16 to 24 year olds",
"under 25s"), never before units ("16-18 hours per week"); school years run from
Year 7 to Year 13, so "Year 2023" is not one. Equal-opportunity boilerplate
("regardless of age, disability ...") is not a criterion.
"""

from __future__ import annotations

import html
import logging
import re
from dataclasses import dataclass, field

from spiders.items import Eligibility

logger = logging.getLogger(__name__)

MIN_AGE, MAX_AGE = 5, 99
FIRST_SCHOOL_YEAR, LAST_SCHOOL_YEAR = 7, 13

_UNIT = (
    r"(?!\s*(?:hours?|hrs?|h\b|weeks?|wks?|days?|months?|mins?|minutes?|miles?|km"
    r"|%|per\b|pm\b|am\b|places|spaces|people|students|pupils|participants"
    r"|employees|staff|countries|gcses|a-levels|credits|points|ucas"
    r"|years?(?![\s-]*(?:old|of age))|yrs?(?!\s*old)|[:/.]\d))"
)
_OLDS = r"(?:[\s-]*(?:year|yr)s?[\s-]*olds?|[\s-]*years?\s+of\s+age)"
_AGE_RANGES = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(?:aged|ages|age range|age|between the ages of)\s*(?:of\s*|from\s*|"
        r"between\s*)?(\d{1,2})\s*(?:-|to|and|or)\s*(\d{1,2})\b",
        rf"\b(\d{{1,2}})\s*(?:-|to)\s*(\d{{1,2}})(?:{_OLDS}|s\b)",
        rf"\bbetween\s+(\d{{1,2}})\s+and\s+(\d{{1,2}}){_OLDS}",
    )
)
_AGE_MINIMUMS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\b(?:aged|ages|age|open to|for)\s*(\d{1,2})\s*\+",
        rf"\b(\d{{1,2}})\s*\+\s*(?:only\b|{_OLDS})",
        rf"\b(?:aged\s*)?(\d{{1,2}})(?:{_OLDS})?\s*(?:or|and)\s*(?:over|older|above)\b",
        r"\bover[\s-]*(\d{1,2})s\b",
        rf"\b(?:must be|be aged|aged at least|be at least|minimum age(?: of)?)\s*"
        rf"(?:over\s*)?(\d{{1,2}})"
        rf"{_UNIT}",
    )
)
_AGE_MAXIMUMS_INCLUSIVE = tuple(
    re.compile(pattern)
    for pattern in (
        rf"\b(?:aged\s*)?(\d{{1,2}})(?:{_OLDS})?\s*(?:or|and)\s*(?:under|younger|below)\b",
        r"\b(?:aged up to|up to the age of|no older than)\s*(\d{1,2})\b",
    )
)
_AGE_MAXIMUMS_EXCLUSIVE = (
    re.compile(r"\bunder[\s-]*(\d{1,2})s\b"),
    re.compile(r"\bunder the age of\s*(\d{1,2})\b"),
)
# "under 25" alone is an age only where the sentence talks about people or age.
_BARE_UNDER = re.compile(rf"\bunder\s*(\d{{1,2}})\b(?!s\b){_UNIT}")
_AGE_CONTEXT = re.compile(
    r"\b(?:ages?d?|old|young|you must be|applicants?|candidates?|students?|pupils?"
    r"|people|learners?|eligible|open to|participants?)\b"
)

_SCHOOL_YEAR = re.compile(
    r"(?<![\d.] )(?<![\d.])\b(?:years?|yrs?|y)\s*(\d{1,2})"
    r"(?:\s*(-|to|and|&|/|or)\s*(?:(?:years?|yrs?|y)\s*)?(\d{1,2}))?"
    r"\b(?![\d:]|[./]\d|\s*months)"
)
_SCHOOL_STAGES = (
    ("sixth_form", re.compile(r"\b(?:sixth|6th)[\s-]*form(?:ers?)?\b")),
    (
        "college",
        re.compile(r"\b(?:college|further education|fe) (?:students?|learners?)\b"),
    ),
)

_BOILERPLATE = re.compile(
    r"\bregardless of\b|\birrespective of\b|\bequal opportunit|\bdiscriminat"
    r"|\bprotected characteristics?\b|\bdisability confident\b|\bdiversity\b"
    r"|\breasonable adjustments?\b|\bguaranteed interview"
)
_CRITERIA = (
    ("free_school_meals", r"\bfree school meals\b|\bfsm\b|\bpupil premium\b"),
    (
        "first_in_family",
        r"\bfirst (?:person |generation )?in (?:your|their|the|his|her) (?:immediate )?"
        r"family to\b|\bfirst[- ]generation\b|\bfirst[- ]in[- ](?:the[- ])?family\b"
        r"|\b(?:neither|none) of (?:your|their) parents\b[^.]*\buniversity"
        r"|\bparents? (?:did not|didn't|have not|haven't) (?:go|been|attend)\w* "
        r"(?:to )?university",
    ),
    (
        "care_experienced",
        r"\bcare[- ]experienced\b|\bcare[- ]leavers?\b|\blooked[- ]after (?:child"
        r"|children|young people)\b|\b(?:been|are|is|were|lived|living|grown up"
        r"|spent time) in (?:local authority |foster )?care\b",
    ),
    ("young_carer", r"\byoung (?:adult )?carers?\b"),
    (
        "state_school",
        r"\bstate[- ](?:funded |maintained )?(?:schools?|sector|educated|education)\b"
        r"|\bnon[- ]fee[- ]paying\b",
    ),
    (
        "polar4",
        r"\bpolar ?4\b|\bpolar quintile|\blow(?:er)?[- ]participation "
        r"(?:neighbourhoods?|areas?|postcodes?)\b",
    ),
    (
        "disability",
        r"\bdisab(?:led|ility|ilities)\b|\blong[- ]term (?:health )?(?:condition|"
        r"illness)\b|\bneurodivergent\b",
    ),
)
_CRITERIA_PATTERNS = tuple((code, re.compile(pattern)) for code, pattern in _CRITERIA)
# every criterion a listing can be given: the patterns' and "region" (living
# in a named area)
CRITERIA = (*(code for code, _ in _CRITERIA), "region")
_NEEDS_CONTEXT = frozenset({"disability"})
# disability is a criterion only where it is the applicant's ("open to students
# with a disability", "disabled applicants", "if you have a long-term
# condition"), not the work's ("learning disability care", "support adults
# with learning disabilities")
_APPLICANT = (
    r"(?:applicants?|students?|young (?:people|adults)|candidates?|participants?"
    r"|learners?|pupils?|graduates?|school leavers?|you)"
)
_APPLICANT_DISABILITY = re.compile(
    rf"\b{_APPLICANT} (?:\w+ ){{0,3}}(?:with|who (?:have|are|has|is))\b"
    rf"|\bdisabled {_APPLICANT}\b|\bif you (?:have|are|consider yourself)\b"
)
_DISABILITY_WORK = re.compile(
    r"\bdisabilit(?:y|ies) (?:care|services?|nurs\w*|support|teams?|units?|wards?"
    r"|homes?|settings?|providers?|practitioners?|workers?|student nurses?)\b"
    r"|\b(?:support|supporting|care for|caring for|work with|working with|look after"
    r"|looking after)\b(?:\s+\w+){0,4}\s+(?:with|who have)\b"
    # help with applying, which every employer owes, is no criterion of the role
    r"|\bapplication (?:form|process)\b|\balternative (?:methods?|formats?)\b"
    r"|\binterview all disabled\b|\binterview is guaranteed\b|\bunder-?represented\b"
)

_PLACE = r"[A-Z][\w'’-]*(?:(?:\s+(?:and|&|of|upon|on|the|or)|,)?\s+[A-Z][\w'’-]*)*"
_REGION = re.compile(
    r"(?i:\b(?:liv(?:e|es|ing)|resid(?:e|es|ing|ent|ents))\s+(?:in|within|of)\s+"
    r"|\bmust be from\s+|\b(?:schools?|colleges?)\s+(?:in|within|across)\s+)"
    rf"(?i:the\s+)?({_PLACE})"
)
_NOT_AREAS = re.compile(
    r"^(?:UK|U\.K|United Kingdom|Great Britain|Britain|Year|Years|Key Stage|The UK"
    r"|January|February|March|April|May|June|July|August|September|October"
    r"|November|December)\b"
)
# who may not apply: "not suitable for:", "cannot apply"
_EXCLUDES = re.compile(
    r"\bnot (?:suitable|open|eligible|available)\b|\bcan ?not apply\b"
    r"|\bcan't apply\b|\bineligible\b|\bexcluded\b"
)
_LIST_ITEM = ("- ", "* ")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+|\s*[•·▪;]\s*")


@dataclass
class _Found:
    mins: list[int] = field(default_factory=list)
    maxes: list[int] = field(default_factory=list)
    years: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)


def extract_eligibility(text: str | None) -> Eligibility:
    found = _Found()
    excluding = False  # in the list after "not suitable for:"
    for line in _sentences(text):
        item = line.startswith(_LIST_ITEM)
        sentence = line[len("- ") :] if item else line
        folded = sentence.casefold()
        excluding = excluding and item
        excluded = excluding or bool(_EXCLUDES.search(folded))
        _read_ages(sentence, folded, found, excluded=excluded)
        excluding = excluding or (excluded and folded.endswith(":"))
        _read_school_years(sentence, folded, found)
        _read_criteria(sentence, folded, found)
        _read_region(sentence, found)
    return Eligibility(
        age_min=min(found.mins) if found.mins else None,
        age_max=max(found.maxes) if found.maxes else None,
        school_years=_ordered_years(found.years),
        criteria=found.criteria,
        evidence=found.evidence,
    )


def residency_areas(text: str | None) -> list[str]:
    """Named areas applicants must live or study in ("Greater Manchester")."""
    areas = [_region_phrase(sentence) for sentence in _sentences(text)]
    return list(dict.fromkeys(area for area in areas if area))


def _sentences(text: str | None) -> list[str]:
    if not isinstance(text, str):
        return []
    cleaned = html.unescape(text).replace("\u00a0", " ")
    cleaned = re.sub(r"[‐-―−]", "-", cleaned)
    # a bullet starts a list item, as a dash at the start of a line does
    cleaned = re.sub(r"\s*[•·▪]\s*", "\n- ", cleaned)
    parts = (" ".join(part.split()) for part in _SENTENCE_END.split(cleaned))
    return [part for part in parts if part]


def _read_ages(sentence: str, folded: str, found: _Found, *, excluded: bool) -> None:
    """The ages ``sentence`` admits; when it names whom it ``excluded`` ("not
    suitable for candidates under 18"), the ages it does not."""
    mins, maxes = [], []
    for pattern in () if excluded else _AGE_RANGES:
        for match in pattern.finditer(folded):
            low, high = int(match[1]), int(match[2])
            if _plausible(low) and _plausible(high) and low <= high:
                mins.append(low)
                maxes.append(high)
    lowest = _ages(_AGE_MINIMUMS, folded)
    highest = _ages(_AGE_MAXIMUMS_INCLUSIVE, folded)
    exclusive = _ages(_AGE_MAXIMUMS_EXCLUSIVE, folded)
    if _AGE_CONTEXT.search(folded):
        exclusive += _ages((_BARE_UNDER,), folded)
    if excluded:
        maxes += [age - 1 for age in lowest]
        mins += [age + 1 for age in highest] + exclusive
    else:
        mins += lowest
        maxes += highest + [age - 1 for age in exclusive]
    if mins or maxes:
        found.mins += mins
        found.maxes += maxes
        found.evidence.setdefault("age", sentence)


def _ages(patterns: tuple[re.Pattern[str], ...], folded: str) -> list[int]:
    ages = [int(m[1]) for pattern in patterns for m in pattern.finditer(folded)]
    return [age for age in ages if _plausible(age)]


def _plausible(age: int) -> bool:
    return MIN_AGE <= age <= MAX_AGE


def _read_school_years(sentence: str, folded: str, found: _Found) -> None:
    years = []
    for match in _SCHOOL_YEAR.finditer(folded):
        years += _years_of(*match.groups())
    years += [code for code, pattern in _SCHOOL_STAGES if pattern.search(folded)]
    if years:
        found.years += years
        found.evidence.setdefault("school_years", sentence)


def _years_of(first: str, joiner: str | None, second: str | None) -> list[str]:
    if second is None:
        return _year_span(int(first), int(first))
    if joiner in {"-", "to"}:
        return _year_span(int(first), int(second))
    return _year_span(int(first), int(first)) + _year_span(int(second), int(second))


def _year_span(first: int, last: int) -> list[str]:
    valid = FIRST_SCHOOL_YEAR <= first <= last <= LAST_SCHOOL_YEAR
    return [f"year_{year}" for year in range(first, last + 1)] if valid else []


def _ordered_years(years: list[str]) -> list[str]:
    unique = list(dict.fromkeys(years))
    numbered = sorted((y for y in unique if y.startswith("year_")), key=_year_number)
    return numbered + [y for y in unique if not y.startswith("year_")]


def _year_number(code: str) -> int:
    return int(code.removeprefix("year_"))


def _read_criteria(sentence: str, folded: str, found: _Found) -> None:
    if _BOILERPLATE.search(folded):
        return
    for code, pattern in _CRITERIA_PATTERNS:
        if not pattern.search(folded):
            continue
        if code in _NEEDS_CONTEXT and not _applicants(folded):
            continue
        _add_criterion(code, sentence, found)


def _applicants(folded: str) -> bool:
    """The sentence speaks of who may apply, not of the work's own field."""
    return bool(
        _APPLICANT_DISABILITY.search(folded) and not _DISABILITY_WORK.search(folded)
    )


def _read_region(sentence: str, found: _Found) -> None:
    area = _region_phrase(sentence)
    if area:
        _add_criterion("region", sentence, found)
        found.evidence.setdefault("region_area", area)


def _region_phrase(sentence: str) -> str | None:
    for match in _REGION.finditer(sentence):
        area = match[1].rstrip(",")
        if not _NOT_AREAS.match(area):
            return area
    return None


def _add_criterion(code: str, sentence: str, found: _Found) -> None:
    if code not in found.criteria:
        found.criteria.append(code)
        found.evidence[code] = sentence
        logger.debug("Eligibility %s from %r", code, sentence)
