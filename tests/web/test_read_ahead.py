"""The change feed's next page made while the consumer reads the one it has."""

from __future__ import annotations

import threading

import pytest

from hub.web.ahead import ReadAhead
from hub.web.rpde import RpdePage
from storage.feed import record_change
from storage.models import Opportunity
from storage.session import transaction
from tests.web.feed_builders import golden


@pytest.fixture
def ten_published(feed_db):
    for n in range(10):
        feed_db.add(f"opp_{n:02d}", golden(f"Apprenticeship {n}"))
    feed_db.publish()
    return feed_db


def _pages(client, url="/feed?limit=3"):
    bodies = []
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        bodies.append(page.content)
        if not page.json()["items"]:
            return bodies
        url = page.json()["next"]


def _settled(client) -> ReadAhead:
    """The client's read-ahead, once the page it is making is made."""
    ahead = client.app.state.hub.ahead
    with ahead._lock:
        pending = list(ahead._pages.values())
    for future in pending:
        future.exception(timeout=30)
    return ahead


def test_a_reader_following_next_gets_pages_made_ahead(ten_published, make_client):
    """Each page after the first was made ahead, and each is, byte for byte,
    the page a server making nothing ahead gives."""
    client = make_client(answer_cache_mb=0)
    plain = make_client(answer_cache_mb=0)
    plain.app.state.hub.ahead = ReadAhead(slots=0)
    url, ahead_bodies = "/feed?limit=3", []
    while True:
        body = client.get(url)
        ahead_bodies.append(body.content)
        _settled(client)
        if not body.json()["items"]:
            break
        url = body.json()["next"]

    assert ahead_bodies == _pages(plain)
    assert client.app.state.hub.ahead.handed == len(ahead_bodies) - 1 == 4


def test_a_page_made_ahead_is_not_handed_over_after_a_change(
    ten_published, make_client
):
    client = make_client(answer_cache_mb=0)
    first = client.get("/feed?limit=3").json()
    ahead = _settled(client)
    with transaction(ten_published.factory) as session:
        opportunity = session.get(Opportunity, "opp_01")
        opportunity.golden = {**opportunity.golden, "title": "Renamed"}
        record_change(session, opportunity, "updated")

    second = client.get(first["next"]).json()

    assert ahead.handed == 0
    assert [item["id"] for item in second["items"]] == ["opp_03", "opp_04", "opp_05"]
    last = _pages(client, first["next"])[-2]
    assert b"Renamed" in last  # the change shows at the feed's end


def _page(body: str = "{}", stored: bool = True) -> RpdePage:
    return RpdePage(body.encode(), 0, None, stored=stored)


def test_a_busy_worker_makes_nothing_ahead() -> None:
    ahead = ReadAhead()
    made = threading.Event()
    with ahead.answering(), ahead.answering():
        ahead.start(1, "/feed?next", lambda: made.set() or _page())

    assert ahead.take(1, "/feed?next") is None and not made.is_set()


def test_only_a_stored_page_of_the_same_change_is_handed_over() -> None:
    ahead = ReadAhead()
    with ahead.answering():
        ahead.start(1, "/a", lambda: _page('{"a":1}'))
        ahead.start(1, "/b", lambda: _page(stored=False))
        ahead.start(1, "/c", lambda: _page('{"c":1}'))

    assert ahead.take(2, "/c") is None  # a newer change: made afresh
    assert ahead.take(1, "/b") is None  # made in part from a golden record
    taken = ahead.take(1, "/a")
    assert taken is not None and taken.body == b'{"a":1}'
    assert ahead.take(1, "/a") is None  # handed over once
    ahead.close()


def test_a_page_that_failed_ahead_is_made_again_by_the_request() -> None:
    ahead = ReadAhead()

    def broken() -> RpdePage:
        raise RuntimeError("the database went away")

    with ahead.answering():
        ahead.start(1, "/a", broken)

    assert ahead.take(1, "/a") is None
    ahead.close()


def test_no_more_pages_wait_than_there_are_slots() -> None:
    ahead = ReadAhead(slots=2)
    release = threading.Event()
    with ahead.answering():
        ahead.start(1, "/a", lambda: release.wait(30) and _page("a"))
        ahead.start(1, "/b", lambda: _page("b"))
        ahead.start(1, "/c", lambda: _page("c"))
    release.set()

    assert ahead.take(1, "/a") is None  # the oldest went first
    assert [ahead.take(1, u).body for u in ("/b", "/c")] == [b"b", b"c"]
    ahead.close()


def test_a_closed_read_ahead_makes_nothing_more() -> None:
    """A request still in hand when the server shuts down starts no thread."""
    ahead = ReadAhead()
    ahead.close()
    made = threading.Event()
    with ahead.answering():
        ahead.start(1, "/a", lambda: made.set() or _page())

    assert ahead.take(1, "/a") is None and not made.is_set()
    assert ahead._pool is None
