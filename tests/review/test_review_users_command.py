"""``hub users add`` and ``hub users list``: argon2 hashes, never passwords."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from sqlalchemy import select
from typer.testing import CliRunner

from hub.commands.users import register
from hub.exceptions import HubError
from hub.web.review.accounts import sign_in
from storage.models_review import User
from tests.review.review_builders import migrated


@pytest.fixture
def hub_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setenv("HUB_DATABASE_URL", f"sqlite:///{tmp_path / 'hub.sqlite'}")
    app = typer.Typer()
    register(app)
    app.command("noop", hidden=True)(lambda: None)  # keeps "users" a group
    return app


def _users(tmp_path: Path) -> list[User]:
    factory = migrated(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    with factory() as session:
        found = list(session.scalars(select(User)))
    factory.kw["bind"].dispose()
    return found


def test_a_user_added_from_stdin_is_stored_as_an_argon2_hash(
    hub_command: typer.Typer, tmp_path: Path
) -> None:
    result = CliRunner().invoke(
        hub_command,
        ["users", "add", "ana", "--role", "admin", "--password-stdin"],
        input="correct horse battery\n",
    )

    users = _users(tmp_path)
    assert result.exit_code == 0, result.output
    assert [(u.name, u.role) for u in users] == [("ana", "admin")]
    assert users[0].password_hash.startswith("$argon2id$")
    assert "correct horse" not in users[0].password_hash


def test_the_prompt_asks_twice(hub_command: typer.Typer, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        hub_command,
        ["users", "add", "bea"],
        input="correct horse battery\ncorrect horse battery\n",
    )

    factory = migrated(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    with factory() as session:
        signed = sign_in(session, "bea", "correct horse battery", "127.0.0.1")
    factory.kw["bind"].dispose()
    assert result.exit_code == 0, result.output
    assert signed.reviewer is not None and signed.reviewer.role == "reviewer"


@pytest.mark.parametrize(
    ("args", "password", "problem"),
    [
        pytest.param(["ana"], "short\n", HubError, id="a short password"),
        pytest.param(["ana", "--role", "boss"], "correct horse\n", None, id="a role"),
    ],
)
def test_bad_users_are_refused(
    hub_command: typer.Typer,
    tmp_path: Path,
    args: list[str],
    password: str,
    problem: type[Exception] | None,
) -> None:
    result = CliRunner().invoke(
        hub_command, ["users", "add", *args, "--password-stdin"], input=password
    )

    assert result.exit_code != 0
    assert problem is None or isinstance(result.exception, problem)
    assert _users(tmp_path) == []


def test_list_shows_users(hub_command: typer.Typer) -> None:
    runner = CliRunner()
    runner.invoke(
        hub_command, ["users", "add", "ana", "--password-stdin"], input="long enough\n"
    )

    result = runner.invoke(hub_command, ["users", "list"])

    assert result.exit_code == 0
    assert "ana" in result.output and "reviewer" in result.output
