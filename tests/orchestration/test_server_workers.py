"""A Prefect server and two process workers each run a flow run of four crawls
at once into one PostgreSQL: no lost update, no integrity error, no doubled slot.

Slow (about two minutes): the server, two workers, three flow runs and eight
crawls, each a process of its own, on 127.0.0.1 only. The sources, their
boards and the checks are in :mod:`tests.reliability.workers`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.workers import run_case, run_server_workers

pytestmark = [pytest.mark.slow, pytest.mark.db]


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (set HUB_TEST_DATABASE_URL)")
    return database_url


def test_two_workers_crawl_at_once_with_no_lost_update(
    postgres_url: str, tmp_path: Path, geo_dir: Path
) -> None:
    result = run_case(postgres_url, tmp_path, seed=11, label="seed 11")

    assert result.problems == []
    # the boards overlap: the two families' matchers merged the same opportunities
    assert 0 < result.opportunities < result.listings


def test_figures_for_the_report_without_postgresql(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HUB_TEST_DATABASE_URL", raising=False)

    figures = run_server_workers(tmp_path, seed=1, size=1)

    assert (figures["tried"], figures["survived"], figures["lost"]) == (0, 0, [])
    assert figures["notes"]


def test_a_race_that_never_overlapped_is_run_again_on_an_empty_schema(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.reliability.workers as workers

    outcomes = [[workers.NO_OVERLAP], [workers.NO_OVERLAP], []]
    emptied: list[str] = []

    def race(url: str, folder: Path, seed: int, label: str) -> workers.CaseResult:
        return workers.CaseResult(label, problems=outcomes.pop(0))

    monkeypatch.setattr(workers, "_race", race)
    monkeypatch.setattr(workers, "_empty_schema", emptied.append)

    result = run_case("postgresql://x/y", tmp_path, seed=1, label="seed 1")

    assert (result.problems, result.attempts) == ([], 3)
    assert emptied == ["postgresql://x/y"] * 2


def test_a_race_that_never_overlaps_stays_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tests.reliability.workers as workers

    def race(url: str, folder: Path, seed: int, label: str) -> workers.CaseResult:
        return workers.CaseResult(label, problems=[workers.NO_OVERLAP])

    monkeypatch.setattr(workers, "_race", race)
    monkeypatch.setattr(workers, "_empty_schema", lambda url: None)

    result = run_case("postgresql://x/y", tmp_path, seed=1, label="seed 1")

    assert result.problems == [workers.NO_OVERLAP]
    assert result.attempts == workers.RACE_ATTEMPTS
