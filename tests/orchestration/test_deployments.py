"""Deployments: one per provider kind, London crons, stable slugs, cancel-new."""

from __future__ import annotations

import pytest
from prefect.client.schemas.objects import ConcurrencyLimitStrategy

from flows.deployments import deployment_options
from flows.schedule import Family, FamilySchedule

GOVERNMENT = Family(
    "government",
    (
        FamilySchedule("0 6 * * *", ("civil_service_jobs",)),
        FamilySchedule("30 6 * * *", ("nhs_jobs",)),
    ),
)


@pytest.mark.parametrize(
    ("cadence_hours", "slugs"),
    [
        pytest.param(
            3, ["government-0", "government-1", "government-cadence"], id="cadence"
        ),
        pytest.param(0, ["government-0", "government-1"], id="no cadence tick"),
    ],
)
def test_one_deployment_per_family(cadence_hours, slugs):
    options = deployment_options(GOVERNMENT, cadence_hours)

    assert options["name"] == "refresh-government"
    assert [s.slug for s in options["schedules"]] == slugs
    assert {s.timezone for s in options["schedules"]} == {"Europe/London"}
    assert options["schedules"][1].parameters == {
        "family": "government",
        "sources": ["nhs_jobs"],
    }
    limit = options["concurrency_limit"]
    assert (limit.limit, limit.collision_strategy) == (
        1,
        ConcurrencyLimitStrategy.CANCEL_NEW,
    )


def test_hub_schedule_dry_run_lists_the_deployments(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from hub.cli import app

    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))

    result = CliRunner().invoke(app, ["schedule", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "refresh-government" in result.output
    assert "refresh-employer" in result.output
    assert "nhs_jobs" in result.output
