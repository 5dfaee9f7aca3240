"""Cold spots on the recorded corpus, and the measure's speed at full scale.

    python benchmarks/coldspots.py [--database URL] [--recording FILE] [--geo-dir DIR]

Without ``--database`` it replays the recording into a throwaway SQLite file
first (about 1-2 minutes). Coverage is judged as of the newest fetch time among
the stored listings, as the brief asks, and also as of the newest fetch among the
in-scope listings: the recording mixes NHS pages fetched in 2020 (the only
in-scope listings) with job-board API answers fetched years later, so the first
date finds every in-scope opportunity closed. Then it times the measure on
synthetic opportunities around the real authority centroids (``--scale``).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hub.coldspots.load import (  # noqa: E402
    load_areas,
    load_opportunities,
    load_sources,
    newest_fetch,
)
from hub.coldspots.measure import (  # noqa: E402
    DEFAULT_RADIUS_KM,
    Area,
    AreaCoverage,
    CoverageReport,
    OpportunityRecord,
    best_covered,
    coldest,
    measure_coverage,
)
from hub.coldspots.output import write_coverage_csv  # noqa: E402
from hub.coldspots.png import render_png  # noqa: E402
from pipelines.geo import Gazetteer  # noqa: E402
from storage.session import make_engine, session_factory  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
SHOWN = 10
MODES = ("in_person",) * 7 + ("hybrid", "hybrid", "remote")
TYPES = ("apprenticeship", "internship", "summer_school", "mentoring", "traineeship")


def replay_into(database_url: str, recording: Path, data_dir: Path, geo: Path) -> float:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_GEO_DIR": str(geo),
    }
    started = time.perf_counter()
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "hub"), "run", "--replay", str(recording)],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def _print_areas(title: str, areas: list[AreaCoverage]) -> None:
    print(f"\n{title}")
    print(f"  {'authority':<34}{'population':>11}{'in person':>10}{'per 10k':>9}")
    for a in areas:
        rate = a.in_person_per_10k
        print(
            f"  {a.area.name:<34}{a.area.population or 0:>11,}{a.in_person:>10}"
            f"{rate:>9.3f}"
        )


def _print_report(label: str, report: CoverageReport, seconds: float) -> None:
    zero = sum(1 for a in report.of_kind("local_authority") if a.in_person == 0)
    total = len(report.of_kind("local_authority"))
    print(
        f"\n== as of {report.as_of.isoformat()} ({label}), {report.radius_km:g} km: "
        f"{report.open_in_person} open in person ({report.open_unplaced} unplaced), "
        f"{report.open_remote} remote/national; {zero} of {total} authorities have "
        f"none within reach; measured in {seconds * 1000:.1f} ms"
    )


def _measure(
    areas: list[Area], records: list[OpportunityRecord], as_of: datetime, radius: float
) -> tuple[CoverageReport, float]:
    started = time.perf_counter()
    report = measure_coverage(areas, records, as_of, radius_km=radius)
    return report, time.perf_counter() - started


def corpus(database_url: str, geo: Path, radius: float, out: Path) -> list[Area]:
    started = time.perf_counter()
    gazetteer = Gazetteer.from_files(
        geo / "postcode_districts.csv", geo / "local_authorities.csv"
    )
    areas = load_areas(gazetteer)
    engine = make_engine(database_url)
    with session_factory(engine)() as session:
        records = load_opportunities(session)
        sources = load_sources(session)
        newest, newest_in_scope = newest_fetch(session), newest_fetch(session, True)
    engine.dispose()
    print(
        f"loaded {len(areas)} authorities and {len(records)} in-scope opportunities "
        f"in {time.perf_counter() - started:.2f} s; sources: "
        + ", ".join(f"{s.name} ({s.listings} in scope, {s.status})" for s in sources)
    )
    if newest is None or newest_in_scope is None:
        print("no listings stored")
        return areas
    report, seconds = _measure(areas, records, newest, radius)
    _print_report("newest fetch of any listing", report, seconds)
    report, seconds = _measure(areas, records, newest_in_scope, radius)
    _print_report("newest fetch of an in-scope listing", report, seconds)
    _print_areas(f"coldest {SHOWN} (ties: most populous first)", coldest(report, SHOWN))
    _print_areas(f"best covered {SHOWN}", best_covered(report, SHOWN))
    _print_areas("regions, coldest first", coldest(report, 20, kind="region"))
    started = time.perf_counter()
    write_coverage_csv(report, sources, out / "coverage.csv")
    png = render_png(report)
    print(
        f"\nwrote the CSV and a {len(png):,}-byte PNG in "
        f"{time.perf_counter() - started:.2f} s"
    )
    return areas


def synthetic(areas: list[Area], count: int, seed: int = 7) -> list[OpportunityRecord]:
    """Opportunities scattered up to ~40 km around random authority centres."""
    rng = random.Random(seed)
    placed = [a for a in areas if a.lat is not None and a.lon is not None]
    records = []
    for i in range(count):
        points = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            centre = rng.choice(placed)
            points.append(
                (
                    centre.lat + rng.uniform(-0.35, 0.35),  # type: ignore[operator]
                    centre.lon + rng.uniform(-0.55, 0.55),  # type: ignore[operator]
                )
            )
        records.append(
            OpportunityRecord(
                id=f"syn{i}",
                opportunity_type=rng.choice(TYPES),
                mode=rng.choice(MODES),
                points=tuple(points),
            )
        )
    return records


def scale(areas: list[Area], count: int, radius: float) -> None:
    records = synthetic(areas, count)
    points = sum(len(r.points) for r in records)
    as_of = datetime.fromisoformat("2026-03-01T12:00:00+00:00")
    report, seconds = _measure(areas, records, as_of, radius)
    print(
        f"\nscale: {len(areas)} authorities (+{len(report.of_kind('region'))} "
        f"regions) x {count:,} opportunities ({points:,} locations) at {radius:g} km "
        f"in {seconds:.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="Measure this database; no replay.")
    parser.add_argument(
        "--recording", type=Path, default=SHARED / "web" / "recorded.warc.gz"
    )
    parser.add_argument("--geo-dir", type=Path, default=SHARED / "geo")
    parser.add_argument("--radius-km", type=float, default=DEFAULT_RADIUS_KM)
    parser.add_argument("--scale", type=int, default=100_000)
    args = parser.parse_args()
    if not args.geo_dir.is_dir():
        sys.exit(f"the shared geography is absent ({args.geo_dir})")
    with tempfile.TemporaryDirectory(prefix="coldspots-") as folder:
        database = args.database
        if database is None:
            if not args.recording.is_file():
                sys.exit(f"the shared recording is absent ({args.recording})")
            database = f"sqlite:///{Path(folder) / 'hub.sqlite'}"
            seconds = replay_into(database, args.recording, Path(folder), args.geo_dir)
            print(f"replayed {args.recording.name} in {seconds:.1f} s")
        areas = corpus(database, args.geo_dir, args.radius_km, Path(folder))
    if args.scale:
        scale(areas, args.scale, args.radius_km)


if __name__ == "__main__":
    main()
