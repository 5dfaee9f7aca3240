"""Scraped text stays inert in every output, and no filter value gives a 500."""

from __future__ import annotations

import csv
import io
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI

from hub.web.exports import xml_text
from tests.reliability.web_client import (
    FEED_FILTERS,
    HOSTILE_VALUES,
    OPPORTUNITY_FILTERS,
    SCRIPT,
    TYPED,
    fetch,
    filter_params,
    hostile_feed,
    hostile_record,
)

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
ATOM = "{http://www.w3.org/2005/Atom}"
JSON_OUTPUTS = [
    "/opportunities?in_scope=any",
    "/opportunities/opp_3",
    "/feed",
    "/export.jsonl",
    "/export.jsonld",
    "/export.openreferral.json",
    "/feed.json",
]


@pytest.fixture(scope="module")
def app(
    tmp_path_factory: pytest.TempPathFactory, module_database_url: str
) -> Iterator[FastAPI]:
    """On every backend: PostgreSQL refuses text that SQLite stores (a NUL)."""
    yield from hostile_feed(tmp_path_factory.mktemp("feed"), 20, module_database_url)


def _json_values(text: str) -> list[object]:
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        return [json.loads(line) for line in text.splitlines() if line.strip()]


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", [pytest.param(p, id=p) for p in JSON_OUTPUTS])
def test_json_outputs_are_json_and_keep_scripts_as_data(app: FastAPI, path: str):
    answer = fetch(app, path)

    assert answer.status == 200
    assert "html" not in answer.headers["content-type"]
    strings = [s for v in _json_values(answer.text) for s in _strings(v)]
    assert any(SCRIPT in s for s in strings), "the payload should survive as text"
    links = [s for s in strings if s.lower().startswith(("javascript:", "data:"))]
    assert links == []


def test_atom_is_well_formed_and_its_text_is_escaped(app: FastAPI):
    answer = fetch(app, "/feed.atom")
    root = ET.fromstring(answer.text.encode())

    titles = [e.text for e in root.iter(f"{ATOM}title")][1:]
    tags = {e.tag for e in root.iter()}
    assert answer.status == 200 and len(titles) == 20
    assert not [t for t in tags if not t.startswith(ATOM)], "no injected element"
    assert titles[-1] == hostile_record(0)["title"]
    for link in root.iter(f"{ATOM}link"):
        assert link.get("href", "").startswith(("http://", "https://"))


def test_csv_cells_never_start_a_formula(app: FastAPI):
    answer = fetch(app, "/export.csv")
    rows = list(csv.reader(io.StringIO(answer.text)))

    assert answer.status == 200 and len(rows) == 21
    formulas = [c for row in rows for c in row if c.startswith(FORMULA_START)]
    assert formulas == []
    assert rows[1][1].startswith("'=HYPERLINK")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param("<script>", "&lt;script&gt;", id="tags"),
        pytest.param("a & b", "a &amp; b", id="ampersand"),
        pytest.param("x\x00y\x0bz", "xyz", id="nul-and-control-dropped"),
        pytest.param("\ufffe\udfff!", "!", id="non-characters-dropped"),
        pytest.param(None, "", id="none"),
    ],
)
def test_xml_text_escapes_and_drops_what_xml_cannot_hold(value, expected):
    assert xml_text(value) == expected


CASES = [
    pytest.param(path, name, value, id=f"{path}-{name}-{index}")
    for path, names in (
        ("/opportunities", OPPORTUNITY_FILTERS),
        ("/feed", FEED_FILTERS),
    )
    for name in names
    for index, value in enumerate(HOSTILE_VALUES)
]


@pytest.mark.parametrize(("path", "name", "value"), CASES)
def test_hostile_filter_values_never_give_a_500(
    app: FastAPI, path: str, name: str, value: str
):
    answer = fetch(app, path, filter_params(path, name, value))

    assert answer.status < 500, answer.text[:300]
    if name in TYPED:
        assert 400 <= answer.status < 500, answer.text[:300]
    if answer.status >= 400:
        assert json.loads(answer.text)["error"], "a JSON error body"


def test_a_negative_radius_is_refused(app: FastAPI):
    answer = fetch(app, "/opportunities", {"near": "SW1A", "radius_km": "-5"})
    assert answer.status == 422
    assert "radius_km" in json.loads(answer.text)["error"]["message"]


def test_an_unknown_or_path_shaped_id_is_a_404(app: FastAPI, tmp_path: Path):
    for opportunity_id in ("..%2F..%2Fetc%2Fpasswd", "opp_0' OR '1'='1", "%00"):
        assert fetch(app, f"/opportunities/{opportunity_id}").status == 404
