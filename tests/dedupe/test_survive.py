from __future__ import annotations

from datetime import date, datetime

import pytest

from dedupe import MatchRecord, survive

GOV = MatchRecord(
    "gov",
    "findapprenticeship",
    "Data Apprentice",
    provider="Acme Ltd",
    closing=date(2026, 3, 1),
    apply_url="https://gov.example/apply/1",
    trust=10,
)
OWN = MatchRecord(
    "own",
    "acme-careers",
    "Data Apprenticeship (Leeds)",
    provider="Acme",
    description="Two years, Level 3.",
    apply_url="https://careers.acme.example/j/9",
    url="https://careers.acme.example/j/9",
    trust=20,
    extra={"source_kind": "employer"},
)
AGG = MatchRecord(
    "agg",
    "aggregator",
    "DATA APPRENTICE",
    provider="ACME",
    postcode="LS1 4AP",
    pay_min=18000,
    pay_max=21000,
    apply_url="https://agg.example/x?id=4",
    trust=80,
    seen=datetime(2026, 2, 1),
)


@pytest.mark.parametrize(
    ("name", "value", "source"),
    [
        pytest.param("title", "Data Apprentice", "gov", id="most trusted source wins"),
        pytest.param(
            "description",
            "Two years, Level 3.",
            "own",
            id="next most trusted source that has the field",
        ),
        pytest.param("postcode", "LS1 4AP", "agg", id="only the aggregator has it"),
        pytest.param("pay_min", 18000, "agg", id="grouped fields come together"),
    ],
)
def test_field_comes_from_most_trusted_source_having_it(
    name: str, value: object, source: str
) -> None:
    golden = survive([AGG, OWN, GOV])

    assert golden.values[name] == value
    group = {"pay_min": "pay", "pay_max": "pay"}.get(name, name)
    assert golden.field_sources[group] == source


def test_completeness_then_recency_break_trust_ties() -> None:
    sparse = MatchRecord(
        "s", "a1", "Data Apprentice", trust=50, seen=datetime(2026, 5, 1)
    )
    full = MatchRecord(
        "f",
        "a2",
        "Data Apprentice (full)",
        provider="Acme",
        outcode="LS1",
        trust=50,
        seen=datetime(2026, 1, 1),
    )
    old = MatchRecord(
        "o", "a3", "Data Apprentice (old)", trust=50, seen=datetime(2025, 1, 1)
    )

    assert survive([sparse, full]).field_sources["title"] == "f"
    assert survive([old, sparse]).field_sources["title"] == "s"


def test_also_listed_on_and_primary_source() -> None:
    golden = survive([AGG, OWN, GOV])

    assert golden.primary_source == "findapprenticeship"
    assert golden.also_listed_on == ("acme-careers", "aggregator")


def test_apply_url_is_the_providers_own_when_known() -> None:
    golden = survive([AGG, OWN, GOV])

    assert golden.apply_url == "https://careers.acme.example/j/9"
    assert golden.apply_url_source == "own"


def test_apply_url_falls_back_to_trust_order() -> None:
    golden = survive([AGG, GOV])

    assert golden.apply_url == "https://gov.example/apply/1"


def test_blank_values_never_survive() -> None:
    blank = MatchRecord("b", "gov2", "N/A", description="TBC", trust=1)

    golden = survive([blank, OWN])

    assert golden.values["title"] == OWN.title
    assert golden.field_sources["description"] == "own"


def test_survive_needs_records() -> None:
    with pytest.raises(ValueError, match="at least one record"):
        survive([])
