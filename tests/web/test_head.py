"""HEAD answers as GET would, with the headers alone, on every GET route."""

from __future__ import annotations

from collections.abc import Generator

import anyio
import pytest

from hub.web import exports
from hub.web.head import HeadMiddleware
from storage.feed import record_change
from storage.models import Opportunity
from storage.session import transaction
from tests.web.feed_builders import golden

KEPT_HEADERS = ("content-type", "content-length", "etag", "location")


@pytest.fixture
def client(feed_db, make_client):
    for n in range(40):
        feed_db.add(f"opp_{n:02}", golden(f"Apprenticeship {n}"))
    feed_db.publish()
    with transaction(feed_db.factory) as session:
        merged = session.get(Opportunity, "opp_01")
        merged.state, merged.merged_into = "merged", "opp_00"
        record_change(session, merged, "merged", {"ids": ["opp_00"]})
    feed_db.publish()
    return make_client()


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/opportunities?limit=5",
        "/opportunities/opp_00",
        "/opportunities/opp_01",
        "/opportunities/opp_none",
        "/opportunities?radius_km=-1",
        "/feed?limit=3",
        "/sources",
        # as of a set time: the page says when it is of, to the second, and a
        # GET and a HEAD either side of a second would rightly differ
        "/coverage?as_of=2026-03-01T09:00:00Z",
        "/export.csv",
        "/export.jsonl",
        "/feed.atom",
        "/openapi.json",
        "/no-such-page",
    ],
)
def test_head_has_the_status_and_headers_of_get_and_no_body(client, path):
    got = client.get(path, follow_redirects=False)
    head = client.head(path, follow_redirects=False)

    assert head.status_code == got.status_code
    assert head.content == b""
    for name in KEPT_HEADERS:
        assert head.headers.get(name) == got.headers.get(name), name


def test_head_is_not_modified_for_the_etag_it_gave(client):
    etag = client.head("/opportunities").headers["etag"]
    assert (
        client.head("/opportunities", headers={"If-None-Match": etag}).status_code
        == 304
    )


def test_head_of_an_export_stops_at_its_first_chunk(client, monkeypatch):
    pulled: list[int] = []
    whole = exports.stream_export

    def counted(*args, **kwargs) -> Generator[bytes, None, None]:
        for chunk in whole(*args, **kwargs):
            pulled.append(len(chunk))
            yield chunk

    monkeypatch.setattr(exports, "CHUNK_CHARS", 200)
    monkeypatch.setattr(exports, "stream_export", counted)
    assert len(client.get("/export.jsonl").content) > 20 * 200
    made_for_get = len(pulled)
    pulled.clear()

    head = client.head("/export.jsonl")

    assert head.status_code == 200 and head.content == b""
    assert made_for_get > 20
    assert len(pulled) <= 2


def test_a_stream_is_stopped_when_headers_are_out():
    """Whether or not the server tells the app its client is gone."""
    made: list[int] = []
    sent: list[dict] = []

    async def endless(scope, receive, send):
        assert scope["method"] == "GET"
        await send({"type": "http.response.start", "status": 200, "headers": []})
        for n in range(1000):
            made.append(n)
            await send({"type": "http.response.body", "body": b"x", "more_body": True})

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "HEAD", "path": "/", "headers": []}
    anyio.run(HeadMiddleware(endless), scope, receive, send)

    assert len(made) == 2
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[1]["body"] == b"" and not sent[1].get("more_body", False)


def test_cors_allows_head(client):
    preflight = client.options(
        "/feed",
        headers={
            "Origin": "https://school.example.org",
            "Access-Control-Request-Method": "HEAD",
        },
    )
    assert preflight.status_code == 200
