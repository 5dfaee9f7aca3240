"""The run report's numbers, as `hub run` and `/sources` show them."""

from __future__ import annotations

from hub.cli import crawl_counts

STATS = {
    "downloader/response_count": 7,
    "store/new": 3,
    "store/updated": 1,
    "store/unchanged": 2,
    "replay/not_recorded": 4,
    "dropped/no_title": 2,
    "dropped/bad_url": 1,
    "unparsed/pay": 5,
}


def test_found_is_what_was_stored_plus_what_was_dropped():
    counts = crawl_counts(STATS)

    assert counts == {
        "responses": 7,
        "new": 3,
        "updated": 1,
        "unchanged": 2,
        "not_recorded": 4,
        "dropped": 3,
        "found": 9,
        "dropped_text": "bad_url: 1, no_title: 2",
    }


def test_an_empty_run_counts_zero_everywhere():
    counts = crawl_counts({})

    assert counts["found"] == 0 and counts["dropped_text"] == "0"
