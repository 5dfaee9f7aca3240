"""Text normalisers: entities, HTML to clean text, safe HTML and body decoding.

Sources deliver text in several states of escaping: JSON-LD strings HTML-escaped once
or twice (CASES JSONLD-03), whole descriptions entity-escaped (NHS Jobs JSON-LD and
the Greenhouse API, checked in the 2020 and 2026 recordings), and bodies whose header
charset does not match their bytes (CASES ENC-01). Everything here is pure.
"""

from __future__ import annotations

import codecs
import html
import logging
import re
import warnings

import nh3
from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import Comment, NavigableString, Tag
from w3lib.encoding import (
    html_body_declared_encoding,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

logger = logging.getLogger(__name__)

# Only entities closed by ";" are decoded: the semicolon-less legacy forms turn
# "?a=1&section=2" into "§ion=2" and "A&Eacute" into "AÉ".
_ENTITY = re.compile(
    r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});"
)
_ESCAPED_TAG = re.compile(
    r"&(?:amp;)*lt;\s*/?\s*[a-z][a-z0-9]*(?:\s|/|&(?:amp;)*gt;)", re.I
)
_REAL_TAG = re.compile(r"</?[a-z][a-z0-9]*(?:\s[^<>]*)?/?>", re.I)
_MAX_MARKUP_UNESCAPES = 3
_SPACES = re.compile(r"[^\S\n]+")
_ANY_WHITESPACE = re.compile(r"\s+")
# zero-width and soft-hyphen marks, and control characters but tab and newlines
_CONTROL_CHARS = "".join(chr(c) for c in (*range(32), 127) if chr(c) not in "\t\n\r")
_INVISIBLE = str.maketrans("", "", "\u200b\ufeff\u00ad" + _CONTROL_CHARS)
_SENTENCE_END = (".", "!", "?", ":", ";", "…")
_BULLET = "- "

_DROPPED_TAGS = frozenset(
    {"script", "style", "noscript", "template", "head", "title", "iframe", "svg"}
)
_BLOCK_TAGS = frozenset(
    {
        "p", "div", "section", "article", "header", "footer", "main", "aside",
        "nav", "blockquote", "pre", "address", "figure", "figcaption", "form",
        "fieldset", "table", "tr", "dl", "dt", "dd", "hr", "details", "summary",
        "h1", "h2", "h3", "h4", "h5", "h6", "body", "html",
    }
)  # fmt: skip
_LIST_TAGS = frozenset({"ul", "ol", "menu"})
_CELL_TAGS = frozenset({"td", "th"})

_SAFE_TAGS = frozenset(
    {"p", "br", "ul", "ol", "li", "strong", "em", "b", "i", "a", "h2", "h3", "h4"}
)
_SAFE_BLOCKS = frozenset({"p", "ul", "ol", "li", "h2", "h3", "h4"})
_HEADING_RENAMES = {"h1": "h2", "h5": "h4", "h6": "h4"}
_LINK_REL = "nofollow noopener"

_C1_ERRORS = "opportunity_hub.c1"


