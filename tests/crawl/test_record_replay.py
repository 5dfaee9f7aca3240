"""A live crawl's recording replays to the same listings, with nothing sent."""

from __future__ import annotations

from spiders.recording import Recording


def test_a_recorded_live_crawl_replays_to_the_same_listings(web, tmp_path):
    pages = {
        "/opps?page=1": web.listings_page(["A1", "A2"], next_url="/opps?page=2"),
        "/opps?page=2": web.listings_page(["A3"]),
    }
    site = web.site(pages)
    warc = tmp_path / "live.warc.gz"

    live = web.crawl([site.url("/opps?page=1")], settings={"HUB_RECORD": str(warc)})
    requests_seen = len(site.paths())
    replayed = web.crawl([site.url("/opps?page=1")], settings={"HUB_REPLAY": str(warc)})

    assert sorted(live.keys()) == ["A1", "A2", "A3"]
    assert sorted(replayed.keys()) == sorted(live.keys())
    assert len(site.paths()) == requests_seen
    assert live.stats["record/written"] >= 2
    assert site.url("/opps?page=2") in Recording(warc).urls()
