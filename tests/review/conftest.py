"""Fixtures of the review tests: databases, a signed-in client, the app."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from dedupe.adapter import match_listings
from hub.web.review.app import build_review_app
from hub.web.review.settings import ReviewSettings
from storage.feed import publish_feed
from tests.review.review_builders import MATCHED, PASSWORD, add_listings, migrated

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Client:
    """httpx over the ASGI app, driven synchronously (no TestClient)."""

    def __init__(self, app: Any, base_url: str = "http://hub.test") -> None:
        self.app = app
        self._loop = asyncio.new_event_loop()
        transport = httpx.ASGITransport(app=app, client=("198.51.100.7", 5000))
        self._client = httpx.AsyncClient(transport=transport, base_url=base_url)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.get(url, **kwargs))

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(url, **kwargs))

    @property
    def cookies(self) -> httpx.Cookies:
        return self._client.cookies

    def csrf(self, url: str = "/review") -> str:
        found = CSRF.search(self.get(url).text)
        assert found, f"no CSRF token on {url}"
        return found.group(1)

    def sign_in(self, name: str, password: str = PASSWORD) -> httpx.Response:
        token = self.csrf("/review/signin")
        return self.post(
            "/review/signin",
            data={"csrf_token": token, "name": name, "password": password},
        )

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    made = migrated(database_url)
    yield made
    made.kw["bind"].dispose()


@pytest.fixture
def matched(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """A review pair (law-1, law-2) and a cluster of three (dm-1..3)."""
    add_listings(factory, MATCHED)
    match_listings(factory)
    publish_feed(factory)
    return factory


@pytest.fixture
def make_client(
    database_url: str, matched: sessionmaker[Session]
) -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def build(base_url: str = "http://hub.test", **settings: Any) -> Client:
        values: dict[str, Any] = {"recluster": "inline", **settings}
        app = build_review_app(database_url, ReviewSettings(**values))
        clients.append(Client(app, base_url))
        return clients[-1]

    yield build
    for client in clients:
        client.close()
        client.app.state.hub.close()
