"""Opportunity type, apprenticeship level and scope from a listing's words.

Evidence is weighed in order: the title, then the source's employment type and
categories, then strong phrases in the description ("this is a Level 3
apprenticeship"); a description only mentioning apprenticeships proves nothing.
A title naming a post that runs a programme ("Apprenticeship Assessor",
"Placement Coordinator", "Head of Early Careers") is a job, whatever else it says.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass

from spiders.items import OpportunityType as T

logger = logging.getLogger(__name__)

_WORD = r"[a-z0-9&/']+(?:-[a-z0-9]+)*"
_PROGRAMMES = (
    r"apprenticeships?|apprentices|traineeships?|trainees|internships?|interns"
    r"|(?:work |student |clinical )?placements?|work experience|mentoring|mentors?"
    r"|volunteer(?:ing|s)?|voluntary services|summer schools?|insight|graduates?"
    r"|graduate recruitment|early careers?|outreach|widening participation"
    r"|(?:skills )?bootcamps?|emerging talent|talent programmes?"
)
_STAFF = (
    r"assessors?|co-?ordinators?|managers?|officers?|leads?|leaders?|advis[eo]rs?"
    r"|tutors?|trainers?|coach(?:es)?|recruiters?|administrators?|specialists?"
    r"|consultants?|directors?|partners?|executives?|facilitators?|supervisors?"
    r"|heads?"
)
_GAP = rf"(?:\s+(?!(?:in|for|with|at|to|of|and)\b){_WORD}){{0,2}}?"
_STAFF_ROLE = re.compile(
    rf"\b(?:{_PROGRAMMES}){_GAP}\s+(?:{_STAFF})\b"
    rf"|\b(?:{_STAFF})\s+(?:of|for)\s+(?:the\s+)?(?:{_WORD}\s+)?(?:{_PROGRAMMES})\b"
)
# Qualified people in further training: not entry routes.
_QUALIFIED_TRAINING = re.compile(
    r"\b(?:specialty|speciality|core|foundation) (?:trainee|training)\b|\bregistrar\b"
    r"|\b(?:st|ct)[1-8]\b|\bpreceptorship\b"
)
_GRADUATE_POST = re.compile(r"\bgraduate\b")
_HEALTH_STUDENT = (
    r"nurse|nursing associate|midwife|midwifery|paramedic|radiographer"
    r"|physiotherapist|occupational therapist|operating department practitioner"
)

_TITLE_RULES: tuple[tuple[T, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (T.APPRENTICESHIP, r"\bapprentice(?:ship)?s?\b"),
        (T.TRAINEESHIP, r"\btraineeships?\b"),
        (
            T.GRADUATE_SCHEME,
            rf"\bgraduate{_GAP}\s+(?:scheme|programmes?|program|trainees?|training"
            r"|leadership|development)\b|\bgrad scheme\b",
        ),
        (T.INTERNSHIP, r"\bintern(?:ship)?s?\b"),
        (
            T.INSIGHT_DAY,
            r"\binsight (?:days?|weeks?|programmes?|programs?|events?|evenings?"
            r"|sessions?|schemes?)\b|\bspring weeks?\b",
        ),
        (
            T.WORK_EXPERIENCE,
            r"\bwork experience\b|\b(?:work|job) shadowing\b|\bwork tasters?\b",
        ),
        (T.PLACEMENT, r"\bplacements?\b(?<!foster placement)|\byear in industry\b"),
        (
            T.SUMMER_SCHOOL,
            r"\b(?:summer|spring|easter|winter) (?:schools?|university)\b",
        ),
        (
            T.UNIVERSITY_ACCESS,
            r"\b(?:university|higher education|uni) access\b|\bpre-university\b"
            r"|\bwidening participation\b|\baccess to (?:university|higher education)\b"
            r"|\bpathways? to (?:law|medicine|university|higher education|banking)\b",
        ),
        (
            T.SKILLS_PROGRAMME,
            r"\bbootcamps?\b|\b(?:skills|employability|pre-employment) (?:programmes?"
            r"|courses?|academy|training|scheme)\b|\bsector-based work academy\b",
        ),
        (
            T.VOLUNTEERING,
            r"\bvolunteer(?:ing|s)?\b|\bvoluntary (?:roles?|positions?|work)\b",
        ),
        (T.MENTORING, r"\bmentoring\b|\bmentees?\b|\bmentor (?:programme|scheme)\b"),
        (
            T.TRAINEESHIP,
            rf"\btrainee\b|(?<!for )\bstudent (?:{_HEALTH_STUDENT})s?\b"
            rf"|\b(?:{_HEALTH_STUDENT}) student\b",
        ),
    )
)

# Strong phrases only: the description must say what *this* listing is.
_DESCRIPTION_RULES: tuple[tuple[T, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        (
            T.APPRENTICESHIP,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,3}?apprenticeship\b"
            r"|\bas an apprentice,? you\b|\byou will be an apprentice\b",
        ),
        (T.TRAINEESHIP, r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?traineeship\b"),
        (
            T.GRADUATE_SCHEME,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?graduate (?:scheme|programme)\b",
        ),
        (
            T.INTERNSHIP,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?internship\b"
            r"|\bas an intern,? you\b",
        ),
        (T.INSIGHT_DAY, r"\bthis (?:is an? )?(?:[a-z0-9-]+ )?insight (?:day|week)\b"),
        (T.WORK_EXPERIENCE, r"\bthis (?:is an? )?(?:[a-z0-9-]+ )?work experience\b"),
        (
            T.PLACEMENT,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?(?:industrial|sandwich|student)"
            r" placement\b|\bthis (?:is an? )?(?:placement year|year in industry)\b",
        ),
        (T.SUMMER_SCHOOL, r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?summer school\b"),
        (
            T.UNIVERSITY_ACCESS,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?(?:widening participation"
            r"|university access) (?:programme|scheme)\b",
        ),
        (
            T.MENTORING,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?mentoring (?:programme|scheme)\b"
            r"|\byou will be (?:matched|paired) with an? (?:[a-z-]+ )?mentor\b",
        ),
        (
            T.SKILLS_PROGRAMME,
            r"\bthis (?:is an? )?(?:[a-z0-9-]+ ){0,2}?(?:skills )?bootcamp\b",
        ),
        (
            T.VOLUNTEERING,
            r"\bthis is an? (?:[a-z-]+ ){0,2}?(?:voluntary|volunteer|volunteering) "
            r"(?:role|position|opportunity)\b",
        ),
    )
)

_LEVEL_WORDS = (
    (re.compile(r"\b(?:masters?|master's) degree apprentice"), 7),
    (re.compile(r"\b(?:degree|graduate) apprentice"), 6),
    (re.compile(r"\bhigher apprentice"), 4),
    (re.compile(r"\badvanced apprentice"), 3),
    (re.compile(r"\bintermediate apprentice"), 2),
)
_TITLE_LEVEL = re.compile(r"\blevel\s*([2-7])\b(?!\s*(?:hours|years|%))")
_DESCRIPTION_LEVEL = re.compile(
    r"\blevel\s*([2-7])\s+(?:[a-z-]+\s+){0,5}apprenticeship\b"
    r"|\bapprenticeship\b[^.]{0,40}?\bat level\s*([2-7])\b"
)


@dataclass(frozen=True)
class Classification:
    type: T
    level: int | None
    in_scope: bool
    reason: str


def classify(
    title: str | None,
    description: str | None = None,
    employment_type: str | None = None,
    categories: Sequence[str] = (),
) -> Classification:
    title_text = _clean(title)
    description_text = _clean(description)
    staff = _STAFF_ROLE.search(title_text)
    if staff:
        return _job(f"title names a staff post: {staff.group()!r}")
    qualified = _QUALIFIED_TRAINING.search(title_text)
    if qualified:
        return _job(f"training post for qualified staff: {qualified.group()!r}")
    kind, reason = _evidence(title_text, description_text, employment_type, categories)
    if kind is None:
        if _GRADUATE_POST.search(title_text):
            return _job("graduate-level post, not a graduate scheme")
        return _job("no entry-route words in title or description")
    level = _level(title_text, description_text) if kind is T.APPRENTICESHIP else None
    logger.debug("Classified %r as %s (%s)", title, kind, reason)
    return Classification(kind, level, True, reason)


def _evidence(
    title: str, description: str, employment_type: str | None, categories: Sequence[str]
) -> tuple[T | None, str]:
    sources = [("title", title), ("employment type", _clean(employment_type))]
    sources += [("category", _clean(c)) for c in _strings(categories)]
    for where, text in sources:
        if where != "title" and _STAFF_ROLE.search(text):
            continue
        kind, phrase = _first_match(_TITLE_RULES, text)
        if kind is not None:
            return kind, f"{where}: {phrase!r}"
    kind, phrase = _first_match(_DESCRIPTION_RULES, description)
    return kind, f"description: {phrase!r}"


def _first_match(
    rules: tuple[tuple[T, re.Pattern[str]], ...], text: str
) -> tuple[T | None, str]:
    for kind, pattern in rules:
        match = pattern.search(text)
        if match:
            return kind, match.group()
    return None, ""


def _level(title: str, description: str) -> int | None:
    for text, stated_pattern in (
        (title, _TITLE_LEVEL),
        (description, _DESCRIPTION_LEVEL),
    ):
        stated = stated_pattern.search(text)
        if stated:
            return int(next(group for group in stated.groups() if group))
        for pattern, level in _LEVEL_WORDS:
            if pattern.search(text):
                return level
    return None


def _job(reason: str) -> Classification:
    return Classification(T.JOB, None, False, reason)


def _clean(text: object) -> str:
    if not isinstance(text, str):
        return ""
    text = html.unescape(text).replace("’", "'").replace("‘", "'")
    text = re.sub(r"[‐-―−]", "-", text).casefold()
    return " ".join(text.split())


def _strings(values: object) -> list[str]:
    if isinstance(values, str):
        return [values]
    if not isinstance(values, Sequence):
        return []
    return [value for value in values if isinstance(value, str)]
