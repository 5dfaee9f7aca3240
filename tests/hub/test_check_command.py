"""``hub check``: exit 0 on a sound database, 1 listing each problem; pending
work is a note unless ``--settled``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from dedupe.adapter import match_listings
from hub.commands.check import register
from storage.feed import publish_feed
from storage.models import Opportunity
from storage.repository import (
    ListingRow,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _row(key: str) -> ListingRow:
    return ListingRow(
        source_key=key,
        url=f"https://jobs.example.org/{key}",
        content_hash=key,
        fetched_at=T0,
        status="active",
        columns={"title": f"Apprentice {key}"},
        fields={"title": f"Apprentice {key}"},
        raw={},
    )


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    url = f"sqlite:///{tmp_path / 'hub.sqlite'}"
    monkeypatch.setenv("HUB_DATABASE_URL", url)
    engine = make_engine(url)
    migrate(engine)
    factory = session_factory(engine)
    yield factory
    engine.dispose()


def _store(factory, keys: list[str]) -> None:
    with transaction(factory) as session:
        source = upsert_source(
            session, name="board", spider="x", provider_kind="charity"
        )
        run = start_crawl_run(session, source, None)
        upsert_listings(session, source.id, run.id, [_row(k) for k in keys])
        run.status, run.finished = "ok", T0


def _check(*args: str) -> typer.testing.Result:
    app = typer.Typer()
    register(app)
    app.command("noop", hidden=True)(lambda: None)  # keeps "check" a command
    return CliRunner().invoke(app, ["check", *args])


def test_a_sound_database_passes(database) -> None:
    _store(database, ["a", "b"])
    match_listings(database)
    publish_feed(database)

    result = _check()

    assert result.exit_code == 0, result.output
    assert "Sound: no problems" in result.output


def test_a_problem_is_listed_and_exits_1(database) -> None:
    _store(database, ["a"])
    match_listings(database)
    publish_feed(database)
    with transaction(database) as session:
        session.add(Opportunity(id="opp_empty", state="live", created=T0, modified=T0))

    result = _check()

    assert result.exit_code == 1
    assert "memberless: opportunity opp_empty is live with no members" in result.output


def test_pending_work_is_a_note_unless_settled(database) -> None:
    _store(database, ["a"])

    noted, settled = _check(), _check("--settled")

    assert noted.exit_code == 0, noted.output
    assert "note awaiting_match" in noted.output
    assert settled.exit_code == 1
    assert "problem awaiting_match" in settled.output


def test_a_folder_never_published_is_a_problem(database, tmp_path: Path) -> None:
    _store(database, ["a"])
    match_listings(database)
    publish_feed(database)

    result = _check("--folder", str(tmp_path / "site"))

    assert result.exit_code == 1
    assert "folder:" in result.output


def test_a_database_never_written_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'none.sqlite'}")

    result = _check()

    assert result.exit_code != 0
    assert not (tmp_path / "none.sqlite").exists()
