"""Fixtures of the feed tests: a small database, a gazetteer, a client."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.web.app import create_app
from storage.session import make_engine, migrate, session_factory
from tests.web.feed_builders import FeedDb, write_geography

with warnings.catch_warnings():
    # starlette 1.10 deprecates its httpx-based TestClient (httpx2 is not installed)
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient


@pytest.fixture
def feed_db(database_url: str) -> Iterator[FeedDb]:
    engine = make_engine(database_url)
    migrate(engine)
    yield FeedDb(database_url, session_factory(engine))
    engine.dispose()


@pytest.fixture
def geo_folder(tmp_path: Path) -> Path:
    """A gazetteer of our own making with the outcodes of PLACES."""
    folder = tmp_path / "geo"
    folder.mkdir()
    return write_geography(folder)


@pytest.fixture
def make_client(
    feed_db: FeedDb, geo_folder: Path
) -> Iterator[Callable[..., TestClient]]:
    """Clients of apps as served; ``answer_cache_mb=0`` for one keeping none.
    Each reads the feed's change number on every request (a test changes the
    feed and asks again at once) unless ``feed_version_seconds`` says."""
    clients: list[TestClient] = []

    def build(**options: float) -> TestClient:
        options.setdefault("feed_version_seconds", 0)
        app = create_app(feed_db.url, geo_dir=str(geo_folder), **options)
        client = TestClient(app)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
        client.app.state.hub.close()
