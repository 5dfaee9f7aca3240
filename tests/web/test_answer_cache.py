"""Kept answers: the list page and the change feed answer from the cache exactly
as they would without one, through publishing, changes not yet published,
merges and closings; a recorded change is seen at once; 304s come from it too."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update

from hub.config import Config
from hub.exceptions import ConfigurationError
from hub.web.answers import CACHE_HEADER, AnswerCache
from storage.feed import feed_version, record_change
from storage.models import Listing, Opportunity, OpportunityMember
from storage.session import transaction
from tests.web.feed_builders import golden, place

URLS = (
    "/opportunities?in_scope=any&limit=100",
    "/opportunities?limit=2",
    "/opportunities?near=TS4&radius_km=200&sort=distance",
    "/feed?limit=500",
    "/feed?limit=1&scope=all",
)


def _edit_golden(feed_db, opportunity_id: str, **values) -> None:
    with transaction(feed_db.factory) as session:
        opportunity = session.get(Opportunity, opportunity_id)
        opportunity.golden = {**opportunity.golden, **values}


def _record_merge(feed_db) -> None:
    # matching saw a merge: a change recorded before publishing runs
    with transaction(feed_db.factory) as session:
        opportunity = session.get(Opportunity, "opp_a")
        record_change(session, opportunity, "merged", {"ids": ["opp_a", "opp_z"]})


def _close(feed_db, opportunity_id: str) -> None:
    members = select(OpportunityMember.listing_id).where(
        OpportunityMember.opportunity_id == opportunity_id
    )
    with transaction(feed_db.factory) as session:
        session.execute(
            update(Listing).where(Listing.id.in_(members)).values(status="gone")
        )


def _match_out_of_scope(feed_db) -> None:
    # matching rewrote an opportunity's golden record and scope: no change
    # number until publishing gives it one
    with transaction(feed_db.factory) as session:
        opportunity = session.get(Opportunity, "opp_b")
        opportunity.golden = {**opportunity.golden, "in_scope": False}
        opportunity.in_scope = False


STEPS = [
    ("published", lambda db: db.publish()),
    ("scope changed by matching, not yet published", _match_out_of_scope),
    ("then published", lambda db: db.publish()),
    ("a golden record edited, then published", lambda db: (
        _edit_golden(db, "opp_a", summary="Now paid"), db.publish())),
    ("a merge recorded, not yet published", _record_merge),
    ("then published", lambda db: db.publish()),
    ("a listing gone, then published", lambda db: (
        _close(db, "opp_b"), db.publish())),
]  # fmt: skip


@pytest.fixture
def feed(feed_db):
    feed_db.add("opp_a", golden("Café apprentice <b>"))
    feed_db.add("opp_b", golden("Summer school", locations=[place("TS4")]))
    feed_db.add("opp_c", golden("Porter", opportunity_type="job", in_scope=False))
    return feed_db


def test_kept_answers_equal_answers_made_afresh_at_every_step(feed, make_client):
    kept = make_client()
    for step, change in STEPS:
        change(feed)
        afresh = make_client(answer_cache_mb=0)
        for url in URLS:
            first, again = kept.get(url), kept.get(url)
            made = afresh.get(url)
            assert made.status_code == 200, (step, url, made.text)
            assert made.headers[CACHE_HEADER] == "miss"
            for answer in (first, again):
                assert (answer.content, answer.headers["ETag"]) == (
                    made.content,
                    made.headers["ETag"],
                ), (step, url)
            # kept when publishing stored each record in it; not when the
            # merged one, whose record is made now, is in it
            made_now = step.startswith("a merge") and b"opp_a" in made.content
            expected = "miss" if made_now else "hit"
            assert again.headers[CACHE_HEADER] == expected, (step, url)


def test_a_change_recorded_is_seen_by_the_next_request(feed, make_client):
    feed.publish()
    client = make_client()
    url = "/opportunities?in_scope=any"
    before = client.get(url)
    assert client.get(url).headers[CACHE_HEADER] == "hit"
    _edit_golden(feed, "opp_a", title="Renamed apprenticeship")
    feed.publish()

    after = client.get(url)

    assert after.headers[CACHE_HEADER] == "miss"
    assert after.content != before.content
    titles = {item["id"]: item["title"] for item in after.json()["items"]}
    assert titles["opp_a"] == "Renamed apprenticeship"


def test_a_held_etag_gets_304_from_a_kept_answer(feed, make_client):
    feed.publish()
    client = make_client()
    etag = client.get("/feed").headers["ETag"]

    unchanged = client.get("/feed", headers={"If-None-Match": etag})

    assert unchanged.status_code == 304
    assert unchanged.headers[CACHE_HEADER] == "hit"
    assert unchanged.headers["ETag"] == etag
    assert unchanged.content == b""
    assert client.get("/feed", headers={"If-None-Match": '"other"'}).status_code == 200


def test_bad_parameters_are_refused_before_anything_is_kept(feed, make_client):
    feed.publish()
    client = make_client()
    for _ in range(2):
        response = client.get("/opportunities?radius_km=-1&near=TS4")
        assert response.status_code == 422
        assert CACHE_HEADER not in response.headers


def test_the_version_is_the_last_change_number(feed):
    with feed.factory() as session:
        assert feed_version(session) == 0
    feed.publish()
    with feed.factory() as session:
        assert feed_version(session) == 3


def test_the_cache_keeps_within_its_bytes_least_recently_used_first():
    cache = AnswerCache(max_bytes=10)
    cache.answer(1, "/a", "aaaa", keep=True)
    cache.answer(1, "/b", "bbbb", keep=True)
    assert cache.get(1, "/a") is not None  # /b is now the least recently used
    cache.answer(1, "/c", "cccc", keep=True)

    assert cache.get(1, "/b") is None
    assert cache.get(1, "/a").body == b"aaaa"
    assert cache.get(1, "/c").kept


def test_a_newer_version_drops_the_older_answers():
    cache = AnswerCache(max_bytes=1000)
    cache.answer(1, "/a", "old", keep=True)
    cache.answer(2, "/b", "new", keep=True)
    cache.answer(1, "/a", "late", keep=True)  # made from an older read: not kept

    assert cache.get(1, "/a") is None
    assert cache.get(2, "/a") is None
    assert cache.get(2, "/b").body == b"new"
    assert len(cache) == 1


@pytest.mark.parametrize(
    ("max_bytes", "body", "keep"),
    [
        pytest.param(0, "x", True, id="a cache of 0 bytes keeps nothing"),
        pytest.param(3, "four", True, id="an answer larger than the cache"),
        pytest.param(100, "x", False, id="an answer made from a golden record"),
    ],
)
def test_answers_not_kept(max_bytes, body, keep):
    cache = AnswerCache(max_bytes)

    made = cache.answer(1, "/a", body, keep=keep)

    assert made.body == body.encode() and not made.kept
    assert cache.get(1, "/a") is None


@pytest.mark.parametrize("value", ["-1", "lots", "1.5"])
def test_a_bad_cache_size_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv("HUB_ANSWER_CACHE_MB", value)

    with pytest.raises(ConfigurationError, match="HUB_ANSWER_CACHE_MB"):
        Config.from_env()


def test_a_cache_size_of_0_turns_it_off(monkeypatch):
    monkeypatch.setenv("HUB_ANSWER_CACHE_MB", "0")

    assert Config.from_env().answer_cache_mb == 0


@pytest.mark.parametrize("path", ["/export.jsonl", "/export.csv", "/feed.atom"])
def test_an_export_changes_only_with_its_etag(feed, make_client, path):
    """Matching rewrites golden records before publishing numbers the change:
    until then an export answers as last published, as its ETag says."""
    feed.publish()
    client = make_client()
    before = client.get(path)

    _edit_golden(feed, "opp_a", title="Renamed by matching")
    _match_out_of_scope(feed)
    waiting = client.get(path)
    feed.publish()
    after = client.get(path)

    assert waiting.headers["ETag"] == before.headers["ETag"]
    assert waiting.content == before.content
    assert after.headers["ETag"] != before.headers["ETag"]
    assert b"Renamed by matching" in after.content
    assert b"Summer school" in before.content and b"Summer school" not in after.content


def test_requests_for_one_url_meanwhile_wait_for_one_making():
    import threading

    cache = AnswerCache(1 << 20)
    made, arrived = [], threading.Barrier(2, timeout=5)
    started = threading.Event()

    def make():
        made.append(1)
        started.set()
        arrived.wait()  # the second request has come in while this one makes
        return '{"items":[]}', True

    answers = []

    def request(first: bool):
        if not first:
            started.wait(5)
            threading.Timer(0.2, arrived.wait).start()
        answers.append(cache.get_or_make(7, "/opportunities", make))

    threads = [threading.Thread(target=request, args=(f,)) for f in (True, False)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(made) == 1
    assert len({a.etag for a in answers}) == 1 and len(answers) == 2
    assert sorted(a.kept for a in answers) == [False, True]


def test_a_cache_keeping_nothing_makes_every_answer():
    cache = AnswerCache(0)
    made = []

    def make():
        made.append(1)
        return '{"items":[]}', True

    cache.get_or_make(1, "/feed", make)
    cache.get_or_make(1, "/feed", make)

    assert len(made) == 2 and len(cache) == 0