def _c1_fallback(exc: UnicodeError) -> tuple[str, int]:
    """Decode the five bytes cp1252 leaves undefined as C1 controls, as WHATWG does."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return exc.object[exc.start : exc.end].decode("latin-1"), exc.end


codecs.register_error(_C1_ERRORS, _c1_fallback)


# -- entities and whitespace


def _decode_once(text: str) -> str:
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)), text)


def decode_entities(text: str) -> str:
    """Decode entities one level, then again while a decodable entity remains.

    "Law &amp;amp; Society" -> "Law & Society"; a bare "A&E" is left alone. The
    loop ends because every decoded entity shortens the text.
    """
    decoded = _decode_once(text)
    while decoded != text:
        text, decoded = decoded, _decode_once(decoded)
    return decoded


def clean_whitespace(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = _ANY_WHITESPACE.sub(" ", text.translate(_INVISIBLE)).strip()
    return cleaned or None


# -- HTML to text


def _unescape_markup(markup: str) -> str:
    """Unescape HTML that arrived entity-escaped ("&lt;p&gt;Hello&lt;/p&gt;").

    Only when the string holds escaped tags and no real ones: a real document that
    talks about "&lt;b&gt;" keeps its text.
    """
    for _ in range(_MAX_MARKUP_UNESCAPES):
        if _REAL_TAG.search(markup) or not _ESCAPED_TAG.search(markup):
            break
        markup = html.unescape(markup)
    return markup


def _parse_html(markup: str) -> BeautifulSoup:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MarkupResemblesLocatorWarning)
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        return BeautifulSoup(markup, "lxml")


class _TextBuilder:
    """Collects text into blocks of lines: blocks join with a blank line."""

    def __init__(self) -> None:
        self.blocks: list[list[str]] = []
        self.lines: list[str] = []
        self.pieces: list[str] = []
        self.bullet_pending = False

    def text(self, value: str) -> None:
        value = _SPACES.sub(" ", value.replace("\n", " "))
        if not value.strip() and not self.pieces:
            return
        if self.bullet_pending and value.strip():
            self.pieces.append(_BULLET)
            value = value.lstrip()
            self.bullet_pending = False
        self.pieces.append(value)

    def newline(self) -> None:
        line = _SPACES.sub(" ", "".join(self.pieces)).strip()
        if line and line != _BULLET.strip():
            self.lines.append(line)
        self.pieces = []

    def paragraph(self) -> None:
        self.newline()
        if self.lines:
            self.blocks.append(self.lines)
        self.lines = []

    def end_block(self, *, nested: bool) -> None:
        if nested:
            self.newline()
        else:
            self.paragraph()

    def result(self) -> str:
        self.paragraph()
        return "\n\n".join("\n".join(lines) for lines in self.blocks)


def _walk(node: Tag, out: _TextBuilder, list_depth: int) -> None:
    for child in node.children:
        if isinstance(child, Comment):
            continue
        if isinstance(child, NavigableString):
            out.text(decode_entities(str(child)))
        elif isinstance(child, Tag):
            _walk_tag(child, out, list_depth)


def _walk_tag(tag: Tag, out: _TextBuilder, list_depth: int) -> None:
    name = tag.name.lower()
    if name in _DROPPED_TAGS:
        return
    if name == "br":
        out.newline()
    elif name in _LIST_TAGS:
        _around(tag, out, list_depth + 1, nested=list_depth > 0)
    elif name == "li":
        out.newline()
        out.bullet_pending = True
        _walk(tag, out, max(list_depth, 1))
        out.newline()
        out.bullet_pending = False
    elif name in _BLOCK_TAGS:
        _around(tag, out, list_depth, nested=list_depth > 0)
    elif name in _CELL_TAGS:
        out.text(" ")
        _walk(tag, out, list_depth)
        out.text(" ")
    else:
        _walk(tag, out, list_depth)


def _around(tag: Tag, out: _TextBuilder, list_depth: int, *, nested: bool) -> None:
    """Walk a block element: a paragraph of its own, or a line inside a list."""
    bullet = out.bullet_pending
    out.end_block(nested=nested)
    out.bullet_pending = bullet
    _walk(tag, out, list_depth)
    out.end_block(nested=nested)


def html_to_text(html_text: str) -> str:
    """Clean text from HTML: paragraphs split by a blank line, list items as "- x".

    Input with no tags at all is taken as plain text and keeps its line breaks, so
    the function is stable on its own output.
    """
    markup = _unescape_markup(html_text)
    if not _REAL_TAG.search(markup):
        return _plain_to_text(decode_entities(markup))
    out = _TextBuilder()
    _walk(_parse_html(markup), out, 0)
    return out.result().translate(_INVISIBLE)


def _plain_to_text(text: str) -> str:
    blocks: list[list[str]] = [[]]
    for raw in text.translate(_INVISIBLE).splitlines():
        line = _ANY_WHITESPACE.sub(" ", raw).strip()
        if line:
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return "\n\n".join("\n".join(lines) for lines in blocks if lines)


def to_one_line(text: str) -> str:
    """Flatten html_to_text output to one line: each line and list item a sentence."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [_strip_bullet(line) for line in lines if line]
    lines = [line for line in lines if line]
    sentences = [_end_sentence(line) for line in lines[:-1]] + lines[-1:]
    return " ".join(sentences)


