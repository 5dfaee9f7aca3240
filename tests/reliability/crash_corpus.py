"""Three seeded editions of three sources, written as WARCs of our own, for
the crash suite.

Each edition is a week's recording of a Greenhouse board with many employers,
a Lever board of one employer and a schema.org site whose sitemap links a page
per vacancy. The site re-posts many board vacancies (same employer, title,
postcode and apply link), and re-posts some of its own, so matching merges
listings across and within sources. From one edition to the next some
vacancies change title (their duplicates split off), some site pages take up a
board vacancy (two opportunities merge), some close, some arrive; between
editions 0 and 1 some also leave, so that the run of edition 2, the one the
suite interrupts, marks them gone (the second complete run without them).
No vacancy leaves between editions 1 and 2: a second run of edition 2 then
changes nothing, so the end of any interrupted run of it can be compared with
one run that was never interrupted.
"""

from __future__ import annotations

import io
import json
import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

BOARD = "crashboard"
LEVER_BOARD = "crashlever"
LEVER_EMPLOYER = "Northern Rail Engineering"
SITE = "https://vacancies.crash.example.org"
GREENHOUSE_API = f"https://boards-api.greenhouse.io/v1/boards/{BOARD}/jobs?content=true"
LEVER_API = f"https://api.lever.co/v0/postings/{LEVER_BOARD}?mode=json"
RECORDED = {
    0: "2023-06-24T09:00:00Z",
    1: "2023-07-01T09:00:00Z",
    2: "2023-07-08T09:00:00Z",
}
# closing dates well after every edition, and one before each but the first
OPEN_UNTIL = ("2023-08-31", "2023-09-15", "2023-10-01", "2023-12-31")
CLOSED_BEFORE = {1: "2023-06-27", 2: "2023-07-04"}
LEAVING = {1: 0.05, 2: 0.0}
OUTCODES = (
    "LS1 4AP",
    "M1 1AE",
    "B1 1BB",
    "L1 8JQ",
    "NE1 4ST",
    "S1 2HE",
    "BS1 5TR",
    "NG1 5FS",
    "LE1 6ZG",
    "CV1 5FB",
    "SE1 7PB",
    "N1 9GU",
    "CF10 1EP",
    "OX1 1DP",
    "CB1 2JH",
    "BN1 1AE",
    "PL1 2AA",
    "EX1 1HS",
    "YO1 7HH",
    "HU1 2AA",
)
EMPLOYERS = (
    "Riverside Health Trust",
    "Bright Futures Academy",
    "Calder Valley Council",
    "Harbour Logistics Ltd",
    "Greenfield Energy",
    "Kingsway Solicitors LLP",
    "Meridian Software",
    "Oakwood Construction",
    "Pennine Water",
    "Quayside Hotels",
    "Redbrick University",
    "Stonebridge Bank",
    "Thameside Engineering",
    "Union Street Media",
    "Vale Care Homes",
    "Westgate Retail",
    LEVER_EMPLOYER,
)
ROLES = (
    "Level 2 Hospitality Apprentice",
    "Level 3 Business Administration Apprentice",
    "Level 3 Electrical Installation Apprentice",
    "Level 4 Software Developer Apprentice",
    "Level 3 Dental Nurse Apprentice",
    "Level 6 Civil Engineering Degree Apprentice",
    "Summer Internship in Data Analysis",
    "Summer Internship in Marketing",
    "Finance Trainee",
    "Trainee Surveyor",
    "Warehouse Operative",
    "Customer Service Adviser",
    "Level 3 Plumbing Apprentice",
    "Level 2 Carpentry Apprentice",
    "Legal Trainee",
    "Work Experience Week in Journalism",
)
SITES = ("Main site", "North depot", "City office", "Riverside campus", "Town centre")


@dataclass(frozen=True)
class Vacancy:
    """One vacancy as its source states it in one edition."""

    key: str
    employer: str
    title: str
    postcode: str
    closing: str
    pay: int
    apply_url: str
    description: str


@dataclass
class Edition:
    number: int
    board: list[Vacancy] = field(default_factory=list)
    lever: list[Vacancy] = field(default_factory=list)
    site: list[Vacancy] = field(default_factory=list)

    def count(self) -> int:
        return len(self.board) + len(self.lever) + len(self.site)


