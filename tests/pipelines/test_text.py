from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.text import (
    clean_whitespace,
    decode_body,
    decode_entities,
    html_to_text,
    sanitize_html,
    summarize,
    to_one_line,
)

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RECORDING = SHARED_DATA / "web" / "recorded.warc.gz"
needs_recording = pytest.mark.skipif(
    not RECORDING.exists(), reason=f"shared recording not found at {RECORDING}"
)

# CASES JSONLD-03, the script body
JSONLD_03 = (
    '{"@context":"https://schema.org","@type":"Course",'
    '"name":"Law &amp;amp; Society Summer School",'
    '"provider":{"@type":"Organization","name":"Riverside Sixth Form &amp; College"},'
    '"description":"<p>Open to Year&nbsp;12 students.</p><ul><li>Free travel</li>'
    '<li>Meals &amp; accommodation</li></ul>",'
    '"alternateName":"Caf\\u00e9 Skills \\u2013 Level 2"}'
)
MOJIBAKE = ("\ufffd", "\ufeff", "Ã©", "ï»¿")


# -- decode_entities


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            "Law &amp;amp; Society Summer School",
            "Law & Society Summer School",
            id="jsonld03-double-escaped-title",
        ),
        pytest.param(
            "Riverside Sixth Form &amp; College",
            "Riverside Sixth Form & College",
            id="jsonld03-provider",
        ),
        pytest.param("A&E Volunteer", "A&E Volunteer", id="jsonld03-literal-ampersand"),
        pytest.param(
            "Caf\u00e9 Skills \u2013 Level 2",
            "Café Skills – Level 2",
            id="unicode-kept",
        ),
        pytest.param(
            "it&#039;s &quot;free&quot;", 'it\'s "free"', id="numeric-and-named"
        ),
        pytest.param("&#x2013; &#8211;", "– –", id="hex-and-decimal-dash"),
        pytest.param("&amp;amp;amp;lt;", "<", id="four-levels"),
        pytest.param(
            "?a=1&section=2&copy=3", "?a=1&section=2&copy=3", id="no-semicolon-kept"
        ),
        pytest.param(
            "&bogus; &amp;bogus;", "&bogus; &bogus;", id="unknown-entity-kept"
        ),
        pytest.param("AT&T &amp; B&Q", "AT&T & B&Q", id="mixed-literal-and-escaped"),
        pytest.param("", "", id="empty"),
    ],
)
def test_decode_entities(raw: str, expected: str) -> None:
    assert decode_entities(raw) == expected


def test_jsonld03_fields_decode_to_the_expected_values() -> None:
    record = json.loads(JSONLD_03)

    title = decode_entities(record["name"])
    provider = decode_entities(record["provider"]["name"])
    alternate = decode_entities(record["alternateName"])
    description = to_one_line(html_to_text(record["description"]))

    assert title == "Law & Society Summer School"
    assert provider == "Riverside Sixth Form & College"
    assert alternate == "Café Skills \u2013 Level 2"
    assert description == "Open to Year 12 students. Free travel. Meals & accommodation"


# -- clean_whitespace


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(None, None, id="none"),
        pytest.param("", None, id="empty"),
        pytest.param(" \n\t\u00a0 ", None, id="blank"),
        pytest.param("  Law\u00a0&\n Society ", "Law & Society", id="nbsp-and-newline"),
        pytest.param("\ufeffTitle\u200b here", "Title here", id="invisible-removed"),
    ],
)
def test_clean_whitespace(raw: str | None, expected: str | None) -> None:
    assert clean_whitespace(raw) == expected


