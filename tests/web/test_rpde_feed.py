from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update

import storage.feed
from hub.web.rpde import to_micros
from storage.feed import record_change
from storage.models import FeedChange, Opportunity, OpportunityMember
from storage.session import transaction
from tests.web.feed_builders import T0, golden


def read_feed(client, url="/feed?limit=3"):
    pages = []
    while True:
        page = client.get(url)
        assert page.status_code == 200, page.text
        pages.append(page.json())
        if not page.json()["items"]:
            return pages, url
        url = page.json()["next"]


def items_of(pages):
    return [item for page in pages for item in page["items"]]


@pytest.fixture
def merged_feed(feed_db):
    for name in ("opp_x", "opp_y", "opp_z", "opp_gone"):
        feed_db.add(name, golden(f"Apprenticeship {name}"))
    feed_db.add("opp_job", golden("Porter", opportunity_type="job", in_scope=False))
    feed_db.add("opp_left", golden("Apprenticeship, then a job"))
    feed_db.publish()
    with transaction(feed_db.factory) as session:
        left = session.get(Opportunity, "opp_left")
        left.in_scope = False
        left.golden = {**left.golden, "in_scope": False, "opportunity_type": "job"}
        survivor = session.get(Opportunity, "opp_y")
        survivor.state, survivor.merged_into = "merged", "opp_x"
        record_change(session, survivor, "merged", {"ids": ["opp_x"]})
        session.execute(
            delete(OpportunityMember).where(
                OpportunityMember.opportunity_id == "opp_gone"
            )
        )
    feed_db.publish()
    return feed_db


def test_items_run_in_modified_then_id_order(merged_feed, make_client):
    pages, _ = read_feed(make_client())
    keys = [(item["modified"], item["id"]) for item in items_of(pages)]
    assert keys == sorted(keys)
    assert len({item["id"] for item in items_of(pages)}) == len(keys) == 5


def test_the_published_feed_leaves_out_what_was_never_in_scope(
    merged_feed, make_client
):
    """It never sent them, so it owes no tombstone; scope=all has them."""
    published, _ = read_feed(make_client())
    everything, _ = read_feed(make_client(), "/feed?scope=all")

    assert "opp_job" not in {item["id"] for item in items_of(published)}
    assert "opp_job" in {item["id"] for item in items_of(everything)}


@pytest.mark.parametrize(
    ("opportunity_id", "state", "extra"),
    [
        pytest.param("opp_x", "updated", {}, id="live"),
        pytest.param("opp_y", "deleted", {"merged_into": "opp_x"}, id="merged-away"),
        pytest.param("opp_gone", "deleted", {}, id="no-members-left"),
        pytest.param("opp_left", "deleted", {}, id="out-of-scope-now"),
    ],
)
def test_item_states(merged_feed, make_client, opportunity_id, state, extra):
    pages, _ = read_feed(make_client())
    item = next(i for i in items_of(pages) if i["id"] == opportunity_id)
    assert item["state"] == state
    assert (item["data"] is None) == (state == "deleted")
    for key, value in extra.items():
        assert item[key] == value


def test_merge_event_names_the_ids_involved(merged_feed, make_client):
    pages, _ = read_feed(make_client())
    item = next(i for i in items_of(pages) if i["id"] == "opp_y")
    assert [(e["kind"], e["ids"]) for e in item["events"]] == [("merged", ["opp_x"])]


def test_scope_all_shows_out_of_scope_as_updates(merged_feed, make_client):
    pages, _ = read_feed(make_client(), "/feed?scope=all")
    item = next(i for i in items_of(pages) if i["id"] == "opp_job")
    assert item["state"] == "updated"
    assert item["data"]["title"] == "Porter"


def test_last_page_is_empty_and_points_at_itself(merged_feed, make_client):
    client = make_client()
    pages, last_url = read_feed(client)
    assert pages[-1]["items"] == []
    assert pages[-1]["next"] == last_url
    assert pages[-1]["next"].startswith("http://testserver/feed?")
    assert all(page["license"].startswith("https://") for page in pages)


def test_tombstones_outlive_seven_days(merged_feed, make_client):
    eight_days_ago = storage.feed.utcnow() - timedelta(days=8)
    with transaction(merged_feed.factory) as session:
        session.execute(
            update(Opportunity)
            .where(Opportunity.id == "opp_gone")
            .values(modified=eight_days_ago)
        )
    merged_feed.publish()
    pages, _ = read_feed(make_client())
    item = next(i for i in items_of(pages) if i["id"] == "opp_gone")
    assert item["state"] == "deleted"
    assert item["modified"] == to_micros(eight_days_ago)


@pytest.mark.parametrize(
    "clock",
    [
        pytest.param(lambda n: T0, id="frozen-clock"),
        pytest.param(lambda n: T0 - timedelta(seconds=n), id="clock-running-back"),
    ],
)
def test_stamps_strictly_increase_whatever_the_clock(feed_db, monkeypatch, clock):
    feed_db.add("opp_a", golden("Apprenticeship A"))
    calls = iter(range(10_000))
    monkeypatch.setattr(storage.feed, "utcnow", lambda: clock(next(calls)))
    for _ in range(3):  # three transactions of five changes each
        with transaction(feed_db.factory) as session:
            opportunity = session.get(Opportunity, "opp_a")
            for _ in range(5):
                record_change(session, opportunity, "updated")
    with feed_db.factory() as session:
        stamps = list(
            session.scalars(select(FeedChange.at).order_by(FeedChange.change_no))
        )
    assert len(stamps) == 15
    assert all(a < b for a, b in zip(stamps, stamps[1:], strict=False))


@pytest.mark.slow
def test_a_reader_following_next_sees_every_change_once_in_order(feed_db, make_client):
    """Two writers change opportunities while a reader pages the feed."""
    ids = [f"opp_{n:02d}" for n in range(12)]
    for opportunity_id in ids:
        feed_db.add(opportunity_id, golden(f"Apprenticeship {opportunity_id}"))
    feed_db.publish()
    done = threading.Event()
    errors: list[BaseException] = []

    def write(seed: int) -> None:
        chooser = random.Random(seed)
        try:
            for n in range(40):
                with transaction(feed_db.factory) as session:
                    opportunity = session.get(Opportunity, chooser.choice(ids))
                    opportunity.golden = {**opportunity.golden, "n": f"{seed}-{n}"}
                    record_change(session, opportunity, "updated")
                time.sleep(chooser.random() / 200)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    writers = [threading.Thread(target=write, args=(seed,)) for seed in (1, 2)]
    for writer in writers:
        writer.start()
    seen = _follow(make_client(), writers, done)
    assert not errors
    keys = [(item["modified"], item["id"]) for item in seen]
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    with feed_db.factory() as session:
        final = dict(
            session.execute(select(Opportunity.id, Opportunity.modified)).tuples().all()
        )
        stamps = set(
            session.execute(select(FeedChange.opportunity_id, FeedChange.at)).tuples()
        )
    latest = {item["id"]: item["modified"] for item in seen}
    assert latest == {i: to_micros(m) for i, m in final.items()}
    assert {(i["id"], i["modified"]) for i in seen} <= {
        (i, to_micros(at)) for i, at in stamps
    }
    assert len(seen) > len(ids)  # the reader saw changes made while it read


def _follow(client, writers, done):
    seen, url = [], "/feed?limit=4"
    while True:
        writing = any(w.is_alive() for w in writers)
        page = client.get(url).json()
        seen += page["items"]
        if not page["items"]:
            if not writing:
                return seen
            time.sleep(0.005)
        url = page["next"]
