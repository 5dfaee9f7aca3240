"""Private databases for the crash suite: a SQLite file or a PostgreSQL schema
each, copied whole, probed for an open write transaction, dropped after.

A PostgreSQL database's connections carry its schema as their
``application_name``, so the server's activity view tells its backends apart
from every other client's.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from pathlib import Path

from sqlalchemy import Engine, MetaData, create_engine, text
from sqlalchemy.engine import make_url

from storage.session import make_engine, migrate


class Backend:
    """Private databases of one kind: made, copied, probed and dropped."""

    kind = ""

    def new(self) -> str:
        raise NotImplementedError

    def copy(self, source_url: str) -> str:
        raise NotImplementedError

    def drop(self, url: str) -> None:
        raise NotImplementedError

    def writer_busy(self, url: str) -> bool:
        """Whether some connection holds a write transaction open right now."""
        raise NotImplementedError

    def settle(self, url: str) -> None:
        """Wait until nothing of a killed job still holds the database."""


class SqliteBackend(Backend):
    kind = "sqlite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._probes: dict[str, sqlite3.Connection] = {}

    def new(self) -> str:
        return f"sqlite:///{self.folder / f'hub-{uuid.uuid4().hex[:8]}.sqlite'}"

    def copy(self, source_url: str) -> str:
        url = self.new()
        source = sqlite3.connect(_sqlite_path(source_url))
        target = sqlite3.connect(_sqlite_path(url))
        with target:
            source.backup(target)
        source.close()
        target.close()
        return url

    def drop(self, url: str) -> None:
        probe = self._probes.pop(url, None)
        if probe is not None:
            probe.close()
        path = _sqlite_path(url)
        for leftover in path.parent.glob(f"{path.name}*"):
            leftover.unlink()

    def writer_busy(self, url: str) -> bool:
        probe = self._probes.get(url)
        if probe is None:
            probe = sqlite3.connect(_sqlite_path(url), timeout=0, isolation_level=None)
            self._probes[url] = probe
        try:
            probe.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            return True
        probe.execute("ROLLBACK")
        return False


def _sqlite_path(url: str) -> Path:
    return Path(str(make_url(url).database))


class PostgresBackend(Backend):
    """A schema of its own per database, named in the connections too."""

    kind = "postgresql"

    def __init__(self, base_url: str) -> None:
        self.base = make_url(base_url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.base)

    def new(self) -> str:
        schema = f"hub_crash_{uuid.uuid4().hex[:12]}"
        with self.admin.begin() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(self.base).update_query_dict(
            {"options": f"-csearch_path={schema}", "application_name": schema}
        )
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def copy(self, source_url: str) -> str:
        url = self.new()
        engine = make_engine(url)
        try:
            migrate(engine)
            _copy_tables(engine, _schema(source_url), _schema(url))
        finally:
            engine.dispose()
        return url

    def drop(self, url: str) -> None:
        with self.admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{_schema(url)}" CASCADE'))

    def writer_busy(self, url: str) -> bool:
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name "
            "AND xact_start IS NOT NULL AND (backend_xid IS NOT NULL "
            "OR (state = 'active' AND query ILIKE 'INSERT INTO listings%'))"
        )
        with self.admin.connect() as connection:
            return bool(connection.scalar(query, {"name": _schema(url)}))

    def settle(self, url: str) -> None:
        """Wait for the server to end the killed job's backends (and so drop
        their locks), as it does once it reads their closed sockets."""
        query = text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :n"
        )
        deadline = time.monotonic() + 30
        with self.admin.connect() as connection:
            while connection.scalar(query, {"n": _schema(url)}):
                if time.monotonic() > deadline:
                    return
                connection.rollback()
                time.sleep(0.05)

    def close(self) -> None:
        self.admin.dispose()


def _schema(url: str) -> str:
    return str(make_url(url).query["application_name"])


def _copy_tables(engine: Engine, source: str, target: str) -> None:
    tables = MetaData()
    tables.reflect(engine)
    with engine.begin() as connection:
        for table in tables.sorted_tables:
            if table.name == "alembic_version":
                continue
            columns = ", ".join(f'"{c.name}"' for c in table.columns)
            connection.execute(
                text(
                    f'INSERT INTO "{target}"."{table.name}" ({columns}) '
                    f'SELECT {columns} FROM "{source}"."{table.name}"'
                )
            )
            for column in table.primary_key.columns:
                sequence = connection.scalar(
                    text("SELECT pg_get_serial_sequence(:table, :column)"),
                    {"table": f'"{target}"."{table.name}"', "column": column.name},
                )
                if sequence:
                    connection.execute(
                        text(
                            f"SELECT setval(:sequence, COALESCE((SELECT max("
                            f'"{column.name}") FROM "{target}"."{table.name}"), 0)'
                            " + 1, false)"
                        ),
                        {"sequence": sequence},
                    )


def make_backend(kind: str, folder: Path) -> Backend:
    if kind == "sqlite":
        return SqliteBackend(folder)
    base = os.environ.get("HUB_TEST_DATABASE_URL")
    if not base:
        raise SystemExit("postgresql needs HUB_TEST_DATABASE_URL")
    return PostgresBackend(base)