# -- html_to_text


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<p>Open to Year&nbsp;12 students.</p><ul><li>Free travel</li>"
            "<li>Meals &amp; accommodation</li></ul>",
            "Open to Year 12 students.\n\n- Free travel\n- Meals & accommodation",
            id="jsonld03-description",
        ),
        pytest.param(
            "&lt;p&gt;Hello&lt;/p&gt;&lt;p&gt;World&lt;/p&gt;",
            "Hello\n\nWorld",
            id="entity-escaped-html",
        ),
        pytest.param(
            "&amp;lt;p&amp;gt;Hello &amp;amp;amp; bye&amp;lt;/p&amp;gt;",
            "Hello & bye",
            id="double-escaped-html",
        ),
        pytest.param(
            "<div><h2>Role</h2>Line one<br>line two</div><p>Next</p>",
            "Role\n\nLine one\nline two\n\nNext",
            id="blocks-and-br",
        ),
        pytest.param(
            "<p>Keep</p><script>alert(1)</script><style>p{}</style>"
            "<!-- c --><p>this</p>",
            "Keep\n\nthis",
            id="script-style-comment-dropped",
        ),
        pytest.param(
            "<ul><li><p>Para in item</p></li>"
            "<li>Outer<ul><li>Inner</li></ul></li></ul>",
            "- Para in item\n- Outer\n- Inner",
            id="nested-lists",
        ),
        pytest.param(
            "<p>  lots \n\n of   <b>space</b>s </p>",
            "lots of spaces",
            id="whitespace-collapsed",
        ),
        pytest.param(
            "<p>0-&gt;1 and 1-&gt;1000</p>",
            "0->1 and 1->1000",
            id="ashby-escaped-text-in-real-html",
        ),
        pytest.param(
            "<table><tr><td>Pay</td><td>£18,000</td></tr></table>",
            "Pay £18,000",
            id="table-cells",
        ),
        pytest.param(
            "Plain line one\nline two\n\n\nNew paragraph",
            "Plain line one\nline two\n\nNew paragraph",
            id="plain-text-keeps-lines",
        ),
        pytest.param("", "", id="empty"),
        pytest.param("http://example.com/a", "http://example.com/a", id="url-like"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "Open to Year 12 students.\n\n- Free travel\n- Meals & accommodation",
            "Open to Year 12 students. Free travel. Meals & accommodation",
            id="jsonld03",
        ),
        pytest.param(
            "We offer:\n- Travel\n- Lunch!", "We offer: Travel. Lunch!", id="colon"
        ),
        pytest.param("", "", id="empty"),
    ],
)
def test_to_one_line(text: str, expected: str) -> None:
    assert to_one_line(text) == expected


@pytest.mark.parametrize(
    ("html", "max_chars", "expected"),
    [
        pytest.param("<p>Short one.</p>", 300, "Short one.", id="fits"),
        pytest.param("<p>one two three four</p>", 12, "one two…", id="cut-at-word"),
        pytest.param("<script>x</script>", 300, None, id="nothing-left"),
    ],
)
def test_summarize(html: str, max_chars: int, expected: str | None) -> None:
    assert summarize(html, max_chars) == expected


# -- sanitize_html


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param(
            "<p onclick='x()'>Hi <strong>there</strong></p><script>bad()</script>",
            "<p>Hi <strong>there</strong></p>",
            id="script-and-handler-removed",
        ),
        pytest.param(
            '<a href="https://example.org/x" target="_blank" rel="opener">go</a>',
            '<a href="https://example.org/x" rel="nofollow noopener">go</a>',
            id="https-link-gets-rel",
        ),
        pytest.param(
            '<a href="javascript:alert(1)">x</a><a href="/rel">y</a>',
            '<a rel="nofollow noopener">x</a><a rel="nofollow noopener">y</a>',
            id="javascript-and-relative-dropped",
        ),
        pytest.param(
            "<div>A</div><div>B</div>",
            "<p>A</p><p>B</p>",
            id="text-divs-become-paragraphs",
        ),
        pytest.param(
            "<h1>Title</h1><h5>Small</h5><img src=x onerror=alert(1)>",
            "<h2>Title</h2><h4>Small</h4>",
            id="headings-mapped-img-dropped",
        ),
        pytest.param(
            "&lt;ul&gt;&lt;li&gt;One&lt;/li&gt;&lt;/ul&gt;",
            "<ul><li>One</li></ul>",
            id="entity-escaped-html",
        ),
    ],
)
def test_sanitize_html(html: str, expected: str) -> None:
    assert sanitize_html(html) == expected


