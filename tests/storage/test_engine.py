"""The engine's connection settings (PostgreSQL, when HUB_TEST_DATABASE_URL is set)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from storage.session import TEXT_AS_UTF8, as_utf8, make_engine


@pytest.fixture
def postgres_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    return database_url


def _workers_per_gather(url: str, *, parallel: bool) -> list[str]:
    """The setting each of three connections holds, read after a rolled-back
    transaction and a trip back to the pool."""
    engine = make_engine(url, pool_size=3, parallel=parallel)
    try:
        connections = [engine.connect() for _ in range(3)]
        seen = []
        for connection in connections:
            connection.execute(text("SELECT 1"))
            connection.rollback()
            seen.append(connection.scalar(text("SHOW max_parallel_workers_per_gather")))
        for connection in connections:
            connection.close()
        with engine.connect() as again:
            seen.append(again.scalar(text("SHOW max_parallel_workers_per_gather")))
        return seen
    finally:
        engine.dispose()


def test_a_serving_engine_runs_each_query_in_one_process(postgres_url: str) -> None:
    assert _workers_per_gather(postgres_url, parallel=False) == ["0"] * 4


def test_other_engines_keep_the_server_setting(postgres_url: str) -> None:
    assert "0" not in _workers_per_gather(postgres_url, parallel=True)


def test_text_as_utf8_is_the_statements_own(database_url: str) -> None:
    """With the option a TEXT column comes as the bytes PostgreSQL sent (SQLite
    still gives text); the next statement on the connection decodes again."""
    engine = make_engine(database_url)
    query = text("SELECT CAST('£5 – café' AS TEXT) AS doc")
    try:
        with engine.connect() as connection:
            raw = connection.execute(query, execution_options={TEXT_AS_UTF8: True})
            value = raw.scalar()
            after = connection.execute(query).scalar()
    finally:
        engine.dispose()

    if database_url.startswith("postgresql"):
        assert value == "£5 – café".encode()
    else:
        assert value == "£5 – café"
    assert as_utf8(value) == "£5 – café".encode()
    assert after == "£5 – café"
