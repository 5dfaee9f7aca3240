from __future__ import annotations

import json
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.pay import (
    ANNUAL_FACTORS,
    STATUTORY_HOURLY_RATES,
    parse_pay,
    statutory_rate,
)
from spiders.items import Pay, PayPeriod

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RECORDING = SHARED_DATA / "web" / "recorded.warc.gz"
needs_recording = pytest.mark.skipif(
    not RECORDING.exists(), reason=f"shared recording not found at {RECORDING}"
)

HOUR, DAY, WEEK = PayPeriod.HOUR, PayPeriod.DAY, PayPeriod.WEEK
MONTH, YEAR, ONE_OFF = PayPeriod.MONTH, PayPeriod.YEAR, PayPeriod.ONE_OFF
PAY01_JSONLD = {
    "@type": "MonetaryAmount",
    "currency": "GBP",
    "value": {
        "@type": "QuantitativeValue",
        "minValue": 18000,
        "maxValue": 21000,
        "unitText": "YEAR",
    },
}
NHS_HOURLY_JSONLD = {
    "@type": "MonetaryAmount",
    "currency": "GBP",
    "value": {
        "@type": "QuantitativeValue",
        "maxValue": "101734",
        "minValue": "75359",
        "unitText": "YEAR",
        "value": "£44.83ph - £60.52ph",
    },
}


def _amounts(pay: Pay | None) -> tuple[Any, ...] | None:
    """(min, max, currency, period, period_inferred) for compact expectations."""
    if pay is None:
        return None
    return pay.min, pay.max, pay.currency, pay.period, pay.period_inferred


