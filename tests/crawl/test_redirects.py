"""CRAWL-02 and the address guard: redirects on the live crawl path."""

from __future__ import annotations

import pytest

from flows.crawl import judge

# where a redirect (or a start URL) may try to send the crawler; {port} is the
# test server's own port, so a request that got through would be seen there
REFUSED = [
    pytest.param("http://169.254.169.254/latest/meta-data/", "metadata", id="metadata"),
    pytest.param("http://10.0.0.1/admin", "private", id="private 10/8"),
    pytest.param("http://0x7f000001:{port}/secret", "loopback", id="hex IPv4"),
    pytest.param("http://2130706433:{port}/secret", "loopback", id="decimal IPv4"),
    pytest.param("http://0177.0.0.1:{port}/secret", "loopback", id="octal IPv4"),
    pytest.param("http://127.1:{port}/secret", "loopback", id="short IPv4"),
    pytest.param("http://[::ffff:127.0.0.1]:{port}/secret", "loopback", id="mapped"),
    pytest.param("http://[::1]:{port}/secret", "loopback", id="IPv6 loopback"),
    pytest.param("http://localhost:{port}/secret", "loopback", id="a name for it"),
]


def test_consent_redirects_to_self_are_followed_and_a_retry_never_doubles(web):
    youth = web.listings_page(["youth"], title="Youth Panel Member")
    intern = web.listings_page(["intern"], title="Events Intern")

    def consent(seen, count):
        if "consent=1" in seen.headers.get("Cookie", ""):
            return youth
        return web.redirect("/vacancies/123", **{"Set-Cookie": "consent=1; Path=/"})

    def flaky(seen, count):
        if count == 1:
            return web.Reply(503, b"busy")
        return web.redirect("/vacancies/200/")

    def gated(seen, count):
        if "session=1" in seen.headers.get("Cookie", ""):
            return web.listings_page(["gated"], title="Gated Mentor")
        return web.redirect("/gate?next=/jobs/7")

    site = web.site(
        {
            "/vacancies/123": consent,
            "/vacancies/200": flaky,
            "/vacancies/200/": intern,
            "/jobs/7": gated,
            "/gate?next=/jobs/7": web.redirect(
                "/jobs/7", **{"Set-Cookie": "session=1; Path=/"}
            ),
        }
    )
    starts = ["/vacancies/123", "/vacancies/200", "/vacancies/200/", "/jobs/7"]

    result = web.crawl([site.url(path) for path in starts])

    assert sorted(item["title"] for item in result.items) == [
        "Events Intern",
        "Gated Mentor",
        "Youth Panel Member",
    ]
    assert site.paths().count("/vacancies/123") == 2
    assert site.paths().count("/vacancies/200/") == 1
    assert site.paths().count("/jobs/7") == 2
    assert result.stats["redirect/to_same_url"] == 2
    assert judge(result.stats, None) == "ok"


def test_redirects_and_start_urls_to_private_addresses_are_never_sent(web):
    targets = [p.values[0] for p in REFUSED]
    routes = {f"/go/{n}": None for n in range(len(targets))}
    site = web.site({})
    site.routes.update(
        {
            path: web.redirect(target.format(port=site.port))
            for path, target in zip(routes, targets, strict=True)
        }
    )
    starts = [site.url(path) for path in routes] + ["http://192.168.1.1/"]

    result = web.crawl(starts)

    expected: dict[str, int] = {"private": 1}
    for param in REFUSED:
        expected[param.values[1]] = expected.get(param.values[1], 0) + 1
    refused = {
        key.removeprefix("guard/refused/"): value
        for key, value in result.stats.items()
        if key.startswith("guard/refused/")
    }
    assert refused == expected
    # nothing but the test server's own /go/ pages was ever sent
    assert all(path.startswith(("/go/", "/robots.txt")) for path in site.paths())
    assert result.stats["downloader/request_count"] == len(site.seen)
    assert "downloader/exception_type_count/twisted" not in str(result.stats)
