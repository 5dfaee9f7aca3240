"""The one engine and session factory, and schema migration on start."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def make_engine(url: str, *, pool_size: int | None = None) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys.

    A ``postgresql://`` URL is driven by psycopg 3, with ``pool_size``
    connections kept open (SQLAlchemy's default, 5, when None): a server that
    answers more requests at once than that would open and close a connection
    for each one over it.
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if pool_size is None:
        return create_engine(parsed, pool_pre_ping=True)
    return create_engine(parsed, pool_pre_ping=True, pool_size=pool_size)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    from storage.lifecycle import exclusive_stage

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # two first runs at once would both create the tables
    with exclusive_stage(engine, "hub-migrate"), engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "heads")


class SchemaMissing(LookupError):
    """The database holds no hub schema yet (nothing has been stored in it)."""


def require_schema(engine: Engine) -> None:
    """Refuse to read a database the hub has never written, rather than create it.

    Raises:
        SchemaMissing: no SQLite file there, or no migrated schema in it.
    """
    url = engine.url
    if url.get_backend_name() == "sqlite" and url.database not in (
        None,
        "",
        ":memory:",
    ):
        if not Path(url.database).is_file():
            raise SchemaMissing(f"no database at {url.database}")
    if not inspect(engine).has_table("alembic_version"):
        raise SchemaMissing(f"no hub tables in {url.render_as_string()}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
