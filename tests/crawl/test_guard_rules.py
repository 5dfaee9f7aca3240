"""The rules behind the live crawl's middlewares, without a network."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime

import pytest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.utils.test import get_crawler

from spiders.middlewares import (
    BackoffRetryMiddleware,
    address_refusal,
    host_refusal,
    http_link,
    parse_ip_literal,
    parse_retry_after,
    robots_verdict,
)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        pytest.param("127.0.0.1", "127.0.0.1", id="dotted"),
        pytest.param("2130706433", "127.0.0.1", id="one decimal number"),
        pytest.param("0x7f000001", "127.0.0.1", id="one hex number"),
        pytest.param("0x7f.1", "127.0.0.1", id="hex and short"),
        pytest.param("0177.0.0.1", "127.0.0.1", id="octal part"),
        pytest.param("127.1", "127.0.0.1", id="two parts"),
        pytest.param("127.0.0.1.", "127.0.0.1", id="trailing dot"),
        pytest.param("%31%32%37.0.0.1", "127.0.0.1", id="percent-encoded"),
        pytest.param("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", id="IPv4-mapped"),
        pytest.param("::1", "::1", id="IPv6 loopback"),
        pytest.param("brightpath.example", None, id="a name"),
        pytest.param("1.2.3.4.5", None, id="five parts is a name"),
        pytest.param("0x1g.0.0.1", None, id="not hex"),
        pytest.param("08.0.0.1", None, id="not octal"),
        pytest.param("256.0.0.1", None, id="a part too large"),
        pytest.param("1_0.0.0.1", None, id="no underscores"),
    ],
)
def test_parse_ip_literal(host, address):
    expected = ipaddress.ip_address(address) if address else None
    assert parse_ip_literal(host) == expected


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        pytest.param("169.254.169.254", "metadata", id="cloud metadata"),
        pytest.param("fd00:ec2::254", "metadata", id="AWS IPv6 metadata"),
        pytest.param("100.100.100.200", "metadata", id="Alibaba metadata"),
        pytest.param("127.0.0.1", "loopback", id="loopback"),
        pytest.param("127.255.0.9", "loopback", id="all of 127/8"),
        pytest.param("::1", "loopback", id="IPv6 loopback"),
        pytest.param("::ffff:127.0.0.1", "loopback", id="IPv4-mapped loopback"),
        pytest.param("::ffff:10.0.0.1", "private", id="IPv4-mapped private"),
        pytest.param("2002:7f00:1::", "loopback", id="6to4 of loopback"),
        pytest.param("64:ff9b::a00:1", "private", id="NAT64 of 10.0.0.1"),
        pytest.param("::127.0.0.1", "loopback", id="IPv4-compatible"),
        pytest.param("169.254.1.1", "link_local", id="link-local"),
        pytest.param("fe80::1", "link_local", id="IPv6 link-local"),
        pytest.param("10.0.0.1", "private", id="10/8"),
        pytest.param("172.16.5.4", "private", id="172.16/12"),
        pytest.param("192.168.1.1", "private", id="192.168/16"),
        pytest.param("fd12::1", "private", id="unique local"),
        pytest.param("0.0.0.0", "unspecified", id="unspecified"),
        pytest.param("224.0.0.1", "multicast", id="multicast"),
        pytest.param("100.64.0.1", "reserved", id="shared address space"),
        pytest.param("240.0.0.1", "private", id="class E, private to ipaddress"),
        pytest.param("93.184.215.14", None, id="public IPv4"),
        pytest.param("2a00:1450:4009::1", None, id="public IPv6"),
    ],
)
def test_address_refusal(address, reason):
    assert address_refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        pytest.param("metadata.google.internal", "metadata", id="metadata name"),
        pytest.param("0xa9fea9fe", "metadata", id="metadata address in hex"),
        pytest.param("brightpath.example", None, id="a name is resolved first"),
    ],
)
def test_host_refusal(host, reason):
    assert host_refusal(host) == reason


NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param(b"120", 120.0, id="seconds"),
        pytest.param(b"Fri, 04 Dec 2026 12:02:00 GMT", 120.0, id="an HTTP date"),
        pytest.param(b"Fri, 04 Dec 2026 11:00:00 GMT", 0.0, id="a date passed"),
        pytest.param(b"soon", None, id="nonsense"),
        pytest.param(b"-5", None, id="negative"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_parse_retry_after(header, seconds):
    assert parse_retry_after(header, NOW) == seconds


ROBOTS = "https://brightpath.example/robots.txt"


@pytest.mark.parametrize(
    ("response", "verdict"),
    [
        pytest.param(
            TextResponse(ROBOTS, status=200, body=b"User-agent: *\nDisallow: /a/"),
            "rules",
            id="text rules",
        ),
        pytest.param(Response(ROBOTS, status=404), "missing", id="404"),
        pytest.param(Response(ROBOTS, status=410), "missing", id="410"),
        pytest.param(Response(ROBOTS, status=503), "unavailable", id="503"),
        pytest.param(Response(ROBOTS, status=500), "unavailable", id="500"),
        pytest.param(
            HtmlResponse(
                "https://brightpath.example/login",
                body=b"<!doctype html><form></form>",
                headers={"Content-Type": "text/html"},
            ),
            "not_text",
            id="redirected to an HTML page",
        ),
        pytest.param(
            Response(ROBOTS, status=200, body=b"\n <html>sorry</html>"),
            "not_text",
            id="HTML without a content type",
        ),
    ],
)
def test_robots_verdict(response, verdict):
    assert robots_verdict(response) == verdict


@pytest.mark.parametrize(
    ("href", "url", "counted"),
    [
        pytest.param(
            "/opportunities/2", "https://b.example/opportunities/2", 0, id="path"
        ),
        pytest.param("http://c.example/x", "http://c.example/x", 0, id="absolute"),
        pytest.param("mailto:jobs@b.example", None, 1, id="mailto"),
        pytest.param("javascript:void(0)", None, 1, id="javascript"),
        pytest.param("tel:+44123", None, 1, id="tel"),
        pytest.param("ftp://b.example/f", None, 1, id="ftp"),
        pytest.param("  ", None, 0, id="empty"),
    ],
)
def test_http_link(href, url, counted):
    crawler = get_crawler()
    response = HtmlResponse("https://b.example/opportunities", body=b"")

    assert http_link(response, href, crawler.stats) == url
    assert crawler.stats.get_value("ignored/non_http_url", 0) == counted


def test_a_live_crawl_without_a_download_delay_is_refused():
    crawler = get_crawler(settings_dict={"DOWNLOAD_DELAY": 0})

    with pytest.raises(ValueError, match="DOWNLOAD_DELAY above 0"):
        BackoffRetryMiddleware.from_crawler(crawler)


def test_a_replay_needs_no_download_delay():
    crawler = get_crawler(settings_dict={"DOWNLOAD_DELAY": 0, "HUB_REPLAY": "x.warc"})

    assert not BackoffRetryMiddleware.from_crawler(crawler).live
