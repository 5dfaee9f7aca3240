"""CRAWL-05: robots.txt's edge statuses, and blocked runs told apart from empty ones."""

from __future__ import annotations

import pytest

from flows.crawl import judge, run_warnings, source_status

KEYS = ["r1", "r2", "r3"]
APPLY = [f"/apply/{key}" for key in KEYS]


def robots_reply(web, kind, value):
    if kind == "status":
        return web.Reply(value, b"<html>error</html>", {"Content-Type": "text/html"})
    if kind == "redirect":
        return web.redirect(value, status=301)
    return web.Reply(200, value.encode(), {"Content-Type": "text/plain"})


def site_with_robots(web, robots):
    return web.site(
        {
            "/robots.txt": robots_reply(web, *robots),
            "/opportunities": web.listings_page(KEYS, apply=True),
            "/login": web.html("<form>Sign in</form>"),
            **{path: web.html("<form>Apply</form>") for path in APPLY},
        }
    )


@pytest.mark.parametrize(
    ("robots", "listings", "applied", "status", "warnings"),
    [
        pytest.param(
            ("status", 404), 3, APPLY, "ok", [], id="h1: 404 means no restrictions"
        ),
        pytest.param(
            ("text", "User-agent: *\nDisallow: /apply/\n"),
            3,
            [],
            "ok",
            [],
            id="h2: 200 disallowing /apply/ keeps the listings, never fetches /apply/",
        ),
        pytest.param(
            ("status", 503),
            0,
            [],
            "robots_unavailable",
            [],
            id="h3: 503 means nothing fetched for now",
        ),
        pytest.param(
            ("redirect", "/login"),
            3,
            APPLY,
            "ok",
            ["robots_not_text"],
            id="h4: a redirect to an HTML page gives no rules, with a warning",
        ),
    ],
)
def test_robots_txt_status(web, robots, listings, applied, status, warnings):
    site = site_with_robots(web, robots)

    result = web.crawl([site.url("/opportunities")], follow_apply=True)

    assert len(result.items) == listings
    assert sorted(p for p in site.paths() if p.startswith("/apply/")) == applied
    assert source_status(result.stats, None) == status
    assert run_warnings(result.stats) == warnings
    # the apply URL is kept as a link whether or not it may be fetched
    assert all(item["apply_url"].endswith(tuple(APPLY)) for item in result.items)
    if status == "robots_unavailable":
        assert "/opportunities" not in site.paths()
        assert judge(result.stats, None) == "failed"


def test_blocked_by_robots_is_told_apart_from_no_listings(web):
    blocked = web.site({"/robots.txt": web.Reply(200, b"User-agent: *\nDisallow: /\n")})
    empty = web.site({"/opportunities": web.listings_page([])})

    by_robots = web.crawl([blocked.url("/opportunities")])
    nothing = web.crawl([empty.url("/opportunities")])

    assert source_status(by_robots.stats, None) == "blocked_by_robots"
    assert judge(by_robots.stats, None) == "failed"
    assert source_status(nothing.stats, None) == "no_listings"
    assert judge(nothing.stats, None) == "partial"
