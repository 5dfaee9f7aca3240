"""Pairs and the band they land in under the default configuration, each case
with a description (splink style)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dedupe import MatchRecord, match
from dedupe.types import Band

BASE: dict[str, Any] = {
    "title": "Level 3 Business Administration Apprenticeship",
    "provider": "Smith & Jones Ltd",
    "outcode": "LS1",
    "closing": date(2026, 3, 31),
}


def _band(a: dict[str, Any], b: dict[str, Any]) -> tuple[Band, bool]:
    """The pair's band, and whether the two listings became one opportunity."""
    records = [
        MatchRecord("a", "findapprenticeship", **(BASE | a)),
        MatchRecord("b", "aggregator", **(BASE | b)),
    ]
    result = match(records)
    found = [p for p in result.pairs if (p.a, p.b) == ("a", "b")]
    merged = frozenset({"a", "b"}) in result.clusters
    return (found[0].band if found else "distinct"), merged


CASES = [
    pytest.param({}, {}, "auto", id="the same listing on two sources"),
    pytest.param(
        {},
        {
            "provider": "SMITH AND JONES LIMITED",
            "title": "level 3 business administration apprenticeship",
        },
        "auto",
        id="case, ampersand and Ltd differ only",
    ),
    pytest.param(
        {"title": "Summer School"},
        {"title": "Summer School in Law"},
        "review",
        id="a short title that is a subset of a longer one is not identical",
    ),
    pytest.param(
        {},
        {"title": "Level 6 Business Administration Apprenticeship"},
        "distinct",
        id="level 3 is not level 6",
    ),
    pytest.param(
        {},
        {"provider": "Career Connect"},
        "review",
        id="same title, place and date from another provider goes to a reviewer",
    ),
    pytest.param(
        {"provider": "N/A", "title": "Business Admin Apprentice"},
        {"provider": "-"},
        "distinct",
        id="placeholder providers do not rescue different titles",
    ),
    pytest.param(
        {},
        {"closing": date(2026, 9, 30)},
        "review",
        id="closing dates six months apart",
    ),
    pytest.param(
        {"lat": 53.80, "lon": -1.55, "outcode": None},
        {"lat": 51.50, "lon": -0.12, "outcode": None},
        "review",
        id="Leeds and London",
    ),
    pytest.param(
        {"title": "Business Admin Apprentice", "apply_url": "https://x.example/a/1"},
        {"title": "Apprentice - Business Admin", "apply_url": "https://x.example/a/1"},
        "auto",
        id="one apply URL, titles worded differently",
    ),
    pytest.param(
        {"title": "Data Apprentice", "source_ids": ("ucas:123",)},
        {"title": "Data Analyst Apprentice", "source_ids": ("ucas:123",)},
        "auto",
        id="a shared source id",
    ),
]


@pytest.mark.parametrize(("a", "b", "band"), CASES)
def test_pair_band(a: dict[str, Any], b: dict[str, Any], band: Band) -> None:
    """Only the auto band merges: a review pair waits for a reviewer."""
    assert _band(a, b) == (band, band == "auto")


def _summer_schools() -> list[MatchRecord]:
    return [
        MatchRecord("a", "s1", **(BASE | {"title": "Summer School"})),
        MatchRecord("b", "s2", **(BASE | {"title": "Summer School in Law"})),
        MatchRecord("c", "s3", **(BASE | {"title": "The Summer School"})),
    ]


def test_subset_title_scores_below_identical() -> None:
    pairs = {(p.a, p.b): p for p in match(_summer_schools()).pairs}

    assert pairs[("a", "c")].features["title"] == 100.0
    assert pairs[("a", "b")].features["title"] < 90.0
    assert pairs[("a", "b")].score < pairs[("a", "c")].score


def test_review_pair_has_features_and_explanation() -> None:
    review = match(_summer_schools()[:2]).review

    (pair,) = review
    assert set(pair.features) >= {"title", "provider", "model_score"}
    assert "title 85/100" in pair.explanation
    assert 0.0 <= pair.score <= 100.0


def test_placeholder_providers_weigh_nothing() -> None:
    def score(provider_a: str | None, provider_b: str | None) -> float:
        records = [
            MatchRecord("a", "s1", "Data Apprentice", provider=provider_a),
            MatchRecord("b", "s2", "Data Apprentice", provider=provider_b),
        ]
        return match(records).pairs[0].score

    assert score("N/A", "-") == score(None, None) == score("", "TBC")
    assert score("N/A", "-") < score("Acme", "Acme")


def test_a_shared_vacancy_reference_finds_a_pair_no_other_key_would() -> None:
    """An aggregator that reworded the title and gave no place or provider
    still carries the vacancy reference: blocking finds the pair by it."""
    records = [
        MatchRecord("a", "faa", "Level 3 Dental Nurse Apprenticeship",
                    provider="Smile Dental Ltd", outcode="TR1",
                    source_ids=("VAC1000123456",)),
        MatchRecord("b", "aggregator", "Apprentice dental nursing (L3)",
                    source_ids=("VAC1000123456",)),
        MatchRecord("c", "aggregator", "Apprentice dental nursing (L3)",
                    source_ids=("VAC1000999999",)),
    ]  # fmt: skip

    result = match(records)

    assert result.block_counts["source_ids"] == 1
    pairs = {(p.a, p.b): p for p in result.pairs}
    assert ("a", "b") in pairs and pairs[("a", "b")].features["source_ids"] == 100.0
