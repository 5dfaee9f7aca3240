"""Field coverage of the normalisers over the recorded corpus.

    python benchmarks/field_coverage.py [--database URL] [--recording FILE]

Without ``--database`` it replays the recording into a throwaway SQLite file
first. Prints, per source and field, the share of listings with the field
filled, beside the share whose source text was there to parse (the baseline: a
parser can fill no more than the source gave it), their ratio, the
classifier's counts per type, and the unparsed values per field.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from sqlalchemy import select

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from storage.models import Listing, Source  # noqa: E402
from storage.session import make_engine, session_factory  # noqa: E402

SHARED = REPO.parent / "shared" / "data"

# field -> (is it filled?, was its source text there?)
FIELDS: dict[str, tuple[Any, Any]] = {
    "title": (lambda f: f.get("title"), lambda f: True),
    "provider": (lambda f: f.get("provider_name"), lambda f: True),
    "closing_date": (lambda f: f.get("closing_date"), lambda f: f.get("closing_text")),
    "posted_date": (lambda f: f.get("posted_date"), lambda f: f.get("posted_text")),
    "pay_amount": (
        lambda f: (f.get("pay") or {}).get("min") is not None,
        lambda f: f.get("pay_text") or f.get("base_salary"),
    ),
    "pay_annual_gbp": (
        lambda f: (f.get("pay") or {}).get("annual_min_gbp") is not None,
        lambda f: f.get("pay_text") or f.get("base_salary"),
    ),
    "postcode": (
        lambda f: any(p.get("postcode") for p in f.get("locations") or []),
        lambda f: f.get("postcodes") or f.get("location_texts"),
    ),
    "local_authority": (
        lambda f: any(p.get("local_authority") for p in f.get("locations") or []),
        lambda f: f.get("postcodes") or f.get("location_texts"),
    ),
    "lat_lon": (
        lambda f: any(p.get("lat") is not None for p in f.get("locations") or []),
        lambda f: f.get("postcodes") or f.get("location_texts") or f.get("coordinates"),
    ),
    "description": (
        lambda f: f.get("description_text"),
        lambda f: f.get("description_html"),
    ),
    "safe_html": (
        lambda f: f.get("description_safe_html"),
        lambda f: f.get("description_html"),
    ),
    "eligibility": (
        lambda f: _eligibility_filled(f.get("eligibility") or {}),
        lambda f: f.get("description_html"),
    ),
    "canonical_url": (lambda f: f.get("canonical_url"), lambda f: True),
}


def _eligibility_filled(eligibility: dict[str, Any]) -> bool:
    return bool(
        eligibility.get("age_min") is not None
        or eligibility.get("age_max") is not None
        or eligibility.get("school_years")
        or eligibility.get("criteria")
    )


def replay_into(database_url: str, recording: Path, data_dir: Path) -> float:
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_DATA_DIR": str(data_dir),
        "HUB_GEO_DIR": str(SHARED / "geo"),
    }
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hub", "run", "--replay", str(recording)],
        cwd=REPO,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def coverage(database_url: str) -> None:
    factory = session_factory(make_engine(database_url))
    with factory() as session:
        rows = session.execute(
            select(Source.name, Listing.fields).join(Listing.source)
        ).all()
    by_source: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for name, fields in rows:
        by_source[name].append(fields)
    for name, listings in sorted(by_source.items()):
        _print_source(name, listings)
    _print_types(by_source)


def _print_source(name: str, listings: list[dict[str, Any]]) -> None:
    total = len(listings)
    print(f"\n{name}: {total} listings")
    print(f"  {'field':<16}{'filled':>9}{'text there':>12}{'ratio':>8}")
    for field, (filled, present) in FIELDS.items():
        n_filled = sum(1 for f in listings if filled(f))
        n_present = sum(1 for f in listings if present(f))
        ratio = f"{n_filled / n_present:.2f}" if n_present else "-"
        print(
            f"  {field:<16}{n_filled / total:>9.1%}{n_present / total:>12.1%}{ratio:>8}"
        )
    failures = Counter(k for f in listings for k in f.get("parse_failures") or {})
    if failures:
        print("  unparsed: " + ", ".join(f"{k} {v}" for k, v in failures.items()))


def _print_types(by_source: dict[str, list[dict[str, Any]]]) -> None:
    print("\nopportunity types (listings), in scope marked *")
    counts: Counter[tuple[str, bool]] = Counter()
    for listings in by_source.values():
        for f in listings:
            counts[(f.get("opportunity_type") or "none", bool(f.get("in_scope")))] += 1
    for (kind, in_scope), n in counts.most_common():
        print(f"  {kind:<28}{'*' if in_scope else ' '} {n:>6}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="Read this database instead of replaying.")
    parser.add_argument(
        "--recording", type=Path, default=SHARED / "web" / "recorded.warc.gz"
    )
    args = parser.parse_args()
    if args.database:
        coverage(args.database)
        return
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'coverage.sqlite'}"
        seconds = replay_into(url, args.recording, Path(folder) / "data")
        print(f"replayed {args.recording.name} in {seconds:.1f} s")
        coverage(url)


if __name__ == "__main__":
    main()
