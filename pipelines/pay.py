"""Pay normaliser: free-text pay and schema.org ``baseSalary`` into :class:`Pay`.

Rules (CASES PAY-01, plus phrasing seen in the 2020 NHS Jobs and 2023 Civil Service
Jobs recordings):

- The first run of amounts decides the pay ("£43,000 per annum (£20 per hour)" is
  £43,000 a year); a second bound without "£" inherits it ("£18,000–21,000").
- The period is the first period phrase the amounts are plausible for; with none, a
  bare amount under 100 is hourly and one of 10,000 or more yearly, both marked
  ``period_inferred``; anything between has no period. (policy)
- A range whose minimum exceeds its maximum, or whose maximum is more than
  ``MAX_RANGE_RATIO`` times its minimum, keeps its text but loses its amounts.
- Annual GBP figures are filled for known periods, and for an inferred year (the
  number is then the annual figure itself), never from an inferred hourly rate.
- Statutory rates named in words ("National Minimum Wage", "apprenticeship wage")
  set ``min`` from :data:`STATUTORY_HOURLY_RATES` only when the caller says which
  day applies (``as_of``); otherwise the numbers stay empty.
- Text without a currency is taken as pounds: every source is a UK one.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from pipelines.text import decode_entities
from spiders.items import Pay, PayPeriod

logger = logging.getLogger(__name__)

HOURS_PER_WEEK = 37.5
DAYS_PER_WEEK = 5
WEEKS_PER_YEAR = 52
MONTHS_PER_YEAR = 12
ANNUAL_FACTORS: dict[PayPeriod, float] = {
    PayPeriod.HOUR: HOURS_PER_WEEK * WEEKS_PER_YEAR,
    PayPeriod.DAY: DAYS_PER_WEEK * WEEKS_PER_YEAR,
    PayPeriod.WEEK: WEEKS_PER_YEAR,
    PayPeriod.MONTH: MONTHS_PER_YEAR,
    PayPeriod.YEAR: 1,
}
HOURLY_INFERENCE_LIMIT = 100  # a bare amount below this is hourly
YEARLY_INFERENCE_FLOOR = 10_000  # a bare amount at or above this is yearly
MAX_RANGE_RATIO = 10
DEFAULT_CURRENCY = "GBP"
# Amounts a period can plausibly carry, inclusive.
PLAUSIBLE: dict[PayPeriod, tuple[float, float]] = {
    PayPeriod.HOUR: (1, 250),
    PayPeriod.DAY: (20, 3_000),
    PayPeriod.WEEK: (50, 10_000),
    PayPeriod.MONTH: (200, 50_000),
    PayPeriod.YEAR: (1_000, 2_000_000),
    PayPeriod.ONE_OFF: (1, 1_000_000),
}

# Statutory UK hourly rates (GOV.UK "National Minimum Wage and National Living
# Wage rates"), each from 1 April of its year. "apprentice" is also the under-18
# rate from 2022 and the lowest rate in force in every year listed, so it is the
# floor used when a listing names the minimum wage without an age band. (policy)
STATUTORY_HOURLY_RATES: dict[str, tuple[tuple[date, float], ...]] = {
    "national_living_wage": (
        (date(2020, 4, 1), 8.72),
        (date(2021, 4, 1), 8.91),
        (date(2022, 4, 1), 9.50),
        (date(2023, 4, 1), 10.42),
        (date(2024, 4, 1), 11.44),
        (date(2025, 4, 1), 12.21),
        (date(2026, 4, 1), 12.71),
    ),
    "apprentice": (
        (date(2020, 4, 1), 4.15),
        (date(2021, 4, 1), 4.30),
        (date(2022, 4, 1), 4.81),
        (date(2023, 4, 1), 5.28),
        (date(2024, 4, 1), 6.40),
        (date(2025, 4, 1), 7.55),
        (date(2026, 4, 1), 8.00),
    ),
}
_STATUTORY_PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "apprentice",
        re.compile(r"\bapprentice(?:ship)?s?\b.{0,20}\b(?:wage|rate|pay)\b"),
    ),
    ("apprentice", re.compile(r"\b(?:wage|rate|nmw)\b.{0,20}\bapprentice")),
    ("national_living_wage", re.compile(r"\bnational living wage\b|\bnlw\b")),
    ("apprentice", re.compile(r"\b(?:national )?minimum wage\b|\bnmw\b")),
)

_PERIOD_PHRASES: tuple[tuple[PayPeriod, str], ...] = (
    (PayPeriod.HOUR, r"per\s*h(?:ou)?r|an\s+hour|/\s*h(?:ou)?r|p/h|phr|ph|hourly"),
    (PayPeriod.DAY, r"per\s*day|a\s+day|/\s*day|p/d|pd|daily|per\s+diem"),
    (PayPeriod.WEEK, r"per\s*week|a\s+week|/\s*wk|/\s*week|p/w|pw|weekly"),
    (
        PayPeriod.MONTH,
        r"per\s*(?:calendar\s+)?month|a\s+month|/\s*month|pcm|p/m|monthly",
    ),
    (
        PayPeriod.YEAR,
        r"per\s*ann?[au]m|per\s*ammum|per\s*ann|per\s*year|a\s+year|/\s*y(?:ea)?r"
        r"|p\.\s?a\.?|p/a|pa|annum|annual(?:ly)?|yearly",
    ),
    (PayPeriod.ONE_OFF, r"one[\s-]?off|lump\s+sum|in\s+total"),
)
_PERIODS = tuple(
    (period, re.compile(rf"(?<![a-z])(?:{phrase})(?![a-z])"))
    for period, phrase in _PERIOD_PHRASES
)
_ANY_PERIOD = "|".join(phrase for _, phrase in _PERIOD_PHRASES)

_LABEL = re.compile(
    r"^\W*(?:salary|pay|wages?|remuneration|rate\s+of\s+pay|pay\s+rate|current"
    r"|potential\s+(?:earnings|to\s+earn)|circa|c\.?(?=\s*£))\s*[:\-]?\s*"
)
_AMOUNT = re.compile(
    r"(?P<cur>£|\$|€|\b(?:gbp|usd|eur)\b)?\s*"
    r"(?<![\w.,])(?P<num>\d{1,3}(?:,\s?\d{3}(?!\d))+|\d{1,9})"
    r"(?P<dec>\.\d{1,2})?(?!\d|%|\.\d)"
    r"(?:\s*(?P<k>k)(?![a-z]))?(?:\s*(?P<cur2>gbp|usd|eur)\b)?"
)
_CONNECTOR = re.compile(
    rf"\s*(?:(?:{_ANY_PERIOD})\s*)?(?:-|\bto\b|\bup\s*to\b|\band\b"
    r"|\brising\s+to(?:\s+a\s+maximum\s+of)?\b)\s*|\s*/\s*"
)
_COUNTER_BEFORE = re.compile(
    r"\b(?:band|scp|annex|range|level|grade|step|point|spine|year|group|tier|nvq)"
    r"\s*$"
)
_UP_TO = re.compile(
    r"\b(?:up\s*to|upto|max(?:imum)?(?:\s+of)?|to\s+a\s+max\w*\s+of)\s*$"
)
_FROM = re.compile(
    r"\b(?:from|starting\s+(?:at|from)|min(?:imum)?(?:\s+of)?|at\s+least)\s*$"
)
_PRO_RATA = re.compile(r"\bpro[\s-]?r[ao]t[ao]\b|\bprorata\b|\bp/?r\b")
_UNPAID = re.compile(
    r"\bunpaid\b|\bvolunt(?:ary|eer)\s+(?:role|position|post|basis)\b"
    r"|\bno\s+pay\b|\bnot\s+paid\b"
)
_EXPENSES = re.compile(r"\bexpenses\b")
_BURSARY = re.compile(r"\bbursar(?:y|ies)\b")
_UNDISCLOSED = re.compile(
    r"\bcompet[ei]tive\b|\bnegotia(?:ble|ted)\b|\bdoe\b|\btbc\b"
    r"|\bto\s+be\s+(?:confirmed|discussed|agreed)\b|\bcommensurate\b"
    r"|\b(?:dependa?e?nt|depending|based)\s+(?:up)?on\s+(?:experience|qualifications)"
    r"|\bsubject\s+to\s+experience\b|\bon\s+experience\b"
)
_CURRENCIES = {
    "£": "GBP",
    "gbp": "GBP",
    "$": "USD",
    "usd": "USD",
    "€": "EUR",
    "eur": "EUR",
}
_UNIT_TEXT = {
    "HOUR": PayPeriod.HOUR,
    "DAY": PayPeriod.DAY,
    "WEEK": PayPeriod.WEEK,
    "MONTH": PayPeriod.MONTH,
    "YEAR": PayPeriod.YEAR,
}
_DASHES = str.maketrans({c: "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2015\u2212"})
_MAX_CHARS = 500


@dataclass(frozen=True)
class _Amounts:
    """A run of amounts in the text, with where it sits."""

    values: tuple[float, ...]
    currency: str | None
    start: int
    end: int


@dataclass(frozen=True)
class _Figures:
    min: float | None
    max: float | None
    currency: str | None
    period: PayPeriod | None
    period_inferred: bool


# -- text clean-up and flags


def _normalise(text: str) -> str:
    text = decode_entities(text[:_MAX_CHARS]).translate(_DASHES).lower()
    text = text.replace("(£)", "£").replace("\u00a0", " ")
    text = re.sub(r"\s+", " ", text).strip()
    return _LABEL.sub("", text, count=1)


def _flags(text: str) -> dict[str, bool]:
    return {
        "pro_rata": bool(_PRO_RATA.search(text)),
        "unpaid": bool(_UNPAID.search(text)),
        "expenses": bool(_EXPENSES.search(text)),
        "bursary": bool(_BURSARY.search(text)),
    }


# -- amounts in text


def _value(match: re.Match[str]) -> float:
    number = float(re.sub(r"[,\s]", "", match["num"]) + (match["dec"] or ""))
    return number * 1000 if match["k"] else number


def _currency(match: re.Match[str]) -> str | None:
    symbol = match["cur"] or match["cur2"]
    return _CURRENCIES.get(symbol.strip()) if symbol else None


def _counted(text: str, match: re.Match[str]) -> bool:
    """ "Band 6", "SCP 17": a number after such a word counts something else."""
    return bool(_COUNTER_BEFORE.search(text[: match.start("num")]))


def _runs(text: str) -> list[list[re.Match[str]]]:
    """Amounts joined by "-", "to", "/" and the like, in text order."""
    runs: list[list[re.Match[str]]] = []
    for match in _AMOUNT.finditer(text):
        if runs and _CONNECTOR.fullmatch(text[runs[-1][-1].end() : match.start()]):
            runs[-1].append(match)
        else:
            runs.append([match])
    return runs


def _first_amounts(text: str) -> _Amounts | None:
    """The first run of amounts with a currency, or of bare numbers opening the text."""
    for run in _runs(text):
        if any(_value(m) <= 0 for m in run):
            continue
        if any(_currency(m) for m in run):
            while not _currency(run[0]) and _counted(text, run[0]):
                run = run[1:]
            return _to_amounts(run)
        if _starts_text(text, run[0]) and not _counted(text, run[0]):
            return _to_amounts(run)
    return None


def _starts_text(text: str, match: re.Match[str]) -> bool:
    before = text[: match.start()]
    return not before.strip() or bool(_UP_TO.search(before) or _FROM.search(before))


def _to_amounts(run: list[re.Match[str]]) -> _Amounts:
    values = [_value(m) for m in run]
    if run[-1]["k"] and not any(m["k"] for m in run[:-1]):
        values = [v * 1000 if v < 1000 else v for v in values]  # "£18-21k"
    currency = next((c for c in map(_currency, run) if c), None)
    return _Amounts(tuple(values), currency, run[0].start(), run[-1].end())


# -- period


def _plausible(period: PayPeriod, values: tuple[float, ...]) -> bool:
    low, high = PLAUSIBLE[period]
    return all(low <= v <= high for v in values)


def _stated_period(text: str, amounts: _Amounts) -> PayPeriod | None:
    """The first period phrase (after the amounts first) the amounts fit."""
    found = [(m.start(), period) for period, rx in _PERIODS for m in rx.finditer(text)]
    found.sort(key=lambda item: (item[0] < amounts.start, item[0]))
    for _, period in found:
        if _plausible(period, amounts.values):
            return period
    return None


def _inferred_period(values: tuple[float, ...]) -> PayPeriod | None:
    if all(v < HOURLY_INFERENCE_LIMIT for v in values):
        return PayPeriod.HOUR
    if all(v >= YEARLY_INFERENCE_FLOOR for v in values):
        return PayPeriod.YEAR
    return None


def _bounds(text: str, amounts: _Amounts) -> tuple[float | None, float | None]:
    low, high = amounts.values[0], amounts.values[-1]
    if len(amounts.values) == 1:
        before = text[: amounts.start]
        if _UP_TO.search(before):
            return None, high
        if _FROM.search(before):
            return low, None
    return low, high


def _figures_from_text(text: str, bursary: bool) -> _Figures | None:
    amounts = _first_amounts(text)
    if amounts is None:
        return None
    low, high = _bounds(text, amounts)
    period = _stated_period(text, amounts)
    inferred = False
    if period is None and bursary:
        period = PayPeriod.ONE_OFF
    elif period is None:
        period = _inferred_period(amounts.values)
        inferred = period is not None
    currency = amounts.currency or DEFAULT_CURRENCY
    return _Figures(low, high, currency, period, inferred)


# -- schema.org baseSalary


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and re.fullmatch(
        r"\s*[£$€]?\s*[\d,]+(?:\.\d+)?\s*", value
    ):
        number = float(re.sub(r"[^\d.]", "", value))
    else:
        return None
    return number if math.isfinite(number) and number > 0 else None


def _quantitative(base: dict[str, Any]) -> dict[str, Any]:
    value = base.get("value")
    if isinstance(value, dict):
        return value
    if "minValue" in base or "maxValue" in base:
        return base
    return {"value": value, "unitText": base.get("unitText")}


def _base_text(base: dict[str, Any] | None) -> str | None:
    """The words in a QuantitativeValue's ``value`` ("£44.83ph - £60.52ph")."""
    if not isinstance(base, dict):
        return None
    value = _quantitative(base).get("value")
    if not isinstance(value, str) or _number(value) is not None:
        return None
    return value.strip() or None


