"""``hub users``: the reviewers and admins who may sign in to the review pages."""

from __future__ import annotations

import sys
from enum import StrEnum
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

console = Console()
users_app = typer.Typer(no_args_is_help=True, help="Reviewers of the review pages.")


class Role(StrEnum):
    reviewer = "reviewer"
    admin = "admin"


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


@users_app.command("add")
def add(
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The name to sign in with.")
    ],
    role: Annotated[
        Role, typer.Option(help="reviewer: decides pairs; admin: also imports.")
    ] = Role.reviewer,
    password_stdin: Annotated[
        bool,
        typer.Option(help="Read the password from the first line of standard input."),
    ] = False,
) -> None:
    """Add a user; the password is asked for (twice) unless --password-stdin."""
    from hub.config import Config
    from hub.exceptions import HubError
    from hub.web.review.accounts import AccountError, add_user
    from storage.session import make_engine, migrate, session_factory, transaction

    password = _read_password(password_stdin)
    engine = make_engine(Config.from_env().database_url)
    migrate(engine)
    try:
        with transaction(session_factory(engine)) as session:
            add_user(session, name, role.value, password)
    except AccountError as exc:
        raise HubError(str(exc)) from None
    finally:
        engine.dispose()
    console.print(f"Added {role.value} {name!r}.", highlight=False)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return typer.prompt("Password", hide_input=True, confirmation_prompt=True)


@users_app.command("list")
def list_all() -> None:
    """Every user, with role and whether it may sign in."""
    from hub.config import Config
    from hub.web.review.accounts import list_users
    from storage.session import make_engine, migrate, session_factory

    engine = make_engine(Config.from_env().database_url)
    migrate(engine)
    with session_factory(engine)() as session:
        users = list_users(session)
    engine.dispose()
    table = Table("name", "role", "active", "created")
    for user in users:
        table.add_row(
            user.name, user.role, "yes" if user.active else "no", str(user.created)
        )
    console.print(table)