# -- CASES PAY-01 and other phrasing, amounts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "£18,000 - £21,000 per annum",
            (18000, 21000, "GBP", YEAR, False),
            id="pay01-1-annual-range",
        ),
        pytest.param(
            "£6.40 per hour", (6.40, 6.40, "GBP", HOUR, False), id="pay01-2-per-hour"
        ),
        pytest.param(
            "£22k pro rata", (22000, 22000, "GBP", YEAR, True), id="pay01-4-k-pro-rata"
        ),
        pytest.param(
            "£18,000–21,000 p.a. + benefits",
            (18000, 21000, "GBP", YEAR, False),
            id="pay01-5-inherited-pound",
        ),
        pytest.param(
            "£350 per week", (350, 350, "GBP", WEEK, False), id="pay01-6-weekly"
        ),
        pytest.param("£9.50ph", (9.50, 9.50, "GBP", HOUR, False), id="pay01-7-ph"),
        pytest.param(
            "£11.44", (11.44, 11.44, "GBP", HOUR, True), id="pay01-10-bare-hourly"
        ),
        pytest.param("£24,000", (24000, 24000, "GBP", YEAR, True), id="bare-yearly"),
        pytest.param(
            "£500", (500, 500, "GBP", None, False), id="bare-between-no-period"
        ),
        pytest.param(
            "£99.99", (99.99, 99.99, "GBP", HOUR, True), id="just-under-hourly-limit"
        ),
        pytest.param(
            "£100", (100, 100, "GBP", None, False), id="hourly-limit-exclusive"
        ),
        pytest.param(
            "£9,999", (9999, 9999, "GBP", None, False), id="just-under-yearly-floor"
        ),
        pytest.param(
            "£10,000", (10000, 10000, "GBP", YEAR, True), id="yearly-floor-inclusive"
        ),
        pytest.param(
            "Salary : £27,620 to £32,163",
            (27620, 32163, "GBP", YEAR, True),
            id="csj-range-label",
        ),
        pytest.param(
            "Salary : £53,730", (53730, 53730, "GBP", YEAR, True), id="csj-single-label"
        ),
        pytest.param("£50k - £70k", (50000, 70000, "GBP", YEAR, True), id="k-range"),
        pytest.param("£18-21k", (18000, 21000, "GBP", YEAR, True), id="shared-k"),
        pytest.param("$120k", (120000, 120000, "USD", YEAR, True), id="dollars-k"),
        pytest.param(
            "£1,500 per month", (1500, 1500, "GBP", MONTH, False), id="monthly"
        ),
        pytest.param("£1,500 pcm", (1500, 1500, "GBP", MONTH, False), id="pcm"),
        pytest.param("£120 per day", (120, 120, "GBP", DAY, False), id="daily"),
        pytest.param("£12 an hour", (12, 12, "GBP", HOUR, False), id="an-hour"),
        pytest.param("£12.50 p/h", (12.5, 12.5, "GBP", HOUR, False), id="p-slash-h"),
        pytest.param("£25,000 a year", (25000, 25000, "GBP", YEAR, False), id="a-year"),
        pytest.param(
            "£44.83ph - £60.52ph",
            (44.83, 60.52, "GBP", HOUR, False),
            id="nhs-unit-on-both",
        ),
        pytest.param(
            "£44.83p/h to £53.79p/h",
            (44.83, 53.79, "GBP", HOUR, False),
            id="nhs-p-slash-h-to",
        ),
        pytest.param(
            "£43,000 per annum (£20 per hour)",
            (43000, 43000, "GBP", YEAR, False),
            id="nhs-first-amount-wins",
        ),
        pytest.param(
            "£16.40 per hour (£32,920 per annum)",
            (16.4, 16.4, "GBP", HOUR, False),
            id="nhs-hourly-first",
        ),
        pytest.param(
            "£37,137 (£18.55 p/h)",
            (37137, 37137, "GBP", YEAR, True),
            id="nhs-implausible-unit-skipped",
        ),
        pytest.param(
            "Band 6 - £31,365 - £37,890 per annum",
            (31365, 37890, "GBP", YEAR, False),
            id="nhs-band-number-ignored",
        ),
        pytest.param(
            "32,394 - £34,056 per annum",
            (32394, 34056, "GBP", YEAR, False),
            id="nhs-first-pound-missing",
        ),
        pytest.param(
            "9.21-16.85 an hour + holiday pay &amp; penion scheme",
            (9.21, 16.85, "GBP", HOUR, False),
            id="nhs-no-pound-at-start",
        ),
        pytest.param(
            "(£) 31,365 - 37,890 Per Annum",
            (31365, 37890, "GBP", YEAR, False),
            id="nhs-bracketed-pound",
        ),
        pytest.param(
            "£24,907 - £ 30,615 per annum",
            (24907, 30615, "GBP", YEAR, False),
            id="nhs-space-after-pound",
        ),
        pytest.param(
            "49357  - 54389  GBP per year",
            (49357, 54389, "GBP", YEAR, False),
            id="nhs-gbp-after",
        ),
        pytest.param(
            "£15.95 - £21.66 plus 12.1% AL",
            (15.95, 21.66, "GBP", HOUR, True),
            id="nhs-percent-ignored",
        ),
        pytest.param(
            "YC72 £76,761 - £103,490",
            (76761, 103490, "GBP", YEAR, True),
            id="nhs-code-before",
        ),
        pytest.param(
            "£13.79 / £16.97 Per Hour",
            (13.79, 16.97, "GBP", HOUR, False),
            id="nhs-slash-range",
        ),
        pytest.param(
            "£8.72 ph rising to £9.25 ph after probation period",
            (8.72, 9.25, "GBP", HOUR, False),
            id="nhs-rising-to",
        ),
        pytest.param(
            "Between £22,000 and £23,500 DOE",
            (22000, 23500, "GBP", YEAR, True),
            id="nhs-between-and",
        ),
        pytest.param(
            "£30,427.16 p.a.", (30427.16, 30427.16, "GBP", YEAR, False), id="nhs-pence"
        ),
        pytest.param(
            "£155.62 per week", (155.62, 155.62, "GBP", WEEK, False), id="nhs-weekly"
        ),
        pytest.param(
            "From £19,737 per annum",
            (19737, None, "GBP", YEAR, False),
            id="from-is-minimum",
        ),
        pytest.param(
            "Up to £33,000 DOE", (None, 33000, "GBP", YEAR, True), id="up-to-is-maximum"
        ),
        pytest.param(
            "£82,096 to £10,683 pa",
            (None, None, "GBP", YEAR, False),
            id="min-above-max-rejected",
        ),
        pytest.param(
            "£19 - 22,000 WTE",
            (None, None, "GBP", None, False),
            id="runaway-range-rejected",
        ),
    ],
)
def test_parse_pay_amounts(text: str, expected: tuple[Any, ...]) -> None:
    pay = parse_pay(text)

    assert _amounts(pay) == expected
    assert pay is not None and pay.text == text


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        pytest.param("Competitive", {"undisclosed": True}, id="pay01-3-competitive"),
        pytest.param("Negotiable", {"undisclosed": True}, id="negotiable"),
        pytest.param("DOE", {"undisclosed": True}, id="doe"),
        pytest.param(
            "Competitive salary plus benefit&#39;s",
            {"undisclosed": True},
            id="nhs-escaped",
        ),
        pytest.param(
            "Dependant on Experience", {"undisclosed": True}, id="nhs-dependant"
        ),
        pytest.param(
            "Subject to experience", {"undisclosed": True}, id="nhs-subject-to"
        ),
        pytest.param(
            "Unpaid (travel expenses reimbursed)",
            {"unpaid": True, "expenses": True},
            id="pay01-9-unpaid",
        ),
        pytest.param(
            "Voluntary role, expenses paid",
            {"unpaid": True, "expenses": True},
            id="voluntary-role",
        ),
    ],
)
def test_parse_pay_without_amounts_sets_flags_never_zero(
    text: str, flags: dict[str, bool]
) -> None:
    pay = parse_pay(text)

    assert pay is not None and pay.text == text
    assert (pay.min, pay.max, pay.currency, pay.period) == (None, None, None, None)
    for name in ("undisclosed", "unpaid", "expenses", "bursary", "pro_rata"):
        assert getattr(pay, name) is flags.get(name, False), name