def _figures_from_base(base: dict[str, Any]) -> _Figures | None:
    quantity = _quantitative(base)
    low, high = _number(quantity.get("minValue")), _number(quantity.get("maxValue"))
    single = _number(quantity.get("value"))
    if low is None and high is None:
        low = high = single
    if low is None and high is None:
        return None
    unit = str(quantity.get("unitText") or "").strip().upper()
    period = _UNIT_TEXT.get(unit)
    currency = base.get("currency") or quantity.get("currency")
    currency = str(currency).upper() if currency else DEFAULT_CURRENCY
    return _Figures(low, high, currency, period, False)


# -- statutory rates and assembly


def statutory_rate(name: str, on: date) -> float | None:
    """The statutory hourly rate ``name`` in force on a day, or None before 2020."""
    rate = None
    for effective, value in STATUTORY_HOURLY_RATES[name]:
        if effective <= on:
            rate = value
    return rate


def _statutory(text: str, as_of: date | None) -> _Figures | None:
    for name, pattern in _STATUTORY_PHRASES:
        if pattern.search(text):
            rate = statutory_rate(name, as_of) if as_of else None
            return _Figures(rate, None, DEFAULT_CURRENCY, PayPeriod.HOUR, False)
    return None


def _checked(figures: _Figures) -> _Figures:
    """Drop amounts that cannot be right: min above max, or a runaway range."""
    low, high = figures.min, figures.max
    if (
        low is not None
        and high is not None
        and (high < low or high > low * MAX_RANGE_RATIO)
    ):
        logger.debug("Rejected pay range %s to %s", low, high)
        return _Figures(
            None, None, figures.currency, figures.period, figures.period_inferred
        )
    return figures


