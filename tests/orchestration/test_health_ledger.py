"""The health ledger: listing counts, drops, coverage, and suspicious runs."""

from __future__ import annotations

import pytest

from storage.health import (
    CoverageGate,
    RunFigures,
    coverage_shares,
    drops_by_reason,
    judge_run,
    list_ledger,
    listing_count,
)


def figures(listings: int, status: str = "ok", **coverage: float) -> RunFigures:
    return RunFigures(
        run_id=99,
        status=status,
        listings=listings,
        drops={},
        coverage=coverage,
        stats={"coverage/items": listings, **coverage},
    )


GOOD = [figures(n) for n in (100, 104, 98, 101, 99)]


@pytest.mark.parametrize(
    ("run", "history", "verdict"),
    [
        pytest.param(figures(97), GOOD, "ok", id="a usual run"),
        pytest.param(figures(51), GOOD, "ok", id="just above half the median"),
        pytest.param(figures(49), GOOD, "suspicious", id="fell by more than half"),
        pytest.param(figures(0), GOOD, "suspicious", id="found nothing"),
        pytest.param(figures(0), [], "suspicious", id="nothing, and no history"),
        pytest.param(figures(3), [], "ok", id="a first run has no baseline"),
        pytest.param(figures(40, "partial"), GOOD, "suspicious", id="a partial drop"),
        pytest.param(figures(99, "partial"), GOOD, "partial", id="partial stays"),
        pytest.param(figures(0, "failed"), GOOD, "failed", id="failed stays failed"),
        pytest.param(
            figures(10),
            [figures(n) for n in (100, 100, 100, 100, 100, 5, 5, 5)],
            "suspicious",
            id="only the last five good runs count",
        ),
    ],
)
def test_judge_run_listing_counts(run, history, verdict):
    assert judge_run(run, history).verdict == verdict


def test_a_field_usually_filled_that_falls_by_half_fails_the_gate():
    before = [figures(100, title=1.0, postcode=0.8) for _ in range(5)]

    result = judge_run(figures(100, title=1.0, postcode=0.3), before)

    assert result.verdict == "suspicious"
    assert result.reasons == ["postcode filled in 30% of items, usually 80%"]


def test_the_required_fields_gate_is_the_callers():
    gate = CoverageGate(required=lambda stats: ["title on 10% of 100 listings"])

    result = judge_run(figures(100, title=0.1), [], gate)

    assert result.verdict == "suspicious"
    assert result.reasons[0] == "title on 10% of 100 listings"


@pytest.mark.parametrize(
    ("stats", "count", "drops", "shares"),
    [
        pytest.param(
            {"store/new": 2, "store/updated": 1, "store/unchanged": 7},
            10,
            {},
            {},
            id="store outcomes",
        ),
        pytest.param(
            {"dropped/no_title": 3, "dropped/duplicate": 1},
            0,
            {"no_title": 3, "duplicate": 1},
            {},
            id="drops by reason",
        ),
        pytest.param(
            {
                "coverage/items": 4,
                "coverage/title": 4,
                "coverage/postcode": 1,
                "coverage/required": ["title"],
            },
            0,
            {},
            {"title": 1.0, "postcode": 0.25},
            id="coverage counts over items; the required list is skipped",
        ),
    ],
)
def test_figures_from_stats(stats, count, drops, shares):
    assert listing_count(stats) == count
    assert drops_by_reason(stats) == drops
    assert coverage_shares(stats) == shares


@pytest.mark.db
def test_the_ledger_judges_each_run_against_the_good_ones(store):
    store.source("brightpath")
    keys = [f"k{i}" for i in range(10)]
    for _ in range(3):
        store.run("brightpath", keys)

    store.run("brightpath", keys[:4])

    with store.factory() as session:
        rows = list_ledger(session)
    assert [r.verdict for r in rows] == ["suspicious", "ok", "ok", "ok"]
    assert rows[0].listings == 4
    assert rows[0].baseline == 10
    assert rows[0].reasons == ["found 4 listings against a median of 10"]


@pytest.mark.db
def test_hub_status_shows_the_ledger(store, monkeypatch):
    from typer.testing import CliRunner

    from hub.cli import app

    store.source("brightpath")
    store.run("brightpath", ["a", "b"])
    store.run("brightpath", [])
    monkeypatch.setenv("HUB_DATABASE_URL", store.url)
    monkeypatch.setenv("COLUMNS", "200")

    result = CliRunner().invoke(app, ["status"])

    assert result.exit_code == 0, result.output
    assert "brightpath" in result.output
    assert "suspicious" in result.output
    assert "found no listings" in result.output