def test_pay01_8_bursary_is_one_off_not_salary() -> None:
    pay = parse_pay("Up to £400 bursary")

    assert pay is not None
    assert (pay.min, pay.max, pay.period, pay.bursary) == (None, 400, ONE_OFF, True)
    assert (pay.annual_min_gbp, pay.annual_max_gbp) == (None, None)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("£24,907 - £30,615 per annum pro rata", id="pro-rata"),
        pytest.param("£24,907 - £30,615 pro rota pa", id="pro-rota-typo"),
        pytest.param("£31,365 to £37,890 pa/pr", id="pa-slash-pr"),
        pytest.param("£40,037 - £74,661 per annum pro-rata", id="hyphenated"),
    ],
)
def test_pro_rata_flag(text: str) -> None:
    pay = parse_pay(text)

    assert pay is not None and pay.pro_rata and pay.period is YEAR


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Band 5", id="nhs-band"),
        pytest.param("Bank", id="nhs-bank"),
        pytest.param("Please See Job Description", id="see-description"),
        pytest.param("£0", id="zero-is-no-pay"),
        pytest.param("", id="empty"),
        pytest.param("   ", id="blank"),
    ],
)
def test_parse_pay_unparseable_is_none(text: str) -> None:
    assert parse_pay(text) is None


def test_parse_pay_none_is_none() -> None:
    assert parse_pay(None) is None


# -- annualised GBP


@pytest.mark.parametrize(
    ("text", "annual"),
    [
        pytest.param("£10 per hour", (19500, 19500), id="hour-times-37.5-times-52"),
        pytest.param("£100 per day", (26000, 26000), id="day-times-5-times-52"),
        pytest.param("£350 per week", (18200, 18200), id="week-times-52"),
        pytest.param("£1,500 per month", (18000, 18000), id="month-times-12"),
        pytest.param("£18,000 - £21,000 per annum", (18000, 21000), id="year"),
        pytest.param("£22k pro rata", (22000, 22000), id="inferred-year-kept"),
        pytest.param("£11.44", (None, None), id="inferred-hour-not-annualised"),
        pytest.param("$120k", (None, None), id="not-gbp"),
        pytest.param("£500", (None, None), id="no-period"),
    ],
)
def test_annual_gbp(text: str, annual: tuple[float | None, float | None]) -> None:
    pay = parse_pay(text)

    assert pay is not None and (pay.annual_min_gbp, pay.annual_max_gbp) == annual


def test_annual_factors_are_the_documented_ones() -> None:
    assert ANNUAL_FACTORS[HOUR] == 37.5 * 52 and ANNUAL_FACTORS[DAY] == 5 * 52
    assert ANNUAL_FACTORS[WEEK] == 52 and ANNUAL_FACTORS[MONTH] == 12


# -- statutory rates named in words


@pytest.mark.parametrize(
    ("text", "as_of", "expected_min"),
    [
        pytest.param("National Living Wage", date(2024, 6, 1), 11.44, id="nlw-2024"),
        pytest.param(
            "National Living Wage",
            date(2025, 3, 31),
            11.44,
            id="nlw-day-before-uprating",
        ),
        pytest.param("National Living Wage", date(2025, 4, 1), 12.21, id="nlw-2025"),
        pytest.param(
            "Apprenticeship minimum wage", date(2024, 6, 1), 6.40, id="apprentice-2024"
        ),
        pytest.param(
            "NMW for apprentices", date(2023, 5, 1), 5.28, id="nmw-for-apprentices"
        ),
        pytest.param(
            "National Minimum Wage", date(2026, 11, 15), 8.00, id="nmw-no-age-floor"
        ),
        pytest.param("National Minimum Wage", None, None, id="no-day-no-number"),
        pytest.param("National Living Wage", date(2019, 1, 1), None, id="before-table"),
    ],
)
def test_statutory_rates_named_in_words(
    text: str, as_of: date | None, expected_min: float | None
) -> None:
    pay = parse_pay(text, as_of=as_of)

    assert pay is not None and pay.text == text
    assert (pay.min, pay.max, pay.period, pay.currency) == (
        expected_min,
        None,
        HOUR,
        "GBP",
    )


