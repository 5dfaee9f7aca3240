"""Politeness and limits on the live crawl path, measured at the server."""

from __future__ import annotations

from flows.crawl import judge, source_status
from hub.settings import CONTACT_URL

PAGES = [f"/page/{n}" for n in range(8)]


def index_site(web, pages, delay=0.0):
    links = "".join(f'<a class="link" href="{path}">more</a>' for path in pages)
    routes = {"/": web.html(links)}
    for n, path in enumerate(pages):
        page = web.listings_page([f"p{n}"])
        page.delay = delay
        routes[path] = page
    return web.site(routes)


def test_at_most_two_requests_at_a_time_per_host_with_an_honest_user_agent(web):
    site = index_site(web, PAGES, delay=0.4)

    result = web.crawl([site.url("/")], {"AUTOTHROTTLE_ENABLED": False})

    assert site.max_active == 2
    assert len(result.items) == len(PAGES)
    agents = {seen.headers["User-Agent"] for seen in site.seen}
    assert agents == {f"OpportunityHubBot/0.1 (+{CONTACT_URL})"}


def test_requests_to_one_host_are_spaced_by_the_throttle(web):
    site = index_site(web, PAGES[:4])
    settings = {"AUTOTHROTTLE_START_DELAY": 0.6, "DOWNLOAD_DELAY": 0.3}

    web.crawl([site.url("/")], settings)

    starts = sorted(seen.started for seen in site.seen)
    assert len(starts) == 6
    # measured at the server, where arrival times jitter: the span, not each gap
    assert starts[-1] - starts[0] >= 0.3 * (len(starts) - 1) * 0.9
    assert site.max_active == 1


def test_a_response_over_the_size_limit_is_dropped_and_counted(web):
    big = web.listings_page([f"big{n}" for n in range(100)])
    streamed = web.Reply(200, big.body, big.headers, length=False)
    site = web.site(
        {
            "/": web.html(
                '<a class="link" href="/big">1</a><a class="link" href="/stream">2</a>'
                '<a class="link" href="/small">3</a>'
            ),
            "/big": big,
            "/stream": streamed,
            "/small": web.listings_page(["small"]),
        }
    )
    settings = {"DOWNLOAD_MAXSIZE": 2000, "DOWNLOAD_WARNSIZE": 1000}

    result = web.crawl([site.url("/")], settings)

    assert len(big.body) > 2000
    assert result.keys() == ["small"]
    assert result.stats["dropped/response_too_large"] == 2
    assert judge(result.stats, None) == "partial"


def test_links_that_are_not_http_are_counted_and_ignored(web):
    links = [
        "mailto:jobs@brightpath.example",
        "javascript:void(0)",
        "tel:+441234567890",
        "ftp://127.0.0.1/listings.csv",
        "file:///etc/passwd",
        "data:text/html,<li>x</li>",
    ]
    anchors = "".join(f'<a class="link" href="{link}">x</a>' for link in links)
    site = web.site({"/": web.html(anchors + web.listing("only"))})

    result = web.crawl([site.url("/")])

    assert result.keys() == ["only"]
    assert result.stats["ignored/non_http_url"] == len(links)
    assert source_status(result.stats, None) == "ok"