@dataclass
class CrashCorpus:
    seed: int
    editions: dict[int, Edition]

    def write(self, folder: Path) -> dict[int, Path]:
        """One WARC per edition under ``folder``, and the registry beside them."""
        paths = {}
        for number, edition in self.editions.items():
            paths[number] = _write_warc(edition, folder / f"edition-{number}.warc.gz")
        (folder / "sources.toml").write_text(REGISTRY, encoding="utf-8")
        return paths


REGISTRY = f"""
[[source]]
name = "crash_board"
spider = "greenhouse"
provider_kind = "aggregator"
trust_rank = 30
attribution = "Crash board (Greenhouse)."
[source.args]
board = "{BOARD}"
provider = "Crash Board"

[[source]]
name = "crash_lever"
spider = "lever"
provider_kind = "employer"
trust_rank = 10
attribution = "{LEVER_EMPLOYER} careers (Lever)."
[source.args]
board = "{LEVER_BOARD}"
provider = "{LEVER_EMPLOYER}"

[[source]]
name = "crash_site"
spider = "schema_org"
provider_kind = "charity"
trust_rank = 20
licence = "CC-BY-4.0"
attribution = "Crash vacancies site."
[source.args]
sitemap_urls = ["{SITE}/sitemap.xml"]
"""
SOURCES = ("crash_board", "crash_lever", "crash_site")


def build_crash_corpus(
    seed: int, board: int = 300, lever: int = 60, site: int = 300
) -> CrashCorpus:
    """Three editions: ``board`` Greenhouse postings, ``lever`` Lever postings,
    ``site`` schema.org pages (half of them re-posts) in the first."""
    rng = random.Random(seed)
    first = Edition(0)
    first.board = [_vacancy(rng, f"gh{n}", _gh_url(f"gh{n}")) for n in range(board)]
    first.lever = [
        _vacancy(rng, f"lv{n}", _lever_url(f"lv{n}"), LEVER_EMPLOYER)
        for n in range(lever)
    ]
    first.site = _site_pages(rng, first, site)
    second = _next_edition(rng, first, 1)
    return CrashCorpus(seed, {0: first, 1: second, 2: _next_edition(rng, second, 2)})


def _vacancy(
    rng: random.Random, key: str, apply_url: str, employer: str | None = None
) -> Vacancy:
    title = rng.choice(ROLES)
    return Vacancy(
        key=key,
        employer=employer or rng.choice(EMPLOYERS),
        title=f"{title}, {rng.choice(SITES)} {key}",
        postcode=rng.choice(OUTCODES),
        closing=rng.choice(OPEN_UNTIL),
        pay=rng.randrange(14000, 32000, 500),
        apply_url=apply_url,
        description=(
            f"Join us as a {title.lower()}. You will learn on the job with "
            f"day release to college. Reference {key}."
        ),
    )


def _gh_url(key: str) -> str:
    return f"https://boards.greenhouse.io/{BOARD}/jobs/{key}"


def _lever_url(key: str) -> str:
    return f"https://jobs.lever.co/{LEVER_BOARD}/{key}"


def _site_url(key: str) -> str:
    return f"{SITE}/vacancy/{key}"


def _site_pages(rng: random.Random, edition: Edition, count: int) -> list[Vacancy]:
    """Half re-posts of board and Lever vacancies, some twice; the rest own."""
    pages = []
    originals = edition.board + edition.lever
    for number in range(count):
        key = f"st{number}"
        if number % 2 == 0 and originals:
            original = rng.choice(originals)
            pages.append(replace(original, key=key))
        elif number % 7 == 1 and pages:
            pages.append(replace(rng.choice(pages), key=key))
        else:
            pages.append(_vacancy(rng, key, _site_url(key)))
    return pages


