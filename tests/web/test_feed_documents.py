"""The list page and the change feed copy the records publishing encoded,
and answer exactly as if each record were made at request time; a record
left behind by a change that publishing has not seen yet is never served."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select, update

from hub.web.rpde import to_micros
from storage.feed import record_change
from storage.models import Opportunity
from storage.models_feed import OpportunitySearch
from storage.records import RawJSON, encode, extend
from storage.session import transaction
from tests.web.feed_builders import golden, place

URLS = (
    "/opportunities?in_scope=any&limit=100",
    "/opportunities?near=TS4&radius_km=200&sort=distance",
    "/feed?limit=500",
    "/feed?limit=500&scope=all",
)


@pytest.fixture
def published(feed_db):
    feed_db.add("opp_a", golden("Café apprentice <b>", summary='He said "hi"\u2028'))
    feed_db.add("opp_b", golden("Summer school", locations=[place("TS4")]))
    feed_db.add("opp_c", golden("Porter", opportunity_type="job", in_scope=False))
    feed_db.publish()
    return feed_db


def answers(client) -> dict[str, bytes]:
    found = {}
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 200, response.text
        found[url] = response.content
    return found


def test_stored_records_answer_as_records_made_now(published, make_client):
    client = make_client(answer_cache_mb=0)
    stored = answers(client)
    with transaction(published.factory) as session:
        session.execute(update(OpportunitySearch).values(doc_change_no=None))
    assert answers(client) == stored


def test_every_search_row_holds_its_records_after_publishing(published):
    with published.factory() as session:
        rows = session.execute(
            select(OpportunitySearch, Opportunity.change_no).join(
                Opportunity, Opportunity.id == OpportunitySearch.opportunity_id
            )
        ).all()
    assert len(rows) == 3
    for row, change_no in rows:
        assert row.doc_change_no == change_no
        assert json.loads(row.summary_doc)["id"] == row.opportunity_id
        assert json.loads(row.feed_doc)["change_no"] == change_no


def test_a_change_not_yet_published_is_shown_as_it_now_is(published, make_client):
    # a merge seen by matching gives opp_a a new change before publishing runs
    with transaction(published.factory) as session:
        opportunity = session.get(Opportunity, "opp_a")
        record_change(session, opportunity, "merged", {"ids": ["opp_a", "opp_z"]})
        change_no, modified = opportunity.change_no, opportunity.modified
    client = make_client()
    listed = {
        item["id"]: item
        for item in client.get("/opportunities?in_scope=any").json()["items"]
    }
    assert listed["opp_a"]["modified"] == modified.isoformat()
    items = {i["id"]: i for i in client.get("/feed?limit=500").json()["items"]}
    assert items["opp_a"]["modified"] == to_micros(modified)
    assert items["opp_a"]["data"]["change_no"] == change_no
    assert items["opp_a"]["events"][0]["ids"] == ["opp_a", "opp_z"]
    published.publish()
    with published.factory() as session:
        row = session.get(OpportunitySearch, "opp_a")
        current = session.get(Opportunity, "opp_a").change_no
    assert row.doc_change_no == current


@pytest.mark.parametrize(
    ("document", "fields", "expected"),
    [
        pytest.param('{"a":1}', {"b": "x"}, {"a": 1, "b": "x"}, id="one more field"),
        pytest.param("{}", {"b": None}, {"b": None}, id="an empty object"),
        pytest.param('{"a":1}', {}, {"a": 1}, id="nothing added"),
        pytest.param(
            '{"a":"}"}', {"u": 'q"<'}, {"a": "}", "u": 'q"<'}, id="braces in text"
        ),
    ],
)
def test_extend(document, fields, expected):
    assert json.loads(extend(document, fields)) == expected


def test_encode_copies_raw_json_and_encodes_the_rest():
    value = {"items": [RawJSON('{"x":[1,2]}'), {"y": "é"}], "n": None, "t": (1,)}
    # other characters than ASCII are escaped: consumers parse ASCII faster
    assert encode(value) == '{"items":[{"x":[1,2]},{"y":"\\u00e9"}],"n":null,"t":[1]}'
