"""Fixtures of the feed tests: a small database, a gazetteer, a client."""

from __future__ import annotations

import csv
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.web.app import create_app
from storage.session import make_engine, migrate, session_factory
from tests.web.feed_builders import PLACES, FeedDb

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
    """A gazetteer of our own making with the outcodes of PLACES (and HX1)."""
    folder = tmp_path / "geo"
    folder.mkdir()
    districts = [
        ["Postcode", "Latitude", "Longitude", "Town/Area", "Region", "UK region"],
        *[[o, p[0], p[1], o, p[2], p[4]] for o, p in PLACES.items()],
    ]
    _write_csv(folder / "postcode_districts.csv", districts)
    authorities = [
        [
            "local-authority-code",
            "official-name",
            "nice-name",
            "gss-code",
            "nation",
            "region",
            "pop-2020",
            "lat",
            "long",
            "current-authority",
            "alt-names",
            "lower-or-unitary",
        ],
        *[
            [
                p[3],
                p[2],
                p[2],
                p[3],
                "England",
                p[4],
                "1000",
                p[0],
                p[1],
                "True",
                p[2],
                "True",
            ]
            for p in PLACES.values()
        ],
    ]
    _write_csv(folder / "local_authorities.csv", authorities)
    return folder


def _write_csv(path: Path, rows: list[list[Any]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as stream:
        csv.writer(stream).writerows(rows)


@pytest.fixture
def make_client(
    feed_db: FeedDb, geo_folder: Path
) -> Iterator[Callable[[], TestClient]]:
    clients: list[TestClient] = []

    def build() -> TestClient:
        client = TestClient(create_app(feed_db.url, geo_dir=str(geo_folder)))
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()
        client.app.state.hub.engine.dispose()