def _next_edition(rng: random.Random, last: Edition, number: int) -> Edition:
    edition = Edition(number)
    for name in ("board", "lever", "site"):
        kept = []
        for vacancy in getattr(last, name):
            roll = rng.random()
            if roll < LEAVING[number]:
                continue
            if roll < 0.07:
                vacancy = replace(vacancy, title=f"{vacancy.title} (re-advertised)")
            elif roll < 0.12:
                vacancy = replace(vacancy, closing=CLOSED_BEFORE[number])
            elif roll < 0.17:
                vacancy = replace(vacancy, pay=vacancy.pay + 1000)
            kept.append(vacancy)
        setattr(edition, name, kept)
    # site pages that now re-post a board vacancy: two opportunities merge
    own = [v for v in edition.site if v.apply_url.startswith(SITE)]
    for vacancy in rng.sample(own, min(len(own), len(edition.site) // 20)):
        original = rng.choice(edition.board)
        index = edition.site.index(vacancy)
        edition.site[index] = replace(original, key=vacancy.key)
    start = 1 + max(int(v.key.removeprefix("gh")) for v in edition.board)
    edition.board += [
        _vacancy(rng, f"gh{n}", _gh_url(f"gh{n}"))
        for n in range(start, start + len(edition.board) // 20)
    ]
    return edition


# --- the WARC -----------------------------------------------------------------


def _write_warc(edition: Edition, path: Path) -> Path:
    recorded = RECORDED[edition.number]
    with path.open("wb") as stream:
        writer = WARCWriter(stream, gzip=True)
        for url, body, content_type in _responses(edition):
            writer.write_record(_record(writer, url, body, content_type, recorded))
    return path


def _responses(edition: Edition) -> list[tuple[str, bytes, str]]:
    json_type = "application/json; charset=utf-8"
    html_type = "text/html; charset=utf-8"
    responses = [
        (
            GREENHOUSE_API,
            _json({"jobs": [_greenhouse(v) for v in edition.board]}),
            json_type,
        ),
        (LEVER_API, _json([_lever(v) for v in edition.lever]), json_type),
        (f"{SITE}/robots.txt", b"User-agent: *\nAllow: /\n", "text/plain"),
        (f"{SITE}/sitemap.xml", _sitemap(edition.site), "application/xml"),
    ]
    responses += [(_site_url(v.key), _page(v), html_type) for v in edition.site]
    return responses


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _record(
    writer: WARCWriter, url: str, body: bytes, content_type: str, recorded: str
) -> Any:
    headers = StatusAndHeaders(
        "200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1"
    )
    return writer.create_warc_record(
        url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
        http_headers=headers,
        warc_headers_dict={"WARC-Date": recorded},
    )


def _greenhouse(vacancy: Vacancy) -> dict[str, Any]:
    return {
        "id": vacancy.key,
        "title": vacancy.title,
        "company_name": vacancy.employer,
        "absolute_url": vacancy.apply_url,
        "location": {"name": f"{vacancy.postcode}"},
        "application_deadline": vacancy.closing,
        "first_published": "2023-06-01T09:00:00Z",
        "content": f"&lt;p&gt;{vacancy.description} Salary £{vacancy.pay:,} a year."
        "&lt;/p&gt;",
        "departments": [{"name": "Early careers"}],
    }


def _lever(vacancy: Vacancy) -> dict[str, Any]:
    return {
        "id": vacancy.key,
        "text": vacancy.title,
        "hostedUrl": vacancy.apply_url,
        "applyUrl": vacancy.apply_url,
        "categories": {"allLocations": [vacancy.postcode], "team": "Early careers"},
        "salaryRange": {
            "min": vacancy.pay,
            "max": vacancy.pay,
            "currency": "GBP",
            "interval": "per-year-salary",
        },
        "description": f"<p>{vacancy.description} Closes {vacancy.closing}.</p>",
    }


def _sitemap(pages: list[Vacancy]) -> bytes:
    entries = "".join(f"<url><loc>{_site_url(v.key)}</loc></url>" for v in pages)
    return (
        '<?xml version="1.0" encoding="UTF-8"?><urlset '
        f'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>'
    ).encode()


def _page(vacancy: Vacancy) -> bytes:
    posting = {
        "@context": "https://schema.org",
        "@type": "JobPosting",
        "title": vacancy.title,
        "hiringOrganization": {"@type": "Organization", "name": vacancy.employer},
        "validThrough": vacancy.closing,
        "datePosted": "2023-06-01",
        "description": f"<p>{vacancy.description}</p>",
        "baseSalary": {
            "@type": "MonetaryAmount",
            "currency": "GBP",
            "value": {
                "@type": "QuantitativeValue",
                "value": vacancy.pay,
                "unitText": "YEAR",
            },
        },
        "jobLocation": {
            "@type": "Place",
            "address": {"@type": "PostalAddress", "postalCode": vacancy.postcode},
        },
        "url": vacancy.apply_url,
    }
    script = json.dumps(posting).replace("</", "<\\/")
    return (
        "<html><head><title>Vacancy</title>"
        f'<script type="application/ld+json">{script}</script></head>'
        f"<body><h1>{vacancy.title}</h1></body></html>"
    ).encode()
