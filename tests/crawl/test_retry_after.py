"""CRAWL-03: Retry-After honoured per host, backoff between retries, DNS failures."""

from __future__ import annotations

from flows.crawl import describe_failure, judge, source_status

KEYS = [f"b{n}" for n in range(1, 13)]


def rate_limited(web, retry_after, times):
    listings = web.listings_page(KEYS)

    def opportunities(seen, count):
        if count <= times:
            return web.Reply(429, b"slow down", {"Retry-After": str(retry_after)})
        return listings

    return web.site({"/opportunities": opportunities})


def test_no_request_reaches_the_host_within_retry_after(web):
    site = rate_limited(web, retry_after=2, times=2)

    result = web.crawl([site.url("/opportunities")])

    first, second, third = site.times("/opportunities")
    assert second - first >= 2.0
    assert third - second >= 2.0
    assert sorted(result.keys()) == sorted(KEYS)
    assert result.stats["retry_after/honoured"] == 2
    assert result.stats["downloader/response_status_count/429"] == 2
    assert judge(result.stats, None) == "ok"


def test_a_retry_after_beyond_the_cap_leaves_the_host_for_the_next_run(web):
    site = rate_limited(web, retry_after=120, times=10)

    result = web.crawl([site.url("/opportunities")], {"HUB_RETRY_AFTER_MAX": 5})

    assert site.paths().count("/opportunities") == 1
    assert result.seconds < 30
    assert source_status(result.stats, None) == "rate_limited"
    # partial: the 12 listings from yesterday must stay open
    assert judge(result.stats, None) == "partial"
    assert "429: 1" in describe_failure(result.stats, "partial")


def test_retries_back_off(web):
    page = web.listings_page(["x1"])

    def flaky(seen, count):
        return web.Reply(500, b"oops") if count <= 2 else page

    site = web.site({"/opportunities": flaky})

    result = web.crawl([site.url("/opportunities")], {"HUB_RETRY_BACKOFF_BASE": 0.5})

    first, second, third = site.times("/opportunities")
    assert second - first >= 0.5
    assert third - second >= 1.0
    assert result.keys() == ["x1"]
    assert result.stats["retry/count"] == 2


def test_a_source_whose_name_never_resolves_failed_to_fetch(web):
    settings = {"TWISTED_DNS_RESOLVER": "__main__.FailingResolver", "RETRY_TIMES": 1}

    result = web.crawl(["http://northfield.example/opportunities"], settings)

    assert result.items == []
    assert source_status(result.stats, None) == "fetch_failed"
    assert judge(result.stats, None) == "failed"
    assert describe_failure(result.stats, "failed").startswith("could not resolve host")
