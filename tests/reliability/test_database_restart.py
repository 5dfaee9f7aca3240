"""The database restarts in the middle of a main-job run (a crawl storing, a
match, a publish): the run retries and completes or fails with a clear error,
nothing half written stays, and the next run ends as an uninterrupted one.

Runs ``hub run --replay`` against a private PostgreSQL cluster of its own,
restarted with ``pg_ctl restart -m fast`` or ``-m immediate``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.reliability.pgcluster import (
    PrivateCluster,
    baseline_state,
    private_cluster,
    restart_case,
    unusable_reason,
    write_restart_recording,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def restart_world(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PrivateCluster, Path, Path, Path, dict[str, object]]]:
    reason = unusable_reason()
    if reason:
        pytest.skip(f"no private PostgreSQL cluster: {reason}")
    folder = tmp_path_factory.mktemp("restart")
    recording, registry = write_restart_recording(folder, 250)
    with private_cluster() as cluster:
        baseline = baseline_state(cluster, folder, recording, registry)
        yield cluster, folder, recording, registry, baseline


@pytest.mark.parametrize(
    ("stage", "mode"),
    [("crawl", "fast"), ("match", "immediate"), ("publish", "fast")],
)
def test_a_restart_mid_run_leaves_nothing_half_written(restart_world, stage, mode):
    cluster, folder, recording, registry, baseline = restart_world

    case = restart_case(cluster, folder, recording, registry, baseline, stage, mode)

    assert case.interrupted.restarted_at == stage
    assert case.problems == []
