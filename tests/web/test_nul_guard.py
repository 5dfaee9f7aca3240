"""A NUL in a request is refused before it reaches the database: PostgreSQL
cannot hold one, so it would otherwise fail there as a 500."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.web.conftest import TestClient
from tests.web.feed_builders import FeedDb, golden


@pytest.fixture
def client(feed_db: FeedDb, make_client: Callable[..., TestClient]) -> TestClient:
    feed_db.add("opp_1", golden("Data Apprentice"))
    feed_db.publish()
    return make_client()


@pytest.mark.parametrize(
    "query",
    ["q=data%00", "source=a%00b", "region=%00", "criteria=care%00", "q%00=x"],
)
def test_a_nul_in_a_filter_is_a_422_naming_it(client: TestClient, query: str):
    answer = client.get(f"/opportunities?{query}")

    assert answer.status_code == 422
    assert "NUL" in answer.json()["error"]["message"]


def test_a_nul_in_the_feed_position_is_a_422(client: TestClient):
    answer = client.get("/feed?afterTimestamp=1&afterId=opp%00")

    assert answer.status_code == 422


def test_a_nul_in_an_id_is_a_404(client: TestClient):
    assert client.get("/opportunities/opp_1%00").status_code == 404
    assert client.get("/opportunities/opp_1").status_code == 200


def test_a_nul_in_a_posted_form_is_a_422(client: TestClient):
    answer = client.post(
        "/review/signin",
        content=b"name=ann%00&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 422
    assert answer.json()["error"]["details"][0]["parameter"] == "name"


def test_a_form_without_a_nul_reaches_its_route(client: TestClient):
    answer = client.post(
        "/review/signin",
        content=b"name=ann&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert answer.status_code == 403  # the route itself: no CSRF token
    assert "CSRF" in answer.text
