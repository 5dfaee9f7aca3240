"""The main job end to end: the shared recording replayed through `hub run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from storage.models import FeedChange, Listing, Opportunity, Source
from storage.session import make_engine, session_factory

pytestmark = [pytest.mark.recording, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]


def hub(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "hub", *args]
    result = subprocess.run(
        command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


@pytest.fixture(scope="module")
def run_env(module_database_url, tmp_path_factory, geo_dir):
    env = {
        **os.environ,
        "HUB_DATABASE_URL": module_database_url,
        "HUB_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "HUB_GEO_DIR": str(geo_dir),
        "COLUMNS": "200",
    }
    env.pop("PREFECT_API_URL", None)
    return env


@pytest.fixture(scope="module")
def replayed(recording, run_env, module_database_url):
    """The database after two replays, with what each run printed."""
    first = hub("run", "--replay", str(recording), env=run_env)
    engine = make_engine(module_database_url)
    factory = session_factory(engine)
    with factory() as session:
        ids_before = set(session.scalars(select(Opportunity.id)))
        changes_before = session.scalar(select(func.count(FeedChange.change_no)))
    second = hub("run", "--replay", str(recording), env=run_env)
    yield factory, first.stdout, second.stdout, ids_before, changes_before
    engine.dispose()


def listings_of(session, source: str):
    query = select(Listing).join(Source).where(Source.name == source)
    return list(session.scalars(query))


def test_every_source_is_stored_with_real_values(replayed):
    factory, first, *_ = replayed

    with factory() as session:
        civil = {x.source_key: x for x in listings_of(session, "civil_service_jobs")}
        nhs = {x.source_key: x for x in listings_of(session, "nhs_jobs")}
        boards = [
            x
            for name in ("greenhouse_smarterdx", "lever_palantir", "ashby_openevidence")
            for x in listings_of(session, name)
        ]

    assert len(civil) == 50
    custodian = civil["1859771"]
    assert custodian.fields["pay_text"] == "£27,620 to £32,163"
    assert (custodian.pay_min, custodian.pay_max) == (27620, 32163)
    assert custodian.postcode == "SP4 0JQ"

    assert len(nhs) == 2062
    doctor = nhs["https://www.jobs.nhs.uk/xi/vacancy/916012379"]
    assert doctor.closing_date == datetime(2021, 3, 31, 22, 59, 59, tzinfo=UTC)
    assert doctor.postcode == "W6 8RF"
    assert doctor.provider_name == "Imperial College Healthcare NHS Trust"

    assert len(boards) == 6


def test_the_first_run_prints_the_table(replayed):
    _, first, *_ = replayed

    for source in ("civil_service_jobs", "nhs_jobs", "greenhouse_smarterdx"):
        assert source in first
    assert "Published" in first


def test_a_second_replay_changes_nothing(replayed):
    factory, _, second, ids_before, changes_before = replayed

    with factory() as session:
        ids_after = set(session.scalars(select(Opportunity.id)))
        changes_after = session.scalar(select(func.count(FeedChange.change_no)))
        listings = session.scalar(select(func.count(Listing.id)))
        changed = session.scalar(
            select(func.count(Listing.id)).where(
                Listing.changed_run_id != Listing.first_run_id
            )
        )

    assert ids_after == ids_before
    assert changes_after == changes_before
    assert listings == 50 + 2062 + 6
    assert changed == 0


def test_the_feed_is_json_lines_of_in_scope_opportunities(replayed, run_env):
    output = hub("feed", env=run_env).stdout

    records = [json.loads(line) for line in output.splitlines()]
    assert records
    assert all(r["in_scope"] for r in records)
    assert all(r["listings"] and r["id"].startswith("opp_") for r in records)
