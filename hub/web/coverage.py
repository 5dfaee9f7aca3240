"""The coverage page: the cold-spot map as inline SVG, its legend, the data date,
what the figures cannot show, and the tables behind the map.

Include it in the app with ``app.include_router(router)``. The page is one
self-contained document (no scripts, no external files; the
Content-Security-Policy says so) and every value in it passes through
:func:`html.escape`. The data come from the :func:`measured_coverage`
dependency, which tests and other apps can override.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, Response

from hub.coldspots.load import Measured, SourceNote, measure_stored
from hub.coldspots.mapdata import ColourClass, MapPoint, map_height, map_points
from hub.coldspots.measure import (
    DEFAULT_RADIUS_KM,
    LOCAL_AUTHORITY,
    REGION,
    AreaCoverage,
    CoverageReport,
    coldest,
)
from hub.coldspots.output import caveats, stamp
from hub.exceptions import ConfigurationError
from hub.web.context import FeedContext, get_context
from hub.web.errors import ERROR_RESPONSES, ApiError, refuse_unknown_parameters

logger = logging.getLogger(__name__)

router = APIRouter(
    dependencies=[Depends(refuse_unknown_parameters)], responses=ERROR_RESPONSES
)
SVG_WIDTH = 500
COLDEST_SHOWN = 20
MAX_RADIUS_KM = 500.0
CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'"
STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #202020; }
main { max-width: 72rem; }
.map { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
svg { border: 1px solid #e0e0e0; background: #fff; }
circle { stroke: #202020; stroke-width: 0.5; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: 0.2rem 0.6rem; border-bottom: 1px solid #e0e0e0; }
td.n, th.n { text-align: right; }
.swatch { display: inline-block; width: 1rem; height: 1rem;
  border: 1px solid #202020; vertical-align: middle; margin-right: 0.4rem; }
"""


def measured_coverage(
    context: Annotated[FeedContext, Depends(get_context)],
    radius_km: Annotated[
        float, Query(ge=0, le=MAX_RADIUS_KM, description="Reach in km.")
    ] = DEFAULT_RADIUS_KM,
    as_of: Annotated[
        datetime | None, Query(description="Count what is open at this time.")
    ] = None,
    since: Annotated[
        datetime | None, Query(description="Compare with what was open then.")
    ] = None,
) -> Measured:
    """Coverage of the stored feed, with the app's database and geography."""
    try:
        return measure_stored(
            context.engine.url.render_as_string(hide_password=False),
            context.geo_dir,
            _aware(as_of),
            radius_km,
            _aware(since),
            migrate_schema=False,
        )
    except ConfigurationError as exc:
        logger.warning("Coverage page unavailable: %s", exc)
        raise ApiError(
            503, "no_geography", "coverage needs the geography (HUB_GEO_DIR)"
        ) from exc
    except ValueError as exc:
        raise ApiError(422, "invalid_parameter", str(exc)) from exc


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


@router.get(
    "/coverage",
    # the page is HTML; its errors are JSON, as every route's
    response_class=Response,
    responses={200: {"content": {"text/html": {}}, "description": "The page"}},
)
def coverage_page(
    measured: Annotated[Measured, Depends(measured_coverage)],
) -> HTMLResponse:
    """The cold-spot map and tables, as one HTML page."""
    return HTMLResponse(
        render_page(measured.report, measured.sources),
        headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY},
    )


def render_page(report: CoverageReport, sources: Sequence[SourceNote]) -> str:
    """The whole page; every value escaped."""
    points, classes = map_points(report, SVG_WIDTH)
    title = "Opportunity cold spots"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{STYLE}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        _summary(report),
        '<div class="map">',
        _svg(points, report),
        _legend(classes),
        "</div>",
        "<h2>What these figures can and cannot show</h2>",
        _list(caveats(report, sources)),
        _table(f"The {COLDEST_SHOWN} coldest local authorities", coldest(report, 20)),
        _table("Regions", _by_rate(report.of_kind(REGION))),
        _table("Every local authority", _by_rate(report.of_kind(LOCAL_AUTHORITY))),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def _e(value: object) -> str:
    return escape("" if value is None else str(value), quote=True)


