"""Exports of the published feed, streamed row by row from a ``yield_per`` query.

Each renderer turns (id, modified, change_no, golden) rows into text chunks, so
the same code serves ``GET /export.*`` and writes the files of ``hub publish``.
Scraped text stays data: JSON is encoded by ``json``, XML is escaped and
stripped of characters XML cannot hold, CSV cells that a spreadsheet would run
as a formula are prefixed with an apostrophe, and only http(s) links appear.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote
from xml.sax.saxutils import escape, quoteattr

import anyio
import anyio.to_thread
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import Receive, Scope, Send

from hub.web.context import FeedContext, get_context
from hub.web.errors import ERROR_RESPONSES, refuse_unknown_parameters
from hub.web.etag import etag_for, not_modified
from storage.feed import feed_fingerprint, list_published_golden
from storage.records import dumps, golden_record, safe_url

Row = tuple[str, datetime, int, dict[str, Any]]
Renderer = Callable[[Iterable[Row], str, str], Iterator[str]]
CHUNK_CHARS = 64 * 1024
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
JOB_TYPES = frozenset(
    {
        "apprenticeship",
        "traineeship",
        "internship",
        "placement",
        "graduate_scheme",
        "job",
        "volunteering",
    }
)
EMPLOYMENT_TYPE = {"internship": "INTERN", "volunteering": "VOLUNTEER"}
PAY_UNIT = {
    "hour": "HOUR",
    "day": "DAY",
    "week": "WEEK",
    "month": "MONTH",
    "year": "YEAR",
}
PROGRAMME_MODE = {"in_person": "in person", "remote": "online", "hybrid": "blended"}


@dataclass(frozen=True)
class Export:
    filename: str
    media_type: str
    render: Renderer
    newest_first: bool = False


# identities (Atom ids, JSON-LD @id) are names, not addresses: the same
# whichever host or folder serves the export, so a reader never sees one
# opportunity twice
FEED_URN = "urn:opportunity-hub:feed"


def opportunity_urn(opportunity_id: str) -> str:
    return f"urn:opportunity-hub:opportunity:{quote(opportunity_id, safe='')}"


# --- JSON Lines -------------------------------------------------------------


def render_jsonl(rows: Iterable[Row], base_url: str, licence: str) -> Iterator[str]:
    for opportunity_id, modified, change_no, golden in rows:
        record = golden_record(opportunity_id, "live", modified, golden)
        record["change_no"] = change_no
        yield dumps(record) + "\n"


# --- CSV --------------------------------------------------------------------

CSV_COLUMNS = (
    "id",
    "title",
    "provider_name",
    "opportunity_type",
    "level",
    "closing_date",
    "posted_date",
    "start_date",
    "mode",
    "postcode",
    "outcode",
    "local_authority",
    "region",
    "pay_min",
    "pay_max",
    "pay_period",
    "age_min",
    "age_max",
    "criteria",
    "apply_url",
    "sources",
    "licences",
    "attributions",
    "modified",
)


def render_csv(rows: Iterable[Row], base_url: str, licence: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([_cell(value) for value in _csv_values(row)])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _csv_values(row: Row) -> list[Any]:
    opportunity_id, modified, _change_no, golden = row
    place = _first_place(golden)
    pay = golden.get("pay") if isinstance(golden.get("pay"), dict) else {}
    eligibility = _eligibility(golden)
    return [
        opportunity_id,
        golden.get("title"),
        golden.get("provider_name"),
        golden.get("opportunity_type"),
        golden.get("level"),
        golden.get("closing_date"),
        golden.get("posted_date"),
        golden.get("start_date"),
        golden.get("mode"),
        place.get("postcode"),
        place.get("outcode"),
        place.get("local_authority"),
        place.get("region"),
        pay.get("min"),
        pay.get("max"),
        pay.get("period"),
        eligibility.get("age_min"),
        eligibility.get("age_max"),
        ";".join(str(c) for c in eligibility.get("criteria") or []),
        safe_url(golden.get("apply_url")),
        ";".join(str(s) for s in golden.get("sources") or []),
        ";".join(str(s) for s in golden.get("licences") or []),
        " | ".join(str(s) for s in golden.get("attributions") or []),
        modified.isoformat(),
    ]


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _first_place(golden: dict[str, Any]) -> dict[str, Any]:
    places = [p for p in golden.get("locations") or [] if isinstance(p, dict)]
    return places[0] if places else {}


def _eligibility(golden: dict[str, Any]) -> dict[str, Any]:
    value = golden.get("eligibility")
    return value if isinstance(value, dict) else {}


# --- schema.org JSON-LD -------------------------------------------------------


def render_jsonld(rows: Iterable[Row], base_url: str, licence: str) -> Iterator[str]:
    head = {"@context": "https://schema.org", "license": licence}
    yield _json(head)[:-1] + ',"@graph":['
    for index, (opportunity_id, modified, _change_no, golden) in enumerate(rows):
        node = schema_org_node(opportunity_id, modified, golden)
        yield ("," if index else "") + _json(node)
    yield "]}\n"


def schema_org_node(
    opportunity_id: str, modified: datetime, golden: dict[str, Any]
) -> dict[str, Any]:
    """A JobPosting, or an EducationalOccupationalProgram for programmes."""
    kind = golden.get("opportunity_type")
    common = {
        "@id": opportunity_urn(opportunity_id),
        "url": safe_url(golden.get("apply_url")),
        "description": golden.get("description_text") or golden.get("summary"),
        "dateModified": modified.isoformat(),
    }
    if kind in JOB_TYPES:
        node = _job_posting(golden, kind)
    else:
        node = _programme(golden)
    return _drop_empty({**node, **common})


def _organisation(golden: dict[str, Any]) -> dict[str, Any]:
    return {
        "@type": "Organization",
        "name": golden.get("provider_name"),
        "url": safe_url(golden.get("provider_url")),
    }


def _places(golden: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "@type": "Place",
            "address": {
                "@type": "PostalAddress",
                "streetAddress": place.get("text"),
                "postalCode": place.get("postcode") or place.get("outcode"),
                "addressLocality": place.get("local_authority"),
                "addressRegion": place.get("region"),
                "addressCountry": "GB",
            },
            "geo": {
                "@type": "GeoCoordinates",
                "latitude": place.get("lat"),
                "longitude": place.get("lon"),
            }
            if place.get("lat") is not None
            else None,
        }
        for place in golden.get("locations") or []
        if isinstance(place, dict)
    ]


def _job_posting(golden: dict[str, Any], kind: str) -> dict[str, Any]:
    pay = golden.get("pay") if isinstance(golden.get("pay"), dict) else {}
    salary = None
    if pay.get("min") is not None or pay.get("max") is not None:
        salary = {
            "@type": "MonetaryAmount",
            "currency": pay.get("currency") or "GBP",
            "value": {
                "@type": "QuantitativeValue",
                "minValue": pay.get("min"),
                "maxValue": pay.get("max"),
                "unitText": PAY_UNIT.get(str(pay.get("period"))),
            },
        }
    return {
        "@type": "JobPosting",
        "title": golden.get("title"),
        "datePosted": golden.get("posted_date"),
        "validThrough": golden.get("closing_date"),
        "employmentType": EMPLOYMENT_TYPE.get(kind, "OTHER" if kind != "job" else None),
        "hiringOrganization": _organisation(golden),
        "jobLocation": _places(golden),
        "jobLocationType": "TELECOMMUTE" if golden.get("mode") == "remote" else None,
        "baseSalary": salary,
    }


def _programme(golden: dict[str, Any]) -> dict[str, Any]:
    eligibility = _eligibility(golden)
    low, high = eligibility.get("age_min"), eligibility.get("age_max")
    ages = f"{low or ''}-{high or ''}" if low is not None or high is not None else None
    return {
        "@type": "EducationalOccupationalProgram",
        "name": golden.get("title"),
        "provider": _organisation(golden),
        "applicationDeadline": golden.get("closing_date"),
        "startDate": golden.get("start_date"),
        "endDate": golden.get("end_date"),
        "educationalProgramMode": PROGRAMME_MODE.get(str(golden.get("mode"))),
        "location": _places(golden),
        "typicalAgeRange": ages,
    }


def _drop_empty(value: Any) -> Any:
    if isinstance(value, dict):
        kept = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def _json(value: Any) -> str:
    # "<" escaped so that a JSON-LD document can sit in a <script> element safely
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c")


# --- Open Referral UK services --------------------------------------------------


def render_openreferral(
    rows: Iterable[Row], base_url: str, licence: str
) -> Iterator[str]:
    yield '{"content":['
    count = 0
    for opportunity_id, _modified, _change_no, golden in rows:
        yield ("," if count else "") + _json(
            openreferral_service(opportunity_id, golden)
        )
        count += 1
    yield f'],"totalElements":{count},"license":{json.dumps(licence)}}}\n'


def openreferral_service(opportunity_id: str, golden: dict[str, Any]) -> dict[str, Any]:
    """One opportunity shaped as an Open Referral UK service."""
    eligibility = _eligibility(golden)
    return {
        "id": opportunity_id,
        "name": golden.get("title"),
        "description": golden.get("description_text") or golden.get("summary"),
        "url": safe_url(golden.get("apply_url")),
        "status": "active",
        "attending_type": golden.get("mode"),
        "organization": {
            "name": golden.get("provider_name"),
            "url": safe_url(golden.get("provider_url")),
        },
        "eligibilitys": [
            {
                "minimum_age": eligibility.get("age_min"),
                "maximum_age": eligibility.get("age_max"),
                "eligibility": ", ".join(eligibility.get("criteria") or []) or None,
            }
        ],
        "service_at_locations": [
            {
                "location": {
                    "name": place.get("text"),
                    "latitude": place.get("lat"),
                    "longitude": place.get("lon"),
                    "physical_addresses": [
                        {
                            "address_1": place.get("text"),
                            "postal_code": place.get("postcode")
                            or place.get("outcode"),
                            "state_province": place.get("region"),
                            "country": "GB",
                        }
                    ],
                }
            }
            for place in golden.get("locations") or []
            if isinstance(place, dict)
        ],
        "taxonomys": [
            {"name": golden.get("opportunity_type"), "vocabulary": "opportunity-hub"}
        ],
        "attributions": golden.get("attributions") or [],
        "licences": golden.get("licences") or [],
    }


# --- JSON Feed 1.1 ------------------------------------------------------------


def render_json_feed(rows: Iterable[Row], base_url: str, licence: str) -> Iterator[str]:
    head = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "Opportunity Hub",
        "description": f"UK social mobility opportunities. Licence: {licence}",
        "home_page_url": base_url or None,
        "feed_url": f"{base_url.rstrip('/')}/feed.json" if base_url else None,
    }
    yield _json(_drop_empty(head))[:-1] + ',"items":['
    for index, (opportunity_id, modified, _change_no, golden) in enumerate(rows):
        yield ("," if index else "") + _json(
            _json_feed_item(opportunity_id, modified, golden)
        )
    yield "]}\n"


def _json_feed_item(
    opportunity_id: str, modified: datetime, golden: dict[str, Any]
) -> dict[str, Any]:
    item = {
        "id": opportunity_id,
        # where to apply: a reader opens an item's url
        "url": safe_url(golden.get("apply_url")),
        "title": golden.get("title"),
        "content_text": golden.get("description_text") or golden.get("summary") or "",
        "summary": golden.get("summary"),
        "date_published": golden.get("posted_date"),
        "date_modified": modified.isoformat(),
        "authors": [{"name": golden.get("provider_name")}],
        "tags": [t for t in (golden.get("opportunity_type"), golden.get("mode")) if t],
    }
    return _drop_empty(item)


# --- Atom -----------------------------------------------------------------------


def xml_text(value: object) -> str:
    """Text for an XML element: characters XML cannot hold dropped, then escaped."""
    return escape(_NOT_XML.sub("", "" if value is None else str(value)))


def render_atom(rows: Iterable[Row], base_url: str, licence: str) -> Iterator[str]:
    iterator = iter(rows)
    first = next(iterator, None)
    updated = first[1].isoformat() if first else "1970-01-01T00:00:00+00:00"
    own = f'<link rel="self" href={quoteattr(f"{base_url}/feed.atom")}/>'
    yield (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom">'
        f"<id>{FEED_URN}</id><title>Opportunity Hub</title>{own if base_url else ''}"
        f"<updated>{updated}</updated><author><name>Opportunity Hub</name></author>"
        f"<rights>{xml_text(licence)}</rights>\n"
    )
    if first is not None:
        yield _atom_entry(first)
    for row in iterator:
        yield _atom_entry(row)
    yield "</feed>\n"


def _atom_entry(row: Row) -> str:
    opportunity_id, modified, _change_no, golden = row
    link = safe_url(golden.get("apply_url"))
    parts = [
        f"<entry><id>{xml_text(opportunity_urn(opportunity_id))}</id>",
        f'<title type="text">{xml_text(golden.get("title") or opportunity_id)}</title>',
        f"<updated>{modified.isoformat()}</updated>",
    ]
    if link:
        parts.append(
            f'<link rel="alternate" href={quoteattr(_NOT_XML.sub("", link))}/>'
        )
    if golden.get("provider_name"):
        parts.append(
            f"<author><name>{xml_text(golden['provider_name'])}</name></author>"
        )
    summary = golden.get("summary") or golden.get("description_text")
    if summary:
        parts.append(f'<summary type="text">{xml_text(summary)}</summary>')
    rights = " | ".join(str(a) for a in golden.get("attributions") or [])
    if rights:
        parts.append(f"<rights>{xml_text(rights)}</rights>")
    parts.append("</entry>\n")
    return "".join(parts)


EXPORTS: dict[str, Export] = {
    "jsonl": Export("export.jsonl", "application/x-ndjson", render_jsonl),
    "csv": Export("export.csv", "text/csv; charset=utf-8", render_csv),
    "jsonld": Export("export.jsonld", "application/ld+json", render_jsonld),
    "openreferral": Export(
        "export.openreferral.json", "application/json", render_openreferral
    ),
    "jsonfeed": Export("feed.json", "application/feed+json", render_json_feed, True),
    "atom": Export("feed.atom", "application/atom+xml", render_atom, True),
}


def stream_export(
    factory: sessionmaker[Session], export: Export, base_url: str, licence: str
) -> Generator[bytes, None, None]:
    """The export's bytes in chunks of about CHUNK_CHARS, from one session."""
    with factory() as session:
        rows = list_published_golden(session, newest_first=export.newest_first)
        pending: list[str] = []
        size = 0
        for text in export.render(rows, base_url, licence):
            pending.append(text)
            size += len(text)
            if size >= CHUNK_CHARS:
                yield "".join(pending).encode()
                pending, size = [], 0
        yield "".join(pending).encode()