def test_sanitize_html_resolves_relative_links_against_base_url() -> None:
    html = '<p><a href="/jobs/1">job</a></p>'

    cleaned = sanitize_html(html, base_url="https://www.jobs.nhs.uk/xi/vacancy/")

    assert cleaned == (
        '<p><a href="https://www.jobs.nhs.uk/jobs/1" rel="nofollow noopener">'
        "job</a></p>"
    )


# -- decode_body (CASES ENC-01)

ENC_TITLE = "Café Apprenticeship \u2013 £18,000"
ENC_A = (
    b'<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">'
    b"<h1>Caf\xe9 Apprenticeship \x96 \xa318,000</h1>"
)
ENC_B = b"\xef\xbb\xbf" + f"<h1>{ENC_TITLE}</h1>".encode()
ENC_C = f"<h1>{ENC_TITLE}</h1>".encode()


@pytest.mark.parametrize(
    ("body", "header", "expected_note"),
    [
        pytest.param(ENC_A, "utf-8", "header_utf8_invalid", id="enc01a-header-lies"),
        pytest.param(
            ENC_A,
            "text/html; charset=utf-8",
            "header_utf8_invalid",
            id="enc01a-full-header",
        ),
        pytest.param(
            ENC_B, "windows-1252", "bom_overrides_header", id="enc01b-bom-wins"
        ),
        pytest.param(ENC_C, None, None, id="enc01c-no-charset"),
    ],
)
def test_decode_body_enc01(
    body: bytes, header: str | None, expected_note: str | None
) -> None:
    text, note = decode_body(body, header)

    assert html_to_text(text) == ENC_TITLE
    assert note == expected_note
    assert not any(bad in text for bad in MOJIBAKE)


@pytest.mark.parametrize(
    ("body", "header", "expected"),
    [
        pytest.param(
            b"\xa318,000", "ISO-8859-1", ("£18,000", None), id="latin1-as-cp1252"
        ),
        pytest.param(
            b"\x96", "iso-8859-1", ("\u2013", None), id="latin1-c1-byte-is-dash"
        ),
        pytest.param(b"\xef\xbb\xbfabc", "utf-8", ("abc", None), id="bom-agrees"),
        pytest.param(b"\xff\xfea\x00", None, ("a", None), id="utf16-bom"),
        pytest.param(
            b"caf\xc3\xa9", "no-such-charset", ("café", None), id="unknown-header"
        ),
        pytest.param(
            b"\x81\xa3", "utf-8", ("\x81£", "header_utf8_invalid"), id="c1-fallback"
        ),
    ],
)
def test_decode_body(
    body: bytes, header: str | None, expected: tuple[str, str | None]
) -> None:
    assert decode_body(body, header) == expected


# -- the real recording


def _responses() -> Iterator[tuple[str, str | None, bytes]]:
    from warcio.archiveiterator import ArchiveIterator

    with RECORDING.open("rb") as stream:
        for record in ArchiveIterator(stream):
            if record.rec_type != "response":
                continue
            url = record.rec_headers.get_header("WARC-Target-URI")
            content_type = record.http_headers.get_header("Content-Type")
            yield url, content_type, record.content_stream().read()


@pytest.fixture(scope="module")
def recorded() -> dict[str, tuple[str | None, bytes]]:
    return {url: (ctype, body) for url, ctype, body in _responses()}


def _nhs_descriptions(recorded: dict[str, tuple[str | None, bytes]]) -> list[str]:
    found = []
    for url, (_, body) in recorded.items():
        if "jobs.nhs.uk/xi/vacancy" not in url:
            continue
        for script in re.findall(
            rb'<script type="application/ld\+json">(.*?)</script>', body, re.S
        ):
            record = json.loads(script)
            if isinstance(record, dict) and record.get("@type") == "JobPosting":
                found.append(record["description"])
    return found