def _resolve_period(figures: _Figures, text_figures: _Figures | None) -> _Figures:
    """A baseSalary unit the numbers cannot carry ("155" a YEAR) is not believed."""
    values = tuple(v for v in (figures.min, figures.max) if v is not None)
    period = figures.period
    if period is not None and _plausible(period, values):
        return figures
    if (
        text_figures is not None
        and text_figures.period is not None
        and text_figures.min
    ):
        return text_figures
    inferred = _inferred_period(values)
    return _Figures(
        figures.min, figures.max, figures.currency, inferred, inferred is not None
    )


def _annual_factor(figures: _Figures) -> float | None:
    if figures.currency != "GBP" or figures.period not in ANNUAL_FACTORS:
        return None
    if figures.period_inferred and figures.period is not PayPeriod.YEAR:
        return None
    return ANNUAL_FACTORS[figures.period]


def _annualise(value: float | None, factor: float | None) -> float | None:
    return None if value is None or factor is None else round(value * factor, 2)


def _choose(
    text: str, base: dict[str, Any] | None, flags: dict[str, bool], as_of: date | None
) -> _Figures | None:
    from_text = _figures_from_text(text, flags["bursary"]) if text else None
    from_base = _figures_from_base(base) if isinstance(base, dict) else None
    if from_base is not None:
        return _resolve_period(from_base, from_text)
    if from_text is not None:
        return from_text
    return _statutory(text, as_of) if text else None


