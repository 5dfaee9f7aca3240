"""Shared fixtures: databases to test storage on, and the shared real data."""

from __future__ import annotations

import gc
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RECORDING = SHARED_DATA / "web" / "recorded.warc.gz"
GEO_DIR = SHARED_DATA / "geo"


@pytest.fixture(autouse=True)
def _everything_collectable_again() -> Iterator[None]:
    """A server's worker freezes what it has loaded, for its life
    (``hub.web.context.keep_out_of_collection``); a test process serves many
    apps, so each test ends with every object collectable again."""
    yield
    gc.unfreeze()


def _backends() -> list[pytest.param]:
    backends = [pytest.param("sqlite", id="sqlite")]
    if os.getenv("HUB_TEST_DATABASE_URL"):
        backends.append(pytest.param("postgresql", id="postgresql"))
    return backends


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    yield from _empty_database(request.param, tmp_path)


@pytest.fixture(scope="module", params=_backends())
def module_database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """As ``database_url``, shared by the tests of one module."""
    yield from _empty_database(request.param, tmp_path_factory.mktemp("db"))


def _empty_database(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'hub.sqlite'}"
        return
    yield from _postgres_schema(os.environ["HUB_TEST_DATABASE_URL"])


def _postgres_schema(base_url: str) -> Iterator[str]:
    schema = f"hub_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(make_url(base_url).set(drivername="postgresql+psycopg"))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="session")
def recording() -> Path:
    if not RECORDING.is_file():
        pytest.skip(f"the shared recording is absent ({RECORDING.name})")
    return RECORDING


@pytest.fixture(scope="session")
def geo_dir() -> Path:
    if not GEO_DIR.is_dir():
        pytest.skip("the shared geography is absent")
    return GEO_DIR
