"""Hostile pages and API answers, seeded, written into a WARC of our own making.

:func:`build_corpus` makes pages for the schema_org spider (found through a
sitemap), board documents for greenhouse, lever and ashby, and a declarative
site whose list pages link hostile detail pages. Each planted listing that a
careful crawler must keep is remembered in :attr:`Corpus.expected` with the
status it must be stored under, so a replay can be checked for listings lost
silently or shown open when closed.
"""

from __future__ import annotations

import io
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

RECORDED_AT = "2023-07-02T12:00:00Z"
SITE = "https://jobs.hostile.example.org"
CHARITY = "https://charity.hostile.example.org"
SITEMAP = f"{SITE}/sitemap.xml"
LARGE_BODY = 3 * 1024 * 1024
BOARD_APIS = {
    "greenhouse": "https://boards-api.greenhouse.io/v1/boards/{board}/jobs?content=true",
    "lever": "https://api.lever.co/v0/postings/{board}?mode=json",
    "ashby": (
        "https://api.ashbyhq.com/posting-api/job-board/{board}?includeCompensation=true"
    ),
}
PAYLOADS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<svg/onload=alert(1)>",
    "javascript:alert(1)",
    '=HYPERLINK("https://evil.example.net","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3",
    "'; DROP TABLE listings;--",
    '" OR 1=1 --',
    "\x00NUL\x00",
    "\u202eevil\u202c",
    "{{7*7}}${7*7}",
    "&lt;script&gt;alert(2)&lt;/script&gt;",
    "]]><![CDATA[<script>alert(3)</script>",
    "</script><script>alert(4)</script>",
)
BAD_LINKS = (
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "//evil.example.net/x",
    "http://[::1",
    "\x00http://evil.example.net",
)
ABSURD_DATES = (
    "9999-99-99",
    "0000-00-00",
    "2023-02-30",
    "99999999999999999999",
    "-1",
    "1e308",
    "31/13/2023",
    "10000-01-01T00:00:00Z",
    "2023-07-02T25:61:61+99:00",
    "closes in 99999999999 days",
    "yesterday tomorrow",
)
ABSURD_NUMBERS = (1e308, -1e308, 10**40, -(10**40), 0, -1, 3.5e-300)
ANY_STATUS = "any"
PAST_CLOSING = ("2023-06-01", "2023-06-30T17:00:00+01:00", "1 June 2023")
FUTURE_CLOSING = ("2030-01-31", "2031-12-31T23:59:00+00:00", "31 January 2030")


@dataclass
class Page:
    url: str
    body: bytes
    content_type: str | None
    kind: str


@dataclass
class Expected:
    """A listing that must be stored, under this key and status (or "any")."""

    source: str
    key: str
    status: str


@dataclass
class SourceSpec:
    """One registry source crawled from the corpus."""

    name: str
    spider: str
    args: dict[str, Any]


