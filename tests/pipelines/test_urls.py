from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.urls import canonicalize_url, safe_http_url

SUMMER_SCHOOL_KEY = "https://brightpath.example.org/opportunities/summer-school"


# URL-01 a-d: inputs exactly as stated in CASES.md.
@pytest.mark.parametrize(
    "url",
    [
        pytest.param(
            "https://www.Brightpath.example.org/opportunities/summer-school/"
            "?utm_source=newsletter&utm_medium=email#apply",
            id="URL-01 a www, host case, trailing slash, utm, anchor",
        ),
        pytest.param(
            "http://brightpath.example.org/opportunities/summer-school",
            id="URL-01 b http",
        ),
        pytest.param(
            "https://www.brightpath.example.org/opportunities/summer-school/"
            ";jsessionid=0A1B2C3D4E",
            id="URL-01 c jsessionid path parameter",
        ),
        pytest.param(
            "https://brightpath.example.org/opportunities/summer-school"
            "?fbclid=IwAR0xyz&gclid=abc123",
            id="URL-01 d fbclid and gclid",
        ),
    ],
)
def test_url_01_same_listing_same_key(url: str) -> None:
    assert canonicalize_url(url) == SUMMER_SCHOOL_KEY


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        pytest.param(
            "https://brightpath.example.org/opportunities/Summer-School",
            "https://brightpath.example.org/opportunities/summer-school",
            False,
            id="URL-01 e path case is kept",
        ),
        pytest.param(
            "https://jobs.example.org/listing?page=1&id=42",
            "https://jobs.example.org/listing?id=42&page=1",
            True,
            id="URL-01 f query order does not matter",
        ),
        pytest.param(
            "https://jobs.example.org/listing?id=42",
            "https://jobs.example.org/listing?id=43",
            False,
            id="URL-01 g different ids stay apart",
        ),
        pytest.param(
            "https://apply.example.org/#/vacancy/101",
            "https://apply.example.org/#/vacancy/102",
            False,
            id="URL-01 h route fragments stay apart",
        ),
        pytest.param(
            "https://apply.example.org/#!/vacancy/101",
            "https://apply.example.org/#!/vacancy/102",
            False,
            id="hashbang route fragments stay apart",
        ),
        pytest.param(
            "https://apply.example.org/jobs#top",
            "https://apply.example.org/jobs#apply",
            True,
            id="plain anchors are dropped",
        ),
    ],
)
def test_url_01_keys_compare(first: str, second: str, same: bool) -> None:
    assert (canonicalize_url(first) == canonicalize_url(second)) is same