@needs_recording
@pytest.mark.recording
def test_civil_service_jobs_page_decodes_pound_signs(recorded: dict) -> None:
    content_type, body = recorded[
        "https://www.civilservicejobs.service.gov.uk/csr/jobs.cgi?jcode=1862348"
    ]

    text, note = decode_body(body, content_type)

    assert content_type == "text/html; charset=ISO-8859-1"
    assert note is None
    assert "£53,730" in html_to_text(text)
    assert not any(bad in text for bad in MOJIBAKE)


@needs_recording
@pytest.mark.recording
def test_nhs_jobs_escaped_descriptions_become_clean_text(recorded: dict) -> None:
    descriptions = _nhs_descriptions(recorded)

    texts = [html_to_text(d) for d in descriptions]

    assert len(descriptions) > 2000
    assert sum("&lt;p&gt;" in d for d in descriptions) > 1000
    assert not [t for t in texts if re.search(r"</?(p|li|strong|br)\b|&lt;|&amp;", t)]
    assert sum("\n- " in t for t in texts) > 100


@needs_recording
@pytest.mark.recording
def test_greenhouse_escaped_content_is_sanitised(recorded: dict) -> None:
    _, body = recorded[
        "https://boards-api.greenhouse.io/v1/boards/smarterdx/jobs?content=true"
    ]
    content = json.loads(body)["jobs"][0]["content"]

    safe = sanitize_html(content)
    text = html_to_text(content)

    assert content.startswith("&lt;div")
    assert safe.startswith("<p>") or safe.startswith("<h")
    assert "&lt;" not in safe and "class=" not in safe
    assert text.startswith("SmarterDx is transforming")


# -- properties

_HTML_TAGS = ["p", "div", "ul", "ol", "li", "b", "em", "h2", "span", "br"]
_SAFE_WORDS = st.text(alphabet="abcdefghij XYZ.,-£é\u2013", min_size=1, max_size=12)


@st.composite
def _html_fragments(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        tag = draw(st.sampled_from(_HTML_TAGS))
        words = draw(_SAFE_WORDS)
        parts.append(f"<{tag}>" if tag == "br" else f"<{tag}>{words}</{tag}>")
    return "".join(parts)


@given(st.text())
def test_decode_entities_never_raises_and_is_stable(text: str) -> None:
    once = decode_entities(text)

    assert decode_entities(once) == once


@given(st.text() | _html_fragments())
def test_html_to_text_never_raises(text: str) -> None:
    assert isinstance(html_to_text(text), str)
    assert isinstance(sanitize_html(text), str)


@given(_html_fragments())
def test_html_to_text_is_stable_on_its_own_output(html: str) -> None:
    once = html_to_text(html)

    assert html_to_text(once) == once


@given(
    st.text(),
    st.sampled_from(
        ['<a href="javascript:x()">', "<script>x()</script>", "<img onerror=x>"]
    ),
)
def test_sanitize_html_never_lets_script_through(text: str, attack: str) -> None:
    cleaned = sanitize_html(text + attack).lower()

    assert "<script" not in cleaned and "javascript:" not in cleaned
    assert "onerror" not in cleaned


@given(
    st.binary(),
    st.sampled_from(
        [
            None,
            "utf-8",
            "ISO-8859-1",
            "utf-16",
            "bogus",
            "text/html; charset=windows-1252",
        ]
    ),
)
def test_decode_body_never_raises(body: bytes, header: str | None) -> None:
    text, note = decode_body(body, header)

    assert isinstance(text, str) and not text.startswith("\ufeff")
    assert note is None or note.endswith(("_invalid", "_header"))


@pytest.mark.parametrize(
    "value", ["\x00", "a\x00b", "<p>a\x00b</p>", "x\x07\x1by", "<b>\x7f</b>"]
)
def test_html_to_text_drops_control_characters(value):
    assert not any(ord(c) < 32 and c not in "\t\n\r" for c in html_to_text(value))
    assert "\x7f" not in html_to_text(value)