@dataclass
class Corpus:
    seed: int
    pages: list[Page] = field(default_factory=list)
    expected: list[Expected] = field(default_factory=list)
    sources: list[SourceSpec] = field(default_factory=list)

    def kinds(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for page in self.pages:
            counts[page.kind] = counts.get(page.kind, 0) + 1
        return dict(sorted(counts.items()))

    def write_warc(self, path: Path) -> Path:
        with path.open("wb") as stream:
            writer = WARCWriter(stream, gzip=True)
            for page in self.pages:
                writer.write_record(_record(writer, page))
        return path


def _record(writer: WARCWriter, page: Page) -> Any:
    headers = [("Content-Type", page.content_type)] if page.content_type else []
    status = StatusAndHeaders("200 OK", headers, protocol="HTTP/1.1")
    return writer.create_warc_record(
        page.url,
        "response",
        payload=io.BytesIO(page.body),
        length=len(page.body),
        http_headers=status,
        warc_headers_dict={"WARC-Date": RECORDED_AT},
    )


# --- hostile values ------------------------------------------------------------


class Hostile:
    """Seeded hostile values: payloads, wrong types, absurd dates and numbers."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def payload(self) -> str:
        return self.rng.choice(PAYLOADS)

    def text(self, words: str) -> str:
        """Real words wrapped in payloads: what must survive as inert text."""
        return f"{self.payload()} {words} {self.payload()}"

    def bad_link(self) -> str:
        return self.rng.choice(BAD_LINKS)

    def absurd_date(self) -> str:
        return self.rng.choice(ABSURD_DATES)

    def wrong_type(self, depth: int = 0) -> Any:
        choices: list[Callable[[], Any]] = [
            lambda: None,
            lambda: self.rng.choice(ABSURD_NUMBERS),
            lambda: self.rng.choice([True, False]),
            lambda: [[self.payload()], [None, 1]],
            lambda: {"@type": "Thing", "name": [self.payload()]},
            lambda: self.absurd_date(),
            lambda: self.bad_link(),
            lambda: "",
            lambda: self.payload() * self.rng.randint(1, 50),
        ]
        if depth < 2:
            choices.append(lambda: [self.wrong_type(depth + 1) for _ in range(3)])
        return self.rng.choice(choices)()

    def random_bytes(self, size: int) -> bytes:
        return self.rng.randbytes(size)

    def nested(self, depth: int) -> str:
        """JSON nested ``depth`` levels deep (arrays and objects in turn)."""
        opening = "".join('{"a":' if i % 2 else "[" for i in range(depth))
        closing = "".join("}" if i % 2 else "]" for i in reversed(range(depth)))
        return f"{opening}1{closing}"


# --- schema.org pages ------------------------------------------------------------


def _job_posting(h: Hostile, url: str, number: int, closing: str) -> dict[str, Any]:
    return {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": h.text(f"Apprentice {number}"),
        "hiringOrganization": {
            "@type": "Organization",
            "name": h.text(f"Trust {number}"),
            "sameAs": h.bad_link(),
        },
        "validThrough": closing,
        "datePosted": h.absurd_date(),
        "jobStartDate": h.wrong_type(),
        "description": f"<p>{h.payload()}</p><a href='{h.bad_link()}'>apply</a>",
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": h.wrong_type(),
            "value": {"value": h.rng.choice(ABSURD_NUMBERS), "unitText": "YEAR"},
        },
        "jobLocation": {
            "@type": "Place",
            "address": {"postalCode": h.text("SW1A 1AA"), "addressLocality": 7},
        },
        "employmentType": [["FULL_TIME"], None],
        "totalJobOpenings": h.rng.choice(ABSURD_NUMBERS),
        # the listing's own link: hostile on a third of the pages
        "url": h.bad_link() if h.rng.random() < 0.3 else url,
    }


def _chaos_entity(h: Hostile) -> dict[str, Any]:
    entity_type = h.rng.choice(["JobPosting", "Course", "Event", "WorkBasedProgram"])
    keys = [
        "title",
        "name",
        "hiringOrganization",
        "provider",
        "organizer",
        "validThrough",
        "startDate",
        "endDate",
        "offers",
        "location",
        "jobLocation",
        "hasCourseInstance",
        "description",
        "baseSalary",
        "identifier",
        "url",
        "eventStatus",
        "eventAttendanceMode",
        "@id",
    ]
    entity: dict[str, Any] = {"@context": "https://schema.org", "@type": entity_type}
    entity.update({key: h.wrong_type() for key in keys if h.rng.random() < 0.7})
    return entity


def _html(blocks: list[str], extra: str = "") -> str:
    scripts = "".join(
        f'<script type="application/ld+json">{b}</script>' for b in blocks
    )
    return f"<html><head><title>x</title>{scripts}</head><body>{extra}</body></html>"


def _ld(value: Any) -> str:
    return json.dumps(value).replace("</", "<\\/")


def _good_page(h: Hostile, url: str, number: int) -> tuple[Page, Expected]:
    closed = h.rng.random() < 0.5
    closing = h.rng.choice(PAST_CLOSING if closed else FUTURE_CLOSING)
    html = _html([_ld(_job_posting(h, url, number, closing))], h.payload())
    encoding, declared = h.rng.choice(
        [
            ("utf-8", "utf-8"),
            ("cp1252", "utf-8"),
            ("utf-8", "iso-8859-1"),
            ("utf-8", ""),
        ]
    )
    content_type = f"text/html; charset={declared}" if declared else "text/html"
    body = html.encode(encoding, errors="replace")
    page = Page(url, body, content_type, f"schema_org/good/{encoding}-as-{declared}")
    return page, Expected("hostile_schema_org", url, "closed" if closed else "active")


def _broken_page(h: Hostile, url: str) -> Page:
    kind = h.rng.choice(
        ["truncated", "chaos", "random_bytes", "nested", "many", "not_html"]
    )
    content_type: str | None = "text/html; charset=utf-8"
    if kind == "truncated":
        html = _html([_ld(_chaos_entity(h))], "<div><p><table>" * 50)
        body = html.encode()[: h.rng.randint(1, len(html))]
    elif kind == "chaos":
        body = _html([_ld(_chaos_entity(h)) for _ in range(3)]).encode()
    elif kind == "random_bytes":
        body = h.random_bytes(h.rng.randint(0, 4096))
        content_type = h.rng.choice([None, "text/html", "application/octet-stream"])
    elif kind == "nested":
        body = _html([h.nested(h.rng.choice([200, 5000, 50000]))]).encode()
    elif kind == "many":
        graph = {"@graph": [_chaos_entity(h) for _ in range(h.rng.randint(5, 40))]}
        body = _html([_ld(graph), "[[[[", '{"@type": "JobPosting",']).encode()
    else:
        body = b'{"@type": "JobPosting", "title": "json not html"}'
        content_type = h.rng.choice(["application/json", "text/plain; charset=utf-16"])
    return Page(url, body, content_type, f"schema_org/{kind}")


def _large_page(h: Hostile, url: str, number: int) -> tuple[Page, Expected]:
    page, expected = _good_page(h, url, number)
    filler = b"<p>" + b"x" * 1000 + b"</p>"
    repeats = max(0, (LARGE_BODY - len(page.body)) // len(filler))
    page.body = page.body.replace(b"</body>", filler * repeats + b"</body>")
    page.kind = "schema_org/large"
    return page, expected


def _schema_org_pages(h: Hostile, corpus: Corpus, count: int, large: int) -> None:
    urls = [f"{SITE}/vacancy/{n}" for n in range(count)]
    for number, url in enumerate(urls):
        if number < large:
            page, expected = _large_page(h, url, number)
        elif h.rng.random() < 0.5:
            page, expected = _good_page(h, url, number)
        else:
            corpus.pages.append(_broken_page(h, url))
            continue
        corpus.pages.append(page)
        corpus.expected.append(expected)
    locs = [*urls, h.bad_link(), h.bad_link()]
    entries = "".join(f"<url><loc>{_xml(u)}</loc></url>" for u in locs)
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?><urlset '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    )
    corpus.pages.append(Page(SITEMAP, sitemap.encode(), "application/xml", "sitemap"))
    corpus.sources.append(
        SourceSpec("hostile_schema_org", "schema_org", {"sitemap_urls": [SITEMAP]})
    )


def _xml(text: str) -> str:
    cleaned = "".join(c for c in text if c >= " ")
    return cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --- job-board documents -----------------------------------------------------------


def _posting(h: Hostile, platform: str, board: str, number: int) -> dict[str, Any]:
    url = f"https://{platform}.hostile.example.org/{board}/{number}"
    title = h.text(f"Intern {number}")
    posting: dict[str, Any] = {"id": f"{board}-{number}"}
    if platform == "greenhouse":
        posting.update(
            title=title,
            absolute_url=url,
            location={"name": h.text("Leeds LS1 4AP")},
            application_deadline=h.rng.choice(
                [*ABSURD_DATES, *PAST_CLOSING, *FUTURE_CLOSING]
            ),
            first_published=h.absurd_date(),
            content=f"&lt;p&gt;{h.payload()}&lt;/p&gt;",
            departments=[{"name": h.payload()}],
            company_name=h.text("Board Co"),
        )
    elif platform == "lever":
        posting.update(
            text=title,
            hostedUrl=url,
            applyUrl=h.bad_link(),
            categories={"allLocations": [h.text("Manchester M1 1AE")], "team": 5},
            salaryRange={"min": h.rng.choice(ABSURD_NUMBERS), "max": -5, "interval": 3},
            description=f"<p>{h.payload()}</p>",
            lists=[{"text": h.payload(), "content": f"<li>{h.payload()}</li>"}],
            workplaceType=h.payload(),
        )
    else:
        posting.update(
            title=title,
            jobUrl=url,
            applyUrl=h.bad_link(),
            location=h.text("Bristol"),
            secondaryLocations=[{"location": h.payload()}],
            compensation={"scrapeableCompensationSalarySummary": h.payload()},
            publishedAt=h.absurd_date(),
            descriptionHtml=f"<script>{h.payload()}</script><p>Learn</p>",
            isRemote=h.rng.choice([True, False]),
        )
    return posting


def _board_document(
    h: Hostile, platform: str, board: str, postings: int, corpus: Corpus
) -> Page:
    url = BOARD_APIS[platform].format(board=board)
    source = f"hostile_{platform}_{board}"
    items = [_posting(h, platform, board, n) for n in range(postings)]
    for item in items:
        status = _status_of(item.get("application_deadline"))
        corpus.expected.append(Expected(source, str(item["id"]), status))
    # a few broken postings among the good ones, as a real board might send
    for _ in range(max(1, postings // 10)):
        items.insert(h.rng.randint(0, len(items)), _chaos_posting(h))
    data: Any = {"jobs": items} if platform != "lever" else items
    body = json.dumps(data).encode()
    return Page(url, body, "application/json; charset=utf-8", f"{platform}/good")


def _status_of(closing: str | None) -> str:
    """The status a planted closing date must give; "any" for absurd ones."""
    if closing in PAST_CLOSING:
        return "closed"
    if closing is None or closing in FUTURE_CLOSING:
        return "active"
    return ANY_STATUS


def _board_chaos(h: Hostile, platform: str, board: str) -> Page:
    url = BOARD_APIS[platform].format(board=board)
    kind = h.rng.choice(
        ["random_bytes", "truncated", "nested", "wrong_top", "chaos_postings", "html"]
    )
    good = json.dumps({"jobs": [_posting(h, platform, board, 0)]})
    if kind == "random_bytes":
        body = h.random_bytes(h.rng.randint(0, 2048))
    elif kind == "truncated":
        body = good.encode()[: h.rng.randint(0, len(good) - 1)]
    elif kind == "nested":
        body = h.nested(h.rng.choice([500, 5000, 100000])).encode()
    elif kind == "wrong_top":
        body = json.dumps(h.rng.choice([None, 5, "jobs", {"jobs": {"a": 1}}])).encode()
    elif kind == "chaos_postings":
        postings = [_chaos_posting(h) for _ in range(h.rng.randint(1, 20))]
        body = json.dumps({"jobs": postings} if platform != "lever" else postings)
        body = body.encode()
    else:
        body = b"<html><body>Service Unavailable</body></html>"
    return Page(url, body, "application/json", f"{platform}/{kind}")


def _chaos_posting(h: Hostile) -> Any:
    if h.rng.random() < 0.2:
        return h.wrong_type()
    keys = [
        "id",
        "title",
        "text",
        "absolute_url",
        "hostedUrl",
        "jobUrl",
        "location",
        "departments",
        "categories",
        "salaryRange",
        "lists",
        "secondaryLocations",
        "compensation",
        "content",
        "descriptionHtml",
        "applyUrl",
    ]
    return {key: h.wrong_type() for key in keys if h.rng.random() < 0.7}


def _board_documents(h: Hostile, corpus: Corpus, boards: int, postings: int) -> None:
    for platform in BOARD_APIS:
        for number in range(boards):
            board = f"hostile{number}"
            if number == 0:
                page = _board_document(h, platform, board, postings, corpus)
            else:
                page = _board_chaos(h, platform, board)
            corpus.pages.append(page)
            corpus.sources.append(
                SourceSpec(
                    f"hostile_{platform}_{board}",
                    platform,
                    {"board": board, "provider": h.text("Board Co")},
                )
            )


# --- a declarative site ------------------------------------------------------------

DECLARATIVE_ARGS: dict[str, Any] = {
    "start_urls": [f"{CHARITY}/opportunities?page=1"],
    "item": "li.opportunity",
    "next_page": "a[rel=next]::attr(href)",
    "max_pages": 100000,
    "provider": "Hostile Charity",
    "fields": {
        "title": "h3 ::text",
        "url": "h3 a::attr(href)",
        "closing_text": ".closes ::text",
        "location_texts": ".where ::text",
        "pay_text": ".pay ::text",
        "apply_url": "a.apply::attr(href)",
    },
    "detail_fields": {"description_html": "main .body"},
}


def _declarative_item(h: Hostile, page: int, slot: int) -> tuple[str, str | None]:
    number = page * 10 + slot
    if h.rng.random() < 0.1:
        href = h.bad_link()
        detail = None
    else:
        href = f"{CHARITY}/opportunity/{number}"
        detail = href
    title = _escape(h.text(f"Summer school {number}"))
    item = (
        f'<li class="opportunity"><h3><a href="{_escape(href)}">{title}</a></h3>'
        f'<span class="closes">{_escape(h.absurd_date())}</span>'
        f'<span class="where">{_escape(h.payload())} M1 1AE</span>'
        f'<span class="pay">{_escape(h.payload())} £{h.rng.choice(ABSURD_NUMBERS)}'
        f'</span><a class="apply" href="{_escape(h.bad_link())}">apply</a></li>'
    )
    return item, detail


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _detail_page(h: Hostile, url: str) -> Page:
    kind = h.rng.choice(
        ["good", "random_bytes", "truncated", "wrong_encoding", "empty"]
    )
    content_type: str | None = "text/html; charset=utf-8"
    html = f"<html><body><main><div class='body'>{h.payload()}<p>Free</p>"
    html += f"<a href='{h.bad_link()}'>x</a><iframe src='{h.bad_link()}'></iframe>"
    html += "</div></main></body></html>"
    if kind == "good":
        body = html.encode()
    elif kind == "random_bytes":
        body = h.random_bytes(h.rng.randint(1, 4096))
        content_type = h.rng.choice([None, "application/octet-stream", "image/png"])
    elif kind == "truncated":
        body = html.encode()[: h.rng.randint(1, len(html))]
    elif kind == "wrong_encoding":
        body = html.encode("utf-16")
        content_type = "text/html; charset=utf-8"
    else:
        body = b""
    return Page(url, body, content_type, f"declarative/detail/{kind}")


def _declarative_pages(h: Hostile, corpus: Corpus, list_pages: int) -> None:
    source = "hostile_declarative"
    for page in range(1, list_pages + 1):
        items = [_declarative_item(h, page, slot) for slot in range(5)]
        following = (
            f'<a rel="next" href="/opportunities?page={page + 1}">next</a>'
            if page < list_pages
            else ""
        )
        html = (
            f"<html><body>{following}<ul>{''.join(i for i, _ in items)}</ul>"
            f"{'<div>' * h.rng.randint(0, 200)}"
        )
        url = f"{CHARITY}/opportunities?page={page}"
        corpus.pages.append(
            Page(url, html.encode(), "text/html; charset=utf-8", "declarative/list")
        )
        for _, detail in items:
            if detail is None:
                continue
            corpus.pages.append(_detail_page(h, detail))
            corpus.expected.append(Expected(source, detail, ANY_STATUS))
    corpus.sources.append(SourceSpec(source, "declarative", DECLARATIVE_ARGS))


# --- the whole corpus --------------------------------------------------------------


def build_corpus(
    seed: int, pages: int, *, boards: int = 3, postings: int = 20, large: int = 1
) -> Corpus:
    """About ``pages`` hostile responses: 60% schema.org pages, the rest a
    declarative site (a list page per five detail pages) and ``boards``
    documents per job-board platform."""
    h = Hostile(seed)
    corpus = Corpus(seed)
    schema_pages = max(1, pages * 6 // 10)
    list_pages = max(1, (pages - schema_pages) // 6)
    _schema_org_pages(h, corpus, schema_pages, large)
    _declarative_pages(h, corpus, list_pages)
    _board_documents(h, corpus, boards, postings)
    return corpus
