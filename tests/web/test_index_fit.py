"""Derived search rows always fit their columns, whatever the scraped text."""

from __future__ import annotations

from storage.feed import _fitted
from storage.models_feed import OpportunitySearch, OpportunityTag


def test_long_scraped_values_are_cut_to_the_column():
    rows = [{"opportunity_id": "opp_1", "mode": "<script>" * 10, "state": "live"}]

    (row,) = _fitted(OpportunitySearch.__table__, rows)

    assert len(row["mode"]) == OpportunitySearch.__table__.c.mode.type.length
    assert row["state"] == "live"


def test_tags_cut_to_one_value_are_kept_once():
    long = "x" * 500
    rows = [
        {"tag": long + "a", "opportunity_id": "opp_1"},
        {"tag": long + "b", "opportunity_id": "opp_1"},
        {"tag": "short", "opportunity_id": "opp_1"},
    ]

    assert len(_fitted(OpportunityTag.__table__, rows)) == 2
