"""Expiry policy: closing dates close; only two complete runs mark a listing gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.lifecycle import expire_listings
from storage.models import Source
from storage.session import transaction

pytestmark = pytest.mark.db

NOW = datetime.now(UTC)
KEYS = [f"opp-{i}" for i in range(12)]


def expire(store, now=NOW):
    with transaction(store.factory) as session:
        ids = [s.id for s in session.query(Source).all()]
        return expire_listings(session, now, ids)


@pytest.mark.parametrize(
    ("later_runs", "expected"),
    [
        pytest.param([("ok", 11)], "active", id="missing from one ok run"),
        pytest.param([("ok", 11), ("ok", 11)], "gone", id="missing from two ok runs"),
        pytest.param(
            [("ok", 11), ("partial", 11)], "active", id="the second run was partial"
        ),
        pytest.param([("ok", 11), ("failed", 0)], "active", id="the second run failed"),
        pytest.param(
            [("ok", 11), ("failed", 0), ("ok", 11)],
            "active",
            id="a failed run between breaks the pair",
        ),
        pytest.param(
            [("ok", 11), ("ok", 11), ("ok", 12)], "active", id="seen again: back"
        ),
        pytest.param(
            [("ok", 11), ("ok", 4)], "active", id="the second run was suspicious"
        ),
    ],
)
def test_gone_needs_two_complete_runs_in_a_row(store, later_runs, expected):
    store.source("brightpath")
    store.run("brightpath", KEYS)

    for status, seen in later_runs:
        store.run("brightpath", KEYS[:seen], status=status)
        expire(store)

    assert store.statuses("brightpath")["opp-11"] == expected


@pytest.mark.parametrize(
    "outage",
    [
        pytest.param("failed", id="errors three times (DNS, 429)"),
        pytest.param("empty", id="returns nothing three times"),
    ],
)
def test_an_outage_of_three_runs_leaves_every_listing_live(store, outage):
    """CRAWL-03: yesterday 12 open listings; three bad runs close none of them."""
    store.source("brightpath")
    store.run("brightpath", KEYS)
    with store.factory() as session:
        before = {k: v for k, v in store.statuses("brightpath").items()}
        seen_before = _last_seen(session)

    for _ in range(3):
        if outage == "failed":
            store.run("brightpath", [], status="failed")
        else:
            store.run("brightpath", [], status="ok")
        expire(store)

    assert before == dict.fromkeys(KEYS, "active")
    assert store.statuses("brightpath") == before
    with store.factory() as session:
        assert _last_seen(session) == seen_before


def _last_seen(session):
    from sqlalchemy import select

    from storage.models import Listing

    return dict(session.execute(select(Listing.source_key, Listing.last_seen)).all())


def test_a_passed_closing_date_closes_the_listing(store):
    store.source("brightpath")
    closing = {"opp-0": NOW - timedelta(hours=1), "opp-1": NOW + timedelta(days=3)}
    store.run("brightpath", KEYS[:3], closing=closing)

    summary = expire(store)

    statuses = store.statuses("brightpath")
    assert (statuses["opp-0"], statuses["opp-1"], statuses["opp-2"]) == (
        "closed",
        "active",
        "active",
    )
    assert sum(summary.closed.values()) == 1


def test_an_undated_listing_takes_its_opportunitys_closing_date(store):
    from storage.models import Listing, Opportunity, OpportunityMember

    store.source("brightpath")
    store.run("brightpath", ["opp-0"])
    with transaction(store.factory) as session:
        listing = session.query(Listing).one()
        session.add(
            Opportunity(id="opp-x", closing_date=NOW - timedelta(days=1), golden={})
        )
        session.flush()
        session.add(OpportunityMember(listing_id=listing.id, opportunity_id="opp-x"))

    expire(store)

    assert store.statuses("brightpath") == {"opp-0": "closed"}


def test_a_replay_judges_each_source_as_of_its_own_fetches(store):
    store.source("brightpath")
    store.run("brightpath", ["opp-0"], closing={"opp-0": NOW + timedelta(hours=1)})

    with transaction(store.factory) as session:
        summary = expire_listings(session, None, [1])

    assert store.statuses("brightpath") == {"opp-0": "active"}
    assert summary.closed == {}
