"""CRAWL-04: pagination that never ends, with a listing repeated across pages."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

PAGES = {1: ["L1", "L2", "L3"], 2: ["L4", "L5", "L6"], 3: ["L6", "L7"]}


def test_endless_pages_stop_when_a_page_brings_nothing_new(web):
    def opps(seen, count):
        query = parse_qs(urlsplit(seen.path).query)
        page = int(query.get("page", ["1"])[0])
        keys = PAGES.get(page, PAGES[3])
        return web.listings_page(keys, next_url=f"/opps?page={page + 1}")

    site = web.site({"*": opps})

    result = web.crawl([site.url("/opps?page=1")], max_pages=50)

    assert sorted(result.keys()) == [f"L{n}" for n in range(1, 8)]
    pages = [path for path in site.paths() if path.startswith("/opps")]
    assert pages == [f"/opps?page={n}" for n in range(1, 5)]
    assert result.stats["elapsed_time_seconds"] < 10


def test_paging_never_passes_max_pages(web):
    def opps(seen, count):
        page = int(parse_qs(urlsplit(seen.path).query)["page"][0])
        return web.listings_page([f"K{page}"], next_url=f"/opps?page={page + 1}")

    site = web.site({"*": opps})

    result = web.crawl([site.url("/opps?page=1")], max_pages=5)

    assert len(result.items) == 5
    assert max(int(p.rsplit("=", 1)[1]) for p in site.paths() if "page=" in p) == 5
