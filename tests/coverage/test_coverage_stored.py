"""The loader, the CSV and ``hub coverage`` on a feed stored through storage."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from hub.coldspots.load import load_opportunities, load_sources, measure_stored
from hub.coldspots.output import COLUMNS
from hub.commands.coverage import register
from hub.exceptions import ConfigurationError
from storage.models import Opportunity, OpportunityMember
from storage.repository import (
    ListingRow,
    start_crawl_run,
    upsert_listings,
    upsert_source,
)
from storage.session import make_engine, migrate, session_factory, transaction

T0 = datetime(2026, 2, 1, 9, 0, tzinfo=UTC)
AS_OF = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
AUTHORITY_HEADER = (
    "local-authority-code,official-name,nice-name,gss-code,nation,region,pop-2020,"
    "lat,long,current-authority,alt-names,lower-or-unitary"
)
AUTHORITIES = [
    "HBR,Harbourside Council,Harbourside,E06999101,England,North,100000,54.0,-1.0,"
    'True,"Harbourside",True',
    "MOR,Moorland Council,Moorland,E06999102,England,North,20000,54.5,-1.0,"
    'True,"Moorland",True',
]
DISTRICT_HEADER = "Postcode,Latitude,Longitude,Town/Area,Region,UK region"
DISTRICTS = ["XH1,54.1,-1.0,Harbour Town,Harbourside,North"]


@pytest.fixture
def geo_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "geo"
    folder.mkdir()
    (folder / "local_authorities.csv").write_text(
        "\n".join([AUTHORITY_HEADER, *AUTHORITIES]) + "\n", encoding="utf-8"
    )
    (folder / "postcode_districts.csv").write_text(
        "\n".join([DISTRICT_HEADER, *DISTRICTS]) + "\n", encoding="utf-8"
    )
    return folder


def listing_row(key: str, seen: datetime) -> ListingRow:
    return ListingRow(
        source_key=key,
        url=f"https://brightpath.example.org/opportunities/{key}",
        content_hash=key,
        fetched_at=seen,
        status="active",
        columns={"title": key, "in_scope": True},
        fields={"title": key},
        raw={},
    )


def golden(mode: str, points: list[tuple[float, float]]) -> dict[str, object]:
    return {
        "mode": mode,
        "opportunity_type": "apprenticeship",
        "locations": [
            {"lat": lat, "lon": lon, "outcode": "XH1"} for lat, lon in points
        ],
    }


@pytest.fixture
def stored(database_url: str) -> str:
    """Three opportunities, each from listings first seen on different days."""
    engine = make_engine(database_url)
    migrate(engine)
    factory = session_factory(engine)
    with transaction(factory) as session:
        source = upsert_source(
            session, name="brightpath", spider="schema_org", provider_kind="charity"
        )
        run = start_crawl_run(session, source, None)
        rows = [
            listing_row("a1", T0),
            listing_row("a2", T0 + timedelta(days=3)),
            listing_row("b1", T0 + timedelta(days=5)),
            listing_row("c1", T0),
        ]
        upsert_listings(session, source.id, run.id, rows)
    with transaction(factory) as session:
        ids = {r.source_key: r.id for r in _listings(session)}
        _opportunity(
            session, "opp_a", golden("in_person", [(54.1, -1.0)]), ids, "a1", "a2"
        )
        _opportunity(session, "opp_b", golden("remote", []), ids, "b1")
        _opportunity(
            session,
            "opp_c",
            golden("hybrid", [(54.45, -1.0)]),
            ids,
            "c1",
            in_scope=False,
        )
    engine.dispose()
    return database_url


def _listings(session):
    from sqlalchemy import select

    from storage.models import Listing

    return session.scalars(select(Listing))


def _opportunity(session, opp_id, values, ids, *keys, in_scope=True):
    session.add(
        Opportunity(
            id=opp_id,
            state="live",
            in_scope=in_scope,
            opportunity_type="apprenticeship",
            golden=values,
        )
    )
    session.flush()
    for key in keys:
        session.add(OpportunityMember(listing_id=ids[key], opportunity_id=opp_id))


def test_load_gives_in_scope_opportunities_with_their_first_sighting(stored):
    engine = make_engine(stored)
    with session_factory(engine)() as session:
        records = {r.id: r for r in load_opportunities(session)}
        sources = load_sources(session)
    engine.dispose()

    assert sorted(records) == ["opp_a", "opp_b"]
    assert records["opp_a"].first_seen == T0
    assert records["opp_a"].points == ((54.1, -1.0),)
    assert records["opp_b"].mode == "remote"
    assert [(s.name, s.listings, s.status) for s in sources] == [
        ("brightpath", 4, "running")
    ]


def test_measure_stored_counts_per_authority(stored, geo_dir):
    measured = measure_stored(stored, str(geo_dir), AS_OF)

    counts = {a.area.name: (a.in_person, a.remote) for a in measured.report.areas}

    assert counts == {"Harbourside": (1, 1), "Moorland": (0, 1), "North": (1, 1)}


def test_measure_stored_needs_the_geography(stored):
    with pytest.raises(ConfigurationError, match="HUB_GEO_DIR"):
        measure_stored(stored, None, AS_OF)


def test_hub_coverage_writes_the_csv_and_the_maps(
    stored, geo_dir, tmp_path, monkeypatch
):
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)  # keeps "coverage" a named sub-command
    monkeypatch.setenv("HUB_DATABASE_URL", stored)
    monkeypatch.setenv("HUB_GEO_DIR", str(geo_dir))
    out = tmp_path / "coverage.csv"

    result = CliRunner().invoke(
        app,
        [
            "coverage",
            "--as-of",
            "2026-03-01T12:00:00+00:00",
            "--since",
            "2026-02-02",
            "--out",
            str(out),
            "--map-dir",
            str(tmp_path / "map"),
        ],
    )

    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    assert "Moorland" in shown and "change since" in shown, shown
    lines = out.read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("# ")]
    assert any("Remote and national" in line for line in comments)
    assert any("Sources crawled: brightpath" in line for line in comments)
    rows = list(csv.DictReader(lines[len(comments) :]))
    assert tuple(rows[0]) == COLUMNS
    harbourside = next(r for r in rows if r["name"] == "Harbourside")
    assert (harbourside["in_person"], harbourside["in_person_per_10k"]) == (
        "1",
        "0.1000",
    )
    assert harbourside["in_person_since"] == "1"
    assert (tmp_path / "map" / "coverage.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Harbourside" in (tmp_path / "map" / "coverage.html").read_text()


def test_hub_coverage_refuses_a_since_after_as_of(tmp_path):
    app = typer.Typer()
    register(app)
    app.command("noop")(lambda: None)

    result = CliRunner().invoke(
        app, ["coverage", "--as-of", "2026-03-01", "--since", "2026-04-01"]
    )

    assert result.exit_code == 2
