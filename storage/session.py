"""The one engine and session factory, and schema migration on start."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from psycopg.abc import Buffer
from psycopg.adapt import Loader
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

T = TypeVar("T")
MIGRATIONS = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# a PostgreSQL server restarting refuses connections for a few seconds
CONNECT_RETRY_SECONDS = 30.0
# waits before each new try of a unit of work whose connection was lost
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
# SQLSTATEs of a server going away or not yet back: admin or crash shutdown,
# "cannot connect now" (starting up); class 08 is every connection exception
_GONE_STATES = {"57P01", "57P02", "57P03"}
# An execution option: on PostgreSQL the statement's TEXT columns come back as
# the UTF-8 bytes the server sent, not decoded (SQLite still gives str). For
# stored JSON copied as it is into an answer, decoding it and encoding it
# again would be most of the answer's cost.
TEXT_AS_UTF8 = "hub_text_as_utf8"


def make_engine(
    url: str, *, pool_size: int | None = None, parallel: bool = True
) -> Engine:
    """An engine for ``url``; SQLite files get WAL, a busy timeout and foreign keys.

    A ``postgresql://`` URL is driven by psycopg 3, with ``pool_size``
    connections kept open (SQLAlchemy's default, 5, when None): a server that
    answers more requests at once than that would open and close a connection
    for each one over it. ``parallel=False`` turns PostgreSQL's parallel query
    off on every connection: a server answering many small queries at once
    loses more to starting a query's workers (about 10 ms each) than they save,
    and they take the cores the other requests need.
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
        engine = create_engine(parsed, pool_pre_ping=True)
    else:
        engine = create_engine(parsed, pool_pre_ping=True, pool_size=pool_size)
    event.listen(engine, "do_connect", _connect_patiently)
    event.listen(engine, "before_cursor_execute", _text_as_utf8)
    if not parallel:
        event.listen(engine, "connect", _serial_queries)
    return engine


def _connect_patiently(
    dialect: Any, _record: Any, cargs: tuple[Any, ...], cparams: dict[str, Any]
) -> Any:
    """Connect, waiting out a server that is restarting (refusing or starting)."""
    deadline = time.monotonic() + CONNECT_RETRY_SECONDS
    delay = 0.2
    while True:
        try:
            return dialect.connect(*cargs, **cparams)
        except dialect.loaded_dbapi.OperationalError as exc:
            if not _server_gone(exc) or time.monotonic() + delay > deadline:
                raise
            logger.warning("The database refused a connection (%s); waiting", exc)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


class _Utf8Loader(Loader):
    def load(self, data: Buffer) -> bytes:
        return bytes(data)


def _text_as_utf8(
    _connection: Any,
    cursor: Any,
    _statement: str,
    _parameters: Any,
    context: Any,
    _executemany: bool,
) -> None:
    # a cursor is made for each statement, so the loader is this statement's
    if context is not None and context.execution_options.get(TEXT_AS_UTF8):
        cursor.adapters.register_loader("text", _Utf8Loader)


def as_utf8(value: str | bytes) -> bytes:
    """A TEXT value read with :data:`TEXT_AS_UTF8`, as UTF-8 on any database."""
    return value if isinstance(value, bytes) else value.encode()


def _serial_queries(dbapi_connection: Any, _record: Any) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET max_parallel_workers_per_gather = 0")
    dbapi_connection.commit()  # a setting made in a rolled-back transaction is undone


def _server_gone(error: BaseException) -> bool:
    """A driver error that says the server went away or is not back yet."""
    state = getattr(error, "sqlstate", None)
    if state is None:
        # psycopg gives no SQLSTATE when no server answered at all
        return type(error).__module__.startswith("psycopg")
    return state in _GONE_STATES or state.startswith("08")


def is_disconnect(error: BaseException) -> bool:
    """The database connection was lost (or could not be made again): the work
    in flight was rolled back and may be tried again whole."""
    if not isinstance(error, DBAPIError):
        return False
    return bool(error.connection_invalidated) or _server_gone(error.orig)


def retry_on_disconnect(work: Callable[[], T], what: str) -> T:
    """``work()``, run again from the start while the connection is lost.

    ``work`` must be one transaction that is safe to repeat (an upsert, a
    stage that rewrites what it derives): a lost connection rolled it back,
    or committed it just before, and either way a repeat ends the same.

    Raises:
        DBAPIError: the last error, once every retry is spent, or at once for
            any error that is not a lost connection.
    """
    for attempt, delay in enumerate((*RETRY_DELAYS, None), start=1):
        try:
            return work()
        except DBAPIError as exc:
            if delay is None or not is_disconnect(exc):
                raise
            logger.warning(
                "Lost the database connection while %s (try %d): %s; again in %.1f s",
                what,
                attempt,
                exc.orig,
                delay,
            )
            time.sleep(delay)
    raise AssertionError("unreachable")


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
        if connection.dialect.name == "sqlite":
            # pysqlite runs DDL outside any transaction: open one, so that a
            # migration killed part way leaves the schema as it was, not half made
            connection.exec_driver_sql("BEGIN")
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
        if not Path(url.database).is_file():  # named in full: it may be relative
            raise SchemaMissing(f"no database at {Path(url.database).resolve()}")
    if not inspect(engine).has_table("alembic_version"):
        raise SchemaMissing(f"no hub tables in {url.render_as_string()}")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose work commits on success and rolls back on any error."""
    with factory() as session, session.begin():
        yield session