def _summary(report: CoverageReport) -> str:
    return (
        f'<p>Data as of <time datetime="{_e(stamp(report.as_of))}">'
        f"{_e(stamp(report.as_of))}</time>. In-person opportunities (in person or "
        f"hybrid) within {_e(f'{report.radius_km:g}')} km of each local authority's "
        "centre, per 10,000 residents. Open at that time: "
        f"{_e(report.open_in_person)} in person, {_e(report.open_remote)} remote or "
        "national (counted separately: they reach every area alike).</p>"
    )


def _svg(points: Sequence[MapPoint], report: CoverageReport) -> str:
    height = map_height(SVG_WIDTH)
    label = (
        f"Map of in-person opportunities per 10,000 residents by local authority, "
        f"as of {stamp(report.as_of)}"
    )
    circles = "\n".join(_circle(p) for p in points)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{SVG_WIDTH}" '
        f'height="{height:.0f}" viewBox="0 0 {SVG_WIDTH} {height:.0f}" '
        f'role="img" aria-label="{_e(label)}">\n<title>{_e(label)}</title>\n'
        f"{circles}\n"
        f'<text x="6" y="{height - 8:.0f}" font-size="13">'
        f"{_e(f'Data as of {report.as_of:%Y-%m-%d}')}</text>\n</svg>"
    )


def _circle(point: MapPoint) -> str:
    return (
        f'<circle cx="{point.x:.1f}" cy="{point.y:.1f}" r="{point.radius:.1f}" '
        f'fill="{_e(point.colour)}"><title>{_e(_describe(point.coverage))}</title>'
        "</circle>"
    )


def _describe(coverage: AreaCoverage) -> str:
    rate = coverage.in_person_per_10k
    shown = "no population" if rate is None else f"{rate:.2f} per 10,000"
    return f"{coverage.area.name}: {coverage.in_person} in person ({shown})"


def _legend(classes: Sequence[ColourClass]) -> str:
    items = [
        f'<li><span class="swatch" style="background:{_e(c.colour)}"></span>'
        f"{_e(_legend_label(c))}</li>"
        for c in classes
    ]
    return (
        "<div><h2>In person per 10,000 residents</h2>"
        f'<ul style="list-style:none;padding:0">{"".join(items)}</ul>'
        "<p>Each point is an authority's centroid, sized by population. There are "
        "no boundaries: a point stands for the whole area.</p></div>"
    )


def _legend_label(cls: ColourClass) -> str:
    if cls.lower is None:
        return "no data (no population or no centre)"
    if cls.lower == 0 and cls.label == "0":
        return "none within reach"
    return f"{cls.lower:g} or more"


def _list(lines: Iterable[str]) -> str:
    return "<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>"


def _by_rate(areas: Iterable[AreaCoverage]) -> list[AreaCoverage]:
    return sorted(
        areas,
        key=lambda a: (
            a.in_person_per_10k is None,
            a.in_person_per_10k or 0.0,
            -(a.area.population or 0),
            a.area.name,
        ),
    )


HEADINGS = (
    ("area", ""),
    ("region", ""),
    ("population", "n"),
    ("in person", "n"),
    ("per 10,000", "n"),
    ("remote per 10,000", "n"),
    ("change", "n"),
)


def _table(caption: str, areas: Sequence[AreaCoverage]) -> str:
    head = "".join(f'<th class="{c}">{_e(h)}</th>' for h, c in HEADINGS)
    body = "".join(_table_row(a) for a in areas)
    return (
        f"<h2>{_e(caption)}</h2><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table>"
    )


def _table_row(coverage: AreaCoverage) -> str:
    change = coverage.in_person_change
    cells = (
        coverage.area.name,
        coverage.area.region,
        f"{coverage.area.population:,}" if coverage.area.population else None,
        coverage.in_person,
        _rate(coverage.in_person_per_10k),
        _rate(coverage.remote_per_10k),
        None if change is None else f"{change:+d}",
    )
    tds = "".join(
        f'<td class="{c}">{_e(v)}</td>'
        for v, (_, c) in zip(cells, HEADINGS, strict=True)
    )
    return f"<tr>{tds}</tr>"


def _rate(value: float | None) -> str | None:
    return None if value is None else f"{value:.2f}"