def test_amounts_beat_statutory_words() -> None:
    pay = parse_pay(
        "£155.63 per week for 12 months, NMW for remaining", as_of=date(2020, 11, 6)
    )

    assert _amounts(pay) == (155.63, 155.63, "GBP", WEEK, False)


def test_statutory_table_is_in_date_order() -> None:
    for name, rates in STATUTORY_HOURLY_RATES.items():
        days = [day for day, _ in rates]
        assert days == sorted(days), name
        assert statutory_rate(name, days[-1]) == rates[-1][1]


# -- schema.org baseSalary


@pytest.mark.parametrize(
    ("text", "base", "expected"),
    [
        pytest.param(
            None, PAY01_JSONLD, (18000, 21000, "GBP", YEAR, False), id="pay01-jsonld"
        ),
        pytest.param(
            None,
            NHS_HOURLY_JSONLD,
            (75359, 101734, "GBP", YEAR, False),
            id="nhs-base-numbers-win",
        ),
        pytest.param(
            "£9.50 per hour",
            {"currency": "GBP", "value": {"value": "9.75", "unitText": "HOUR"}},
            (9.75, 9.75, "GBP", HOUR, False),
            id="base-preferred-over-text",
        ),
        pytest.param(
            None,
            {
                "currency": "GBP",
                "value": {
                    "minValue": "155",
                    "maxValue": "155",
                    "unitText": "YEAR",
                    "value": "£155.62 per week",
                },
            },
            (155.62, 155.62, "GBP", WEEK, False),
            id="nhs-implausible-unit-falls-back-to-text",
        ),
        pytest.param(
            None,
            {"currency": "USD", "value": 50000},
            (50000, 50000, "USD", YEAR, True),
            id="bare-number-value",
        ),
        pytest.param(
            None,
            {
                "@type": "QuantitativeValue",
                "minValue": "20",
                "maxValue": "25",
                "unitText": "hour",
            },
            (20, 25, "GBP", HOUR, False),
            id="quantitative-value-alone",
        ),
        pytest.param(
            None,
            {"currency": "GBP", "value": {"minValue": "18,000", "unitText": "YEAR"}},
            (18000, None, "GBP", YEAR, False),
            id="min-only-string",
        ),
        pytest.param(
            "Competitive",
            {
                "currency": "GBP",
                "value": {
                    "minValue": None,
                    "maxValue": None,
                    "unitText": "YEAR",
                    "value": "Competitive",
                },
            },
            (None, None, None, None, False),
            id="nhs-no-numbers",
        ),
        pytest.param(
            None,
            {
                "currency": "GBP",
                "value": {"minValue": "0", "maxValue": "0", "unitText": "YEAR"},
            },
            None,
            id="zeros-are-no-pay",
        ),
        pytest.param(
            None,
            {
                "currency": "GBP",
                "value": {"minValue": 30000, "maxValue": 20000, "unitText": "YEAR"},
            },
            (None, None, "GBP", YEAR, False),
            id="base-min-above-max",
        ),
    ],
)
def test_parse_pay_base_salary(
    text: str | None, base: dict[str, Any], expected: tuple[Any, ...] | None
) -> None:
    assert _amounts(parse_pay(text, base)) == expected


def test_base_salary_text_is_kept() -> None:
    pay = parse_pay(None, NHS_HOURLY_JSONLD)

    assert pay is not None and pay.text == "£44.83ph - £60.52ph"
    assert (pay.annual_min_gbp, pay.annual_max_gbp) == (75359, 101734)


def test_text_flags_survive_base_numbers() -> None:
    pay = parse_pay("£18,000 - £21,000 per annum pro rata", PAY01_JSONLD)

    assert pay is not None and pay.pro_rata and pay.min == 18000


# -- the real recording


def _recorded_pay() -> tuple[list[str], list[dict[str, Any]]]:
    from warcio.archiveiterator import ArchiveIterator

    csj, nhs = [], []
    with RECORDING.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            body = record.content_stream().read()
            if "civilservicejobs" in url:
                csj += re.findall(r"Salary : [^<]+", body.decode("cp1252"))
            elif "jobs.nhs.uk/xi/vacancy" in url:
                nhs += _base_salaries(body)
    return csj, nhs