def _strip_bullet(line: str) -> str:
    return line[len(_BULLET) :].strip() if line.startswith(_BULLET) else line


def _end_sentence(line: str) -> str:
    return line if line.endswith(_SENTENCE_END) else f"{line}."


def summarize(html_text: str, max_chars: int = 300) -> str | None:
    """A one-line summary of an HTML description, cut at a word within max_chars."""
    return summarize_text(html_to_text(html_text), max_chars)


def summarize_text(text: str, max_chars: int = 300) -> str | None:
    """:func:`summarize` for text that :func:`html_to_text` already gave."""
    line = to_one_line(text)
    if len(line) <= max_chars:
        return line or None
    cut = line[: max_chars - 1].rsplit(" ", 1)[0].rstrip(" ,;:-")
    return f"{cut}…" if cut else None


# -- safe HTML


def _prepare_for_sanitising(markup: str) -> str:
    """Map headings into h2-h4 and text-only containers to <p>, so nh3 keeps breaks."""
    soup = _parse_html(markup)
    for tag in soup.find_all(True):
        name = tag.name.lower()
        if name in _HEADING_RENAMES:
            tag.name = _HEADING_RENAMES[name]
        elif name in _BLOCK_TAGS - {"html", "body", "p"} and not _has_safe_block(tag):
            tag.name = "p"
    body = soup.body
    return body.decode_contents() if body is not None else soup.decode()


def _has_safe_block(tag: Tag) -> bool:
    return tag.find(_SAFE_BLOCKS | _BLOCK_TAGS) is not None


def sanitize_html(html_text: str, base_url: str | None = None) -> str:
    """Safe HTML for display: a small tag set, http(s) links only, rel="nofollow".

    Relative links are resolved against ``base_url`` when given, else dropped.
    """
    markup = _prepare_for_sanitising(_unescape_markup(html_text))
    relative: str | tuple[str, str] = "deny"
    if base_url and base_url.lower().startswith(("http://", "https://")):
        relative = ("rewrite_with_base", base_url)
    return nh3.clean(
        markup,
        tags=_SAFE_TAGS,
        attributes={"a": {"href"}},
        url_schemes={"http", "https"},
        url_relative=relative,
        link_rel=_LINK_REL,
        strip_comments=True,
    ).strip()


# -- bytes to text


def _header_encoding(header_charset: str | None) -> str | None:
    if not header_charset:
        return None
    if "=" in header_charset:
        return http_content_type_encoding(header_charset)
    return resolve_encoding(header_charset.strip().strip("\"'"))


def _strict(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _note_for(encoding: str) -> str:
    return f"header_{codecs.lookup(encoding).name.replace('-', '')}_invalid"


def _decode_by_bom(body: bytes, header: str | None) -> tuple[str, str | None] | None:
    encoding, bom = read_bom(body)
    if encoding is None or bom is None:
        return None
    text = body[len(bom) :].decode(encoding, errors="replace")
    same = header is not None and codecs.lookup(header) == codecs.lookup(encoding)
    return text, None if header is None or same else "bom_overrides_header"


def _decode_without_header(body: bytes) -> str:
    declared = html_body_declared_encoding(body)
    for encoding in (declared, "utf-8"):
        text = _strict(body, encoding) if encoding else None
        if text is not None:
            return text
    return body.decode("cp1252", errors=_C1_ERRORS)


def decode_body(body: bytes, header_charset: str | None) -> tuple[str, str | None]:
    """Decode a response body: a BOM wins, then the header if its bytes are valid.

    ``header_charset`` is the charset value or the whole Content-Type header.
    ISO-8859-1 decodes as cp1252, as w3lib and browsers do. Returns the text and a
    note when the header was overruled (``"header_utf8_invalid"``), else None.
    """
    header = _header_encoding(header_charset)
    by_bom = _decode_by_bom(body, header)
    if by_bom is not None:
        return by_bom
    if header is not None:
        text = _strict(body, header)
        if text is not None:
            return text.lstrip("\ufeff"), None
        logger.debug("Body is not valid %s; falling back", header)
        return _decode_without_header(body).lstrip("\ufeff"), _note_for(header)
    return _decode_without_header(body).lstrip("\ufeff"), None
