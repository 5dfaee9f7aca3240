"""An in-process client of the feed app (httpx over ASGI) and a hostile feed db."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from hub.web.app import create_app
from pipelines.store import to_jsonable
from storage.session import make_engine, migrate, session_factory
from tests.reliability.hostile import PAYLOADS
from tests.web.feed_builders import FeedDb, golden, write_geography

SCRIPT = "<script>alert(1)</script>"
FORMULA = '=HYPERLINK("https://evil.example.net","x")'
TEXT_FIELDS = ("title", "provider_name", "summary", "description_text")


@dataclass
class Answer:
    status: int
    text: str
    headers: dict[str, str]


def fetch(app: FastAPI, path: str, params: Any = None) -> Answer:
    """One GET through httpx.ASGITransport, answered in this process."""

    async def get() -> Answer:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            response = await client.get(path, params=params)
            return Answer(response.status_code, response.text, dict(response.headers))

    return asyncio.run(get())


def hostile_record(number: int) -> dict[str, Any]:
    """A golden record whose every text field carries a script or formula."""
    payload = PAYLOADS[number % len(PAYLOADS)]
    record = golden(f"{FORMULA} {SCRIPT} Apprentice {number} {payload}")
    record.update(
        title=f"{FORMULA} {SCRIPT} Apprentice {number} {payload}",
        provider_name=f"{SCRIPT}{payload} Trust",
        summary=f"]]></summary><script>alert(2)</script>{payload}",
        description_text=f"</entry>{SCRIPT}{payload}",
        attributions=[f"{SCRIPT} attribution"],
        licences=[FORMULA],
        apply_url=f"https://brightpath.example.org/apply/{number}?q=<script>",
        provider_url="javascript:alert(1)",
    )
    record["locations"][0]["text"] = f"{SCRIPT} SW1A"
    return record


def hostile_feed(
    folder: Path, count: int = 20, database_url: str | None = None
) -> Iterator[FastAPI]:
    """An app over a published feed of ``count`` hostile opportunities, in
    ``database_url`` (empty; a SQLite file in ``folder`` when not given)."""
    database_url = database_url or f"sqlite:///{folder / 'feed.sqlite'}"
    engine = make_engine(database_url)
    migrate(engine)
    feed_db = FeedDb(database_url, session_factory(engine))
    for number in range(count):
        # as the store pipeline keeps it: no NUL, which PostgreSQL cannot hold
        feed_db.add(f"opp_{number}", to_jsonable(hostile_record(number)))
    feed_db.publish()
    app = create_app(database_url, geo_dir=str(write_geography(folder)))
    yield app
    app.state.hub.close()
    engine.dispose()


HOSTILE_VALUES = [
    "' OR 1=1 --",
    '"; DROP TABLE opportunities; --',
    "\x00",
    "%00",
    "1e309",
    "99999999999999999999999999999",
    "-1",
    "-25",
    "NaN",
    "inf",
    "\u202e\u0000\ud7ff",
    "ＳＷ１Ａ",
    "x" * 5000,
    "2023-02-30T25:00:00",
    "../../etc/passwd",
    "<script>alert(1)</script>",
]
OPPORTUNITY_FILTERS = [
    "q",
    "type",
    "in_scope",
    "region",
    "local_authority",
    "near",
    "radius_km",
    "mode",
    "age",
    "closing_after",
    "criteria",
    "provider_kind",
    "source",
    "sort",
    "limit",
    "cursor",
]
FEED_FILTERS = ["afterTimestamp", "afterId", "limit", "scope"]
# filters whose type no hostile value above can satisfy: these must be a 4xx
# (closing_after is not: pydantic reads a huge number as a Unix time)
TYPED = {
    "in_scope",
    "mode",
    "provider_kind",
    "sort",
    "radius_km",
    "age",
    "limit",
    "afterTimestamp",
    "scope",
}


def filter_params(path: str, name: str, value: str) -> dict[str, str]:
    """The query for one hostile filter value, with what the filter needs."""
    params = {name: value}
    if path == "/feed" and name in ("afterTimestamp", "afterId"):
        params = {"afterTimestamp": "1", "afterId": "opp_1", name: value}
    if name == "radius_km":
        params["near"] = "SW1A"
    return params


def filter_cases() -> list[tuple[str, str, str]]:
    return [
        (path, name, value)
        for path, names in (
            ("/opportunities", OPPORTUNITY_FILTERS),
            ("/feed", FEED_FILTERS),
        )
        for name in names
        for value in HOSTILE_VALUES
    ]