def _base_salaries(body: bytes) -> list[dict[str, Any]]:
    found = []
    for script in re.findall(
        rb'<script type="application/ld\+json">(.*?)</script>', body, re.S
    ):
        record = json.loads(script)
        if isinstance(record, dict) and record.get("@type") == "JobPosting":
            found.append(record["baseSalary"])
    return found


@pytest.fixture(scope="module")
def recorded_pay() -> tuple[list[str], list[dict[str, Any]]]:
    return _recorded_pay()


@needs_recording
@pytest.mark.recording
def test_civil_service_jobs_salaries_all_parse(recorded_pay: tuple) -> None:
    csj, _ = recorded_pay

    parsed = [parse_pay(text) for text in csj]

    assert len(csj) >= 50
    assert all(p is not None and p.min and p.max and p.min <= p.max for p in parsed)
    assert all(p is not None and p.period is YEAR for p in parsed)


@needs_recording
@pytest.mark.recording
def test_nhs_jobs_base_salaries(recorded_pay: tuple) -> None:
    _, nhs = recorded_pay

    with_numbers = [b for b in nhs if b["value"].get("minValue")]
    parsed = [parse_pay(b["value"].get("value"), b) for b in with_numbers]

    assert len(with_numbers) > 1800
    assert all(p is not None and p.currency == "GBP" for p in parsed)
    assert all(p is not None and p.annual_min_gbp for p in parsed if p.min is not None)
    agree = sum(
        p is not None and p.min == float(b["value"]["minValue"])
        for p, b in zip(parsed, with_numbers, strict=True)
    )
    assert agree / len(parsed) > 0.99


def _first_bound(pay: Pay | None) -> int | None:
    """NHS Jobs' own numbers drop the pence and put an "up to" figure in minValue."""
    if pay is None:
        return None
    bound = pay.min if pay.min is not None else pay.max
    return None if bound is None else int(bound)


@needs_recording
@pytest.mark.recording
def test_nhs_jobs_texts_alone_mostly_agree_with_their_numbers(
    recorded_pay: tuple,
) -> None:
    _, nhs = recorded_pay
    ranges = [b["value"] for b in nhs if str(b["value"].get("unitText")) == "YEAR"]
    annual_texts = [
        v
        for v in ranges
        if v.get("minValue") and re.search(r"\d{2},\d{3}", v.get("value", ""))
    ]

    agree = sum(
        _first_bound(parse_pay(v["value"])) == int(v["minValue"]) for v in annual_texts
    )

    assert len(annual_texts) > 1500
    assert agree / len(annual_texts) > 0.99


# -- properties

_PAY_WORDS = st.sampled_from(
    [
        "£",
        "18,000",
        "-",
        "–",
        "to",
        "21,000",
        "per",
        "annum",
        "p.a.",
        "ph",
        "k",
        "22",
        "pro",
        "rata",
        "Up",
        "to",
        "bursary",
        "Competitive",
        "9.50",
        "hour",
        "/",
        "£11.44",
        "Band",
        "5",
        "%",
        "GBP",
        "$",
        "0",
        "unpaid",
        "expenses",
        "NMW",
        "rising",
    ]
)
_JSON = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)
_BASE = st.fixed_dictionaries(
    {},
    optional={
        "currency": st.sampled_from(["GBP", "USD", None, ""]) | st.text(max_size=5),
        "value": _JSON
        | st.fixed_dictionaries(
            {},
            optional={
                "minValue": _JSON | st.sampled_from(["18000", "£9.50", "0", "-5"]),
                "maxValue": _JSON | st.sampled_from(["21000", "1e400", "nan"]),
                "value": _JSON | st.sampled_from(["£44.83ph - £60.52ph"]),
                "unitText": st.sampled_from(["HOUR", "DAY", "WEEK", "MONTH", "YEAR"])
                | _JSON,
            },
        ),
    },
)


@given(st.text() | st.lists(_PAY_WORDS, max_size=10).map(" ".join), st.none() | _BASE)
def test_parse_pay_never_raises(text: str, base: dict[str, Any] | None) -> None:
    pay = parse_pay(text, base, as_of=date(2026, 11, 15))

    assert pay is None or isinstance(pay, Pay)
    if pay is not None:
        assert pay.min != 0 and pay.max != 0
        if pay.min is not None and pay.max is not None:
            assert pay.min <= pay.max
        if pay.annual_min_gbp is not None:
            assert pay.currency == "GBP" and pay.period is not None
