"""kill -9 inside each stage of the main job, a few seeded times per stage on
each database (the full campaign: ``python -m tests.reliability.crash``).

After each kill the database must hold no integrity problem (pending work is
allowed), the next run must end it with no problem and no pending work, and
its end state must equal that of a run never interrupted. A kill that misses
its stage is tried again with the next seed, and earlier: a test that never
hit its stage fails, as it proved nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from storage.models import Listing
from storage.session import make_engine
from tests.reliability.crash import STAGES, Bench, Outcome
from tests.reliability.crash_databases import PostgresBackend, make_backend
from tests.reliability.crash_state import differences, end_state

pytestmark = [pytest.mark.slow, pytest.mark.db]

SEED = 20261204
# seeded kills per stage and database, and seeds tried for each until one lands
KILLS = int(os.getenv("HUB_CRASH_KILLS", "1"))
ATTEMPTS = 3


def _backends() -> list[pytest.param]:
    kinds = [pytest.param("sqlite", id="sqlite")]
    if os.getenv("HUB_TEST_DATABASE_URL"):
        kinds.append(pytest.param("postgresql", id="postgresql"))
    return kinds


@pytest.fixture(scope="module", params=_backends())
def bench(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, geo_dir
) -> Iterator[Bench]:
    """The first editions' database and a calibration run of the second."""
    folder: Path = tmp_path_factory.mktemp(f"crash-{request.param}")
    backend = make_backend(request.param, folder)
    bench = Bench(folder, backend, SEED)
    try:
        bench.prepare()
        yield bench
    finally:
        bench.close()
        if isinstance(backend, PostgresBackend):
            backend.close()


def _landed(bench: Bench, stage: str, index: int) -> Outcome:
    """The kill's outcome; one that came after the stage (this run was quicker
    than the calibration run) is tried again with the next seed, earlier."""
    for attempt in range(ATTEMPTS):
        earlier = 0.5**attempt
        outcome = bench.experiment(stage, index * ATTEMPTS + attempt, earlier)
        if outcome.kill.landed:
            break
    return outcome


def test_the_calibration_run_measured_every_stage(bench: Bench) -> None:
    for stage in ("crawl", "store", "match", "publish"):
        start, end = bench.windows.spans[stage]
        assert 0 < start < end, stage
    assert bench.windows.stored > 600
    assert bench.static_windows.duration("static") > 0


def test_the_second_edition_changes_every_kind_of_thing(bench: Bench) -> None:
    """The run the suite interrupts merges, splits, closes and marks gone."""
    state = bench.reference
    changes = [c for entries in state["changes"].values() for c in entries]
    statuses = {listing["status"] for listing in state["listings"].values()}
    states = {opportunity["state"] for opportunity in state["opportunities"].values()}

    assert any(c.startswith("merged") for c in changes)
    assert any(c.startswith("split") for c in changes)
    assert {"active", "closed", "gone"} <= statuses
    assert {"live", "closed", "merged"} <= states


def test_a_copy_compares_equal_and_a_changed_field_shows(bench: Bench) -> None:
    copy = bench.copy_database(bench.reference_url)
    try:
        assert differences(bench.reference, end_state(copy, bench.before_ids)) == []

        engine = make_engine(copy)
        with engine.begin() as connection:
            connection.execute(
                update(Listing).where(Listing.id == 1).values(title="Changed")
            )
        engine.dispose()
        found = differences(bench.reference, end_state(copy, bench.before_ids))
    finally:
        bench.backend.drop(copy)
        bench.urls.remove(copy)

    assert any("title" in line for line in found), found


def test_two_runs_never_interrupted_end_alike(bench: Bench) -> None:
    url = bench.copy_database(bench.before_url)
    try:
        bench.run_to_end(url, 2)
        found = differences(bench.reference, end_state(url, bench.before_ids))
    finally:
        bench.backend.drop(url)
        bench.urls.remove(url)

    assert found == []


def test_a_second_run_of_the_same_recording_changes_nothing(bench: Bench) -> None:
    """What the comparison rests on: a run ends where the same run again
    would end (no listing closed, no change recorded a run late)."""
    url = bench.copy_database(bench.reference_url)
    try:
        bench.run_to_end(url, 2)
        found = differences(bench.reference, end_state(url, bench.before_ids))
    finally:
        bench.backend.drop(url)
        bench.urls.remove(url)

    assert found == []


@pytest.mark.parametrize("index", range(KILLS))
@pytest.mark.parametrize("stage", STAGES)
def test_a_kill_inside_a_stage_leaves_sound_data_and_the_next_run_recovers(
    bench: Bench, stage: str, index: int
) -> None:
    outcome = _landed(bench, stage, index)

    assert outcome.kill.landed, f"no kill landed inside {stage}: {outcome.kill.note}"
    assert outcome.faults() == []
