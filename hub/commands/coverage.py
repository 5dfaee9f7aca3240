"""``hub coverage``: opportunities within reach of every area, and the cold spots."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from hub.coldspots.load import Measured, measure_stored
from hub.coldspots.measure import DEFAULT_RADIUS_KM, AreaCoverage, coldest
from hub.coldspots.output import stamp, write_coverage_csv
from hub.config import Config, existing_database

console = Console()
COLDEST_SHOWN = 20
# as typer's own, and with a zone ("2023-07-02T12:00:00+00:00", "...Z")
DATE_FORMATS = [
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
]


def register(app: typer.Typer) -> None:
    app.command("coverage")(coverage)


def coverage(
    radius_km: Annotated[
        float,
        typer.Option(
            min=0,
            max=20_000,
            help="Count in-person opportunities within this distance.",
        ),
    ] = DEFAULT_RADIUS_KM,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            help="Count what is open at this time (UTC without a zone); now.",
        ),
    ] = None,
    since: Annotated[
        datetime | None,
        typer.Option(
            formats=DATE_FORMATS,
            help="Also count what the hub knew to be open at this time.",
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Write the CSV here.")] = Path(
        "data/coverage.csv"
    ),
    map_dir: Annotated[
        Path | None,
        typer.Option(help="Also write coverage.png and coverage.html in this folder."),
    ] = None,
) -> None:
    """Opportunities within reach of every local authority and region, per 10,000
    residents, and the 20 coldest authorities."""
    as_of, since = _aware(as_of), _aware(since)
    if as_of and since and since > as_of:
        raise typer.BadParameter("must be before --as-of", param_hint="--since")
    config = Config.from_env()
    existing_database(config.database_url).dispose()  # a command that reads
    measured = measure_stored(
        config.database_url, config.geo_dir, as_of, radius_km, since
    )
    write_coverage_csv(measured.report, measured.sources, out)
    console.print(f"Wrote coverage of {len(measured.report.areas)} areas to {out}")
    if map_dir is not None:
        _write_maps(measured, map_dir)
    _print_coldest(measured)


def _aware(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _write_maps(measured: Measured, folder: Path) -> None:
    from hub.coldspots.png import write_png
    from hub.web.coverage import render_page

    folder.mkdir(parents=True, exist_ok=True)
    write_png(measured.report, folder / "coverage.png")
    page = render_page(measured.report, measured.sources)
    (folder / "coverage.html").write_text(page, encoding="utf-8")
    console.print(f"Wrote the map to {folder / 'coverage.png'} and coverage.html")


def _print_coldest(measured: Measured) -> None:
    report = measured.report
    table = Table(
        title=f"The {COLDEST_SHOWN} coldest local authorities, as of "
        f"{stamp(report.as_of)}, within {report.radius_km:g} km"
    )
    for column in ("authority", "region", "population", "in person", "per 10,000"):
        table.add_column(
            column, justify="left" if column in ("authority", "region") else "right"
        )
    show_change = report.since_knowable
    if show_change:
        table.add_column(f"change since {report.since:%Y-%m-%d}", justify="right")
    for area in coldest(report, COLDEST_SHOWN):
        table.add_row(*_row(area, show_change))
    console.print(table)
    console.print(
        f"Open as of {stamp(report.as_of)}: "
        f"{report.open_in_person} in person "
        f"({report.open_unplaced} without a place), {report.open_remote} remote or "
        "national (counted apart, the same for every area). Neighbouring areas share "
        "opportunities; see the CSV's header for what the figures cannot show.",
        highlight=False,
    )


def _row(area: AreaCoverage, show_change: bool) -> list[str]:
    cells = [
        area.area.name,
        area.area.region or "",
        f"{area.area.population:,}" if area.area.population else "",
        str(area.in_person),
        f"{area.in_person_per_10k:.2f}" if area.in_person_per_10k is not None else "",
    ]
    if show_change:
        change = area.in_person_change
        cells.append("" if change is None else f"{change:+d}")
    return cells