def test_url_01_i_escaped_hash_is_never_decoded() -> None:
    url = "https://courses.example.org/path/course%2312"

    key = canonicalize_url(url)

    assert key == "https://courses.example.org/path/course%2312"
    assert canonicalize_url(key) == key
    assert "#" not in key


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://example.org/a?utm_campaign=x&UTM_Content=y&q=1",
            "https://example.org/a?q=1",
            id="utm parameters in any case",
        ),
        pytest.param(
            "https://example.org/a?msclkid=1&mc_cid=2&mc_eid=3&q=1",
            "https://example.org/a?q=1",
            id="msclkid and Mailchimp ids",
        ),
        pytest.param(
            "https://example.org/a?PHPSESSID=ab12&jsessionid=CD34&q=1",
            "https://example.org/a?q=1",
            id="session ids in the query",
        ),
        pytest.param(
            "https://example.org/job.cgi?SID=abc&jcode=7",
            "https://example.org/job.cgi?jcode=7",
            id="SID session id",
        ),
        pytest.param(
            "https://example.org/a;JSESSIONID=ab12/b;sid=9",
            "https://example.org/a/b",
            id="session path parameters on several segments",
        ),
        pytest.param(
            "https://example.org/a;version=2",
            "https://example.org/a;version=2",
            id="other path parameters are kept",
        ),
        pytest.param(
            "https://example.org:443/a", "https://example.org/a", id="https port 443"
        ),
        pytest.param(
            "http://example.org:80/a", "https://example.org/a", id="http port 80"
        ),
        pytest.param(
            "https://example.org:8443/a",
            "https://example.org:8443/a",
            id="other ports kept",
        ),
        pytest.param("HTTPS://EXAMPLE.ORG", "https://example.org/", id="bare host"),
        pytest.param(
            "https://example.org./a", "https://example.org/a", id="trailing dot on host"
        ),
        pytest.param(
            "https://www.www.example.org/a", "https://example.org/a", id="www twice"
        ),
        pytest.param("https://www.org/a", "https://www.org/a", id="www is the name"),
        pytest.param(
            "https://example.org/a/./b/../c",
            "https://example.org/a/c",
            id="dot segments",
        ),
        pytest.param(
            "https://example.org/caf%c3%a9?q=%7e",
            "https://example.org/caf%C3%A9?q=~",
            id="escapes upper-cased, unreserved decoded",
        ),
        pytest.param(
            "https://example.org/a b/ä",
            "https://example.org/a%20b/%C3%A4",
            id="space and non-ASCII escaped",
        ),
        pytest.param(
            "https://example.org/a%2Fb", "https://example.org/a%2Fb", id="%2F kept"
        ),
        pytest.param(
            "https://example.org/a?q=",
            "https://example.org/a?q=",
            id="empty value kept",
        ),
        pytest.param(
            "https://example.org/a?", "https://example.org/a", id="empty query"
        ),
        pytest.param(
            "https://Jo:Secret@Example.org/a",
            "https://Jo:Secret@example.org/a",
            id="userinfo keeps its case",
        ),
        pytest.param(
            "//www.example.org/a/", "https://example.org/a", id="scheme-relative"
        ),
        pytest.param("  https://example.org/a  ", "https://example.org/a", id="padded"),
        pytest.param(
            "https://[2001:DB8::1]:443/a",
            "https://[2001:db8::1]/a",
            id="IPv6 host",
        ),
        pytest.param("mailto:jobs@example.org", "mailto:jobs@example.org", id="mailto"),
        pytest.param("not a url", "not a url", id="text"),
        pytest.param("https://[::1/a", "https://[::1/a", id="broken IPv6 kept"),
    ],
)
def test_canonicalize_url(url: str, expected: str) -> None:
    assert canonicalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://example.org/apply", "https://example.org/apply", id="https"
        ),
        pytest.param("http://example.org/a?x=1", "http://example.org/a?x=1", id="http"),
        pytest.param(" https://example.org/a ", "https://example.org/a", id="stripped"),
        pytest.param("HTTPS://example.org", "HTTPS://example.org", id="scheme case"),
        pytest.param("javascript:alert(1)", None, id="javascript"),
        pytest.param("JavaScript:alert(1)", None, id="javascript, mixed case"),
        pytest.param("java\tscript:alert(1)", None, id="javascript split by a tab"),
        pytest.param("  javascript:alert(1)", None, id="javascript after spaces"),
        pytest.param("data:text/html,<b>hi</b>", None, id="data"),
        pytest.param("vbscript:msgbox(1)", None, id="vbscript"),
        pytest.param("file:///etc/passwd", None, id="file"),
        pytest.param("mailto:jobs@example.org", None, id="mailto"),
        pytest.param("/jobs/1", None, id="relative"),
        pytest.param("//example.org/a", None, id="scheme-relative"),
        pytest.param("https://", None, id="no host"),
        pytest.param("https://example.org/a\nb", None, id="newline inside"),
        pytest.param("https://[::1/a", None, id="broken IPv6"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="None"),
    ],
)
def test_safe_http_url(url: str | None, expected: str | None) -> None:
    assert safe_http_url(url) == expected


# --- properties ---------------------------------------------------------------

LABEL = st.from_regex(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,8}[A-Za-z0-9])?", fullmatch=True)
HOST = st.builds(
    lambda www, labels, tld: ("www." if www else "") + ".".join([*labels, tld]),
    st.booleans(),
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["org", "uk", "co.uk", "ORG"]),
)
PORT = st.sampled_from(["", ":80", ":443", ":8080", ":0443"])
URL_TEXT = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="#?"),
    max_size=12,
)
SEGMENT = st.one_of(
    URL_TEXT,
    st.sampled_from([".", "..", "%23", "%2f", "%7E", "%", "a;jsessionid=1", "A"]),
)
PAIR = st.tuples(
    st.one_of(st.sampled_from(["utm_source", "id", "SID", "fbclid", "q"]), URL_TEXT),
    URL_TEXT,
)
FRAGMENT = st.one_of(st.just(""), st.builds(lambda t: "#" + t, st.text(max_size=12)))


@st.composite
def http_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP"]))
    path = "/".join(draw(st.lists(SEGMENT, max_size=4)))
    pairs = draw(st.lists(PAIR, max_size=4))
    query = "&".join(f"{k}={v}" for k, v in pairs)
    host, port = draw(HOST), draw(PORT)
    return (
        f"{scheme}://{host}{port}/{path}{'?' if query else ''}{query}{draw(FRAGMENT)}"
    )


@given(http_urls())
def test_canonicalize_url_is_idempotent(url: str) -> None:
    key = canonicalize_url(url)

    assert canonicalize_url(key) == key
    assert key.startswith("https://")


@given(http_urls())
def test_key_never_gains_a_hash_from_an_escape(url: str) -> None:
    without_fragment = url.partition("#")[0] + "%23"

    assert "#" not in canonicalize_url(without_fragment)


@given(st.text())
def test_no_text_crashes_canonicalize_url(text: str) -> None:
    assert isinstance(canonicalize_url(text), str)


@given(st.text())
def test_no_text_crashes_safe_http_url(text: str) -> None:
    result = safe_http_url(text)

    assert result is None or result.lower().startswith(("http://", "https://"))
