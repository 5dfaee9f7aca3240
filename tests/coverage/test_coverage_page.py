"""The coverage page (hub.web.coverage) and the PNG map."""

from __future__ import annotations

import asyncio
import struct
import zlib
from dataclasses import replace

import httpx
import pytest
from fastapi import FastAPI

from hub.coldspots.load import Measured, SourceNote
from hub.coldspots.mapdata import NONE_COLOUR, RAMP, colour_classes, colour_of
from hub.coldspots.measure import measure_coverage
from hub.coldspots.png import MARGIN, Canvas, render_png, rgb
from hub.web.context import get_context
from hub.web.coverage import measured_coverage, render_page, router

from .cases import AREAS, AS_OF, OPPORTUNITIES

HOSTILE = '<script>alert("x")</script> & Sons'
SOURCES = [SourceNote(HOSTILE, 3, "ok", None, AS_OF)]


def hostile_report():
    areas = [replace(AREAS[0], name=HOSTILE, region="<b>North</b>"), *AREAS[1:]]
    return measure_coverage(areas, OPPORTUNITIES, AS_OF)


def get(app: FastAPI, url: str) -> httpx.Response:
    """One request through the app in process (starlette's TestClient warns that
    its httpx support is deprecated, and warnings are errors here)."""

    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as c:
            return await c.get(url)

    return asyncio.run(fetch())


def coverage_app(override: bool = True) -> FastAPI:
    app = FastAPI()
    app.include_router(router)
    # no database behind these pages: parameters are checked before it is read
    app.dependency_overrides[get_context] = lambda: None
    if override:
        app.dependency_overrides[measured_coverage] = lambda: Measured(
            hostile_report(), SOURCES
        )
    return app


def test_the_page_escapes_every_value_and_loads_nothing_else():
    response = get(coverage_app(), "/coverage")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in response.headers["content-security-policy"]
    body = response.text
    assert "<script" not in body and "<b>North" not in body
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Sons" in body
    assert "src=" not in body and "href=" not in body


@pytest.mark.parametrize(
    "words",
    [
        pytest.param("Data as of 2026-03-01T12:00:00+00:00", id="data-date"),
        pytest.param("counted separately", id="remote-apart"),
        pytest.param("Areas near borders share opportunities", id="borders"),
        pytest.param("Sources crawled: &lt;script&gt;", id="sources"),
        pytest.param("none within reach", id="legend"),
        pytest.param("<svg", id="inline-map"),
        pytest.param("The 20 coldest local authorities", id="table"),
    ],
)
def test_the_page_says_what_the_figures_show(words):
    assert words in render_page(hostile_report(), SOURCES)


def test_one_circle_per_authority_with_a_centre():
    page = render_page(hostile_report(), SOURCES)

    assert page.count("<circle") == sum(1 for a in AREAS if a.lat is not None)


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("radius_km=-1", id="negative-radius"),
        pytest.param("radius_km=5000", id="radius-too-large"),
        pytest.param("as_of=yesterday", id="not-a-date"),
    ],
)
def test_bad_parameters_are_refused(query):
    response = get(coverage_app(override=False), f"/coverage?{query}")

    assert response.status_code == 422


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        pytest.param(None, "#bdbdbd", id="no-rate"),
        pytest.param(0.0, NONE_COLOUR, id="none-within-reach"),
        pytest.param(0.04, RAMP[0], id="lowest-class"),
        pytest.param(0.5, RAMP[-1], id="highest-class"),
    ],
)
def test_colour_classes(rate, expected):
    classes = colour_classes([0.04, 0.1, 0.2, 0.5])

    assert colour_of(rate, classes) == expected


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    at, idat, size = 8, b"", (0, 0)
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind, body = data[at + 4 : at + 8], data[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", data[at + 8 + length : at + 12 + length])
        assert zlib.crc32(kind + body) & 0xFFFFFFFF == crc
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"IDAT":
            idat += body
        at += 12 + length
    return size[0], size[1], zlib.decompress(idat)


def pixel(png: tuple[int, int, bytes], x: int, y: int) -> tuple[int, int, int]:
    width, _, raw = png
    row = raw[y * (width * 3 + 1) + 1 :][: width * 3]
    return tuple(row[x * 3 : x * 3 + 3])  # type: ignore[return-value]


def test_the_png_is_valid_and_draws_each_area_in_its_colour():
    report = measure_coverage(AREAS, OPPORTUNITIES, AS_OF)
    from hub.coldspots.mapdata import map_points

    points, _ = map_points(report, 500)
    png = decode_png(render_png(report))

    for point in points:
        x, y = int(point.x + MARGIN), int(point.y + MARGIN)
        assert pixel(png, x, y) == rgb(point.colour), point.coverage.area.name


def test_a_canvas_encodes_what_was_drawn():
    canvas = Canvas(4, 3)
    canvas.rectangle(1, 1, 2, 1, "#102030")

    png = decode_png(canvas.to_png())

    assert png[:2] == (4, 3)
    assert pixel(png, 1, 1) == (16, 32, 48) and pixel(png, 0, 0) == (255, 255, 255)