def parse_pay(
    text: str | None,
    base_salary: dict[str, Any] | None = None,
    *,
    as_of: date | None = None,
) -> Pay | None:
    """Pay from a pay text and/or a schema.org ``baseSalary``; None if nothing fits.

    ``baseSalary`` numbers win over the text's, and the text is kept either way.
    ``as_of`` is the day statutory rates named in words are looked up for.
    """
    kept_text = (text.strip() or None) if text else None
    kept_text = kept_text or _base_text(base_salary)
    work = _normalise(kept_text) if kept_text else ""
    flags = _flags(work)
    figures = _choose(work, base_salary, flags, as_of)
    if figures is not None:
        figures = _checked(figures)
        factor = _annual_factor(figures)
        return Pay(
            text=kept_text,
            min=figures.min,
            max=figures.max,
            currency=figures.currency,
            period=figures.period,
            period_inferred=figures.period_inferred,
            annual_min_gbp=_annualise(figures.min, factor),
            annual_max_gbp=_annualise(figures.max, factor),
            **flags,
        )
    undisclosed = bool(_UNDISCLOSED.search(work)) and not flags["unpaid"]
    if undisclosed or flags["unpaid"] or flags["bursary"]:
        return Pay(text=kept_text, undisclosed=undisclosed, **flags)
    return None