class ClosingStream(StreamingResponse):
    """A streamed answer whose maker is closed however the answer ends: sent
    whole, its client gone, or a HEAD stopped at the headers. The maker's
    session and database cursor then close at once, not whenever the garbage
    collector gets to them."""

    def __init__(self, chunks: Generator[bytes, None, None], **options: Any) -> None:
        super().__init__(chunks, **options)
        self._chunks = chunks

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # the close runs on a worker thread, as the making did; a
            # cancelled answer still waits for it
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._chunks.close)


router = APIRouter(
    tags=["exports"],
    dependencies=[Depends(refuse_unknown_parameters)],
    responses=ERROR_RESPONSES,
)


Context = Annotated[FeedContext, Depends(get_context)]


def _route(export: Export) -> Callable[..., Response]:
    def handler(request: Request, context: Context) -> Response:
        with context.factory() as session:
            etag = etag_for(
                export.filename, feed_fingerprint(session), str(request.base_url)
            )
        cached = not_modified(request, etag)
        if cached is not None:
            return cached
        base_url = str(request.base_url).rstrip("/")
        body = stream_export(context.factory, export, base_url, context.licence)
        return ClosingStream(body, media_type=export.media_type, headers={"ETag": etag})

    handler.__name__ = f"export_{export.filename.replace('.', '_')}"
    return handler


for _export in EXPORTS.values():
    router.add_api_route(
        f"/{_export.filename}",
        _route(_export),
        methods=["GET"],
        summary=f"Export: {_export.filename}",
        response_class=ClosingStream,
        status_code=200,
        responses={
            200: {
                "content": {_export.media_type: {}},
                "description": "The published feed, streamed",
            }
        },
    )
