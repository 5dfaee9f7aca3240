"""Load test of the feed API on PostgreSQL at scale.

    python benchmarks/feed_load.py --size 100000 --seconds 10

Fills a schema of its own in PostgreSQL with ``--size`` opportunities made from
the replayed records of ``--seed`` (a database that ``hub run --replay`` filled:
titles, dates, places and scope perturbed), builds the derived search tables
with the same function publishing uses and vacuums them as autovacuum would,
starts ``hub serve`` on 127.0.0.1, warms its connections up for a few seconds,
and drives it with a bounded load (wrk, else httpx; ``--concurrency`` requests
in flight for ``--seconds`` per scenario, after ``--warm-up`` seconds of the
same requests unmeasured). Prints requests per second and
p50/p99 latency per scenario, and the time to read the whole change feed by
following ``next``.
Targets: p99 <= 50 ms for a filtered page of 50, 1,000 req/s on 2 cores, a deep
cursor page within 1.2x the first, a full sync within 60 s.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

REPO = Path(__file__).resolve().parents[1]
GEO_DIR = Path(os.getenv("HUB_GEO_DIR") or REPO.parent / "shared" / "data" / "geo")
sys.path.insert(0, str(REPO))

from hub.web.search import OpportunityQuery, encode_cursor  # noqa: E402
from pipelines.enrich import load_gazetteer  # noqa: E402
from pipelines.geo import Gazetteer  # noqa: E402
from storage.feed import index_rows  # noqa: E402
from storage.models import Opportunity, Source  # noqa: E402
from storage.session import make_engine, migrate  # noqa: E402

BASE = datetime(2026, 1, 1, tzinfo=UTC)
DESCRIPTION_CHARS = 1500
FIRST = "first page (50, published)"
DEEP = "deep cursor page (50, ~90%)"
FILTERED = "filtered page (type+region, 50)"
TITLE_WORDS = ("Trainee", "Junior", "Level 3", "Degree", "Summer", "Graduate")


@dataclass
class Scenario:
    name: str
    urls: list[str]


def main() -> None:
    args = _arguments()
    templates, kinds = _templates(args.seed)
    url = _schema_url(args.database, args.schema)
    started = time.perf_counter()
    if args.reuse:
        print(f"reusing schema {args.schema}")
    else:
        _fill(url, args.database, args.schema, templates, kinds, args.size)
        print(
            f"filled {args.size:,} opportunities in "
            f"{time.perf_counter() - started:.1f} s"
        )
    scenarios = _scenarios(url, templates, args.size)
    passes = {"kept": [64], "fresh": [0], "both": [64, 0]}[args.answers]
    try:
        for cache_mb in passes:
            _run_pass(url, args, scenarios, cache_mb)
    finally:
        if not (args.keep or args.reuse):
            _drop_schema(args.database, args.schema)


# before the first scenario, every worker opens its pool's connections (the
# first query on each also fills PostgreSQL's caches): requests that read the
# database, none of them a scenario's, so no scenario's answer is kept by it
WARM_UP = Scenario("warm-up", ["/sources", "/opportunities/opp_warm_up"])
WARM_UP_SECONDS = 3.0


def _run_pass(
    url: str, args: argparse.Namespace, scenarios: list[Scenario], cache_mb: int
) -> None:
    """Every scenario against a server keeping answers (``cache_mb`` > 0: each
    scenario repeats its URLs, so after the first request for a URL its answer
    is kept until the data changes) or making every answer afresh."""
    label = f"answers kept ({cache_mb} MB)" if cache_mb else "answers made afresh"
    warm = ""
    if args.warm_up > 0:
        warm = f", each scenario after {args.warm_up:g} s unmeasured"
    print(f"\n{label}{warm}:")
    port = _free_port()
    server = _serve(url, port, args.workers, cache_mb)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        _drive(base, WARM_UP, WARM_UP_SECONDS, args.concurrency)
        print(
            f"{'scenario':<34}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}"
            f"{'x baseline':>12}"
        )
        floor = 0.0
        results: dict[str, dict[str, float]] = {}
        for scenario in scenarios:
            if args.warm_up > 0:
                _drive(base, scenario, args.warm_up, args.concurrency)
            result = _drive(base, scenario, args.seconds, args.concurrency)
            results[scenario.name] = result
            floor = floor or result["rps"]
            print(
                f"{scenario.name:<34}{result['rps']:>9.0f}{result['p50']:>9.1f}"
                f"{result['p99']:>9.1f}{result['errors']:>8}"
                f"{result['rps'] / floor:>12.2f}"
            )
        sync = _sync(base)
        print(
            f"full sync: {sync.items:,} items in {sync.pages:,} pages,"
            f" {sync.seconds:.1f} s (the consumer parsing JSON: {sync.parsing:.1f} s)"
        )
        _judge(results, sync.seconds)
    finally:
        server.terminate()
        server.wait(timeout=20)


def _judge(results: dict[str, dict[str, float]], sync_seconds: float) -> None:
    """Each target, the figure measured for it, and whether it was met."""
    first, deep = results[FIRST], results[DEEP]
    filtered = results[FILTERED]
    checks = [
        ("filtered page of 50: p99 <= 50 ms", filtered["p99"], filtered["p99"] <= 50),
        (
            "filtered page of 50: >= 1,000 req/s",
            filtered["rps"],
            filtered["rps"] >= 1000,
        ),
        ("first page of 50: >= 1,000 req/s", first["rps"], first["rps"] >= 1000),
        (
            "deep page p50 / first page p50 <= 1.2",
            deep["p50"] / first["p50"],
            deep["p50"] <= 1.2 * first["p50"],
        ),
        (
            "deep page p99 / first page p99 <= 1.2",
            deep["p99"] / first["p99"],
            deep["p99"] <= 1.2 * first["p99"],
        ),
        ("full sync <= 60 s", sync_seconds, sync_seconds <= 60),
    ]
    for name, figure, met in checks:
        print(f"  target {name:<42}{figure:>9.2f}  {'met' if met else 'NOT met'}")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000, help="Opportunities.")
    parser.add_argument("--seconds", type=float, default=10.0, help="Per scenario.")
    parser.add_argument(
        "--warm-up",
        type=float,
        default=2.0,
        help="Seconds each scenario is driven unmeasured first (0: measured from"
        " cold). With answers kept, a scenario is then measured as it runs once"
        " its URLs have been asked for; the pass that makes every answer afresh"
        " measures what a first request costs.",
    )
    parser.add_argument("--concurrency", type=int, default=16, help="In flight.")
    parser.add_argument("--workers", type=int, default=2, help="Server processes.")
    parser.add_argument(
        "--seed",
        default=os.getenv("HUB_DATABASE_URL", "sqlite:///data/hub.sqlite"),
        help="A database filled by `hub run --replay` (the real records): "
        "a URL or the path of a SQLite file.",
    )
    parser.add_argument(
        "--database", default="postgresql://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--schema", default="feed_load_bench")
    parser.add_argument(
        "--answers",
        choices=("both", "kept", "fresh"),
        default="both",
        help="Serve with answers kept (HUB_ANSWER_CACHE_MB=64), without, or both.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the schema.")
    parser.add_argument(
        "--reuse", action="store_true", help="Use the schema a --keep run left."
    )
    return parser.parse_args()


def _templates(seed: str) -> tuple[list[dict[str, Any]], dict[str, str]]:
    if "://" not in seed:  # a path to a SQLite file
        if not Path(seed).is_file():
            raise SystemExit(f"no database file {seed}: run `hub run --replay` first")
        seed = f"sqlite:///{Path(seed).resolve()}"
    engine = make_engine(seed)
    with engine.connect() as connection:
        goldens = list(connection.scalars(select(Opportunity.golden)))
        kinds = dict(
            connection.execute(select(Source.name, Source.provider_kind)).all()
        )
    engine.dispose()
    if not goldens:
        raise SystemExit(f"{seed} holds no opportunities: run `hub run --replay` first")
    return goldens, kinds


def _schema_url(database: str, schema: str) -> str:
    url = make_url(database).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False)


def _admin(database: str) -> Any:
    return create_engine(make_url(database).set(drivername="postgresql+psycopg"))


def _drop_schema(database: str, schema: str) -> None:
    admin = _admin(database)
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


def _fill(
    url: str,
    database: str,
    schema: str,
    templates: list[dict[str, Any]],
    kinds: dict[str, str],
    size: int,
) -> None:
    _drop_schema(database, schema)
    admin = _admin(database)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    chooser = random.Random(20261204)
    places = [p for g in templates for p in g.get("locations") or [] if p.get("lat")]
    with psycopg.connect(make_url(database).render_as_string(False)) as connection:
        connection.execute(f'SET search_path TO "{schema}"')
        _copy_all(connection, templates, places, kinds, size, chooser)
        # as autovacuum leaves a table: index-only scans need its visibility map
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE)")


COPIES = {
    "opportunities": "id, state, created, modified, change_no, title, "
    "opportunity_type, in_scope, ever_in_scope, closing_date, golden, content_hash",
    "feed_changes": "change_no, opportunity_id, kind, at, related",
    "opportunity_search": "opportunity_id, state, in_scope, opportunity_type, mode, "
    "age_min, age_max, closing_sort, newest_sort, text, indexed_hash, "
    "summary_doc, feed_doc, doc_change_no",
    "opportunity_places": "opportunity_id, outcode, lat, lon, local_authority, "
    "local_authority_code, region",
    "opportunity_tags": "tag, opportunity_id",
}


def _copy_all(
    connection: psycopg.Connection,
    templates: list[dict[str, Any]],
    places: list[dict[str, Any]],
    kinds: dict[str, str],
    size: int,
    chooser: random.Random,
) -> None:
    batch = 20_000
    for start in range(0, size, batch):
        rows: dict[str, list[tuple[Any, ...]]] = {name: [] for name in COPIES}
        for n in range(start, min(size, start + batch)):
            _rows_of(n, templates, places, kinds, chooser, rows)
        for table, columns in COPIES.items():
            with connection.cursor().copy(
                f"COPY {table} ({columns}) FROM STDIN"
            ) as copy:
                for row in rows[table]:
                    copy.write_row(row)
        connection.commit()


def _rows_of(
    n: int,
    templates: list[dict[str, Any]],
    places: list[dict[str, Any]],
    kinds: dict[str, str],
    chooser: random.Random,
    rows: dict[str, list[tuple[Any, ...]]],
) -> None:
    record = _perturb(chooser.choice(templates), places, chooser)
    opportunity_id = f"opp_{hashlib.sha1(str(n).encode()).hexdigest()[:16]}"
    modified = BASE + timedelta(microseconds=n * 7)
    created = modified - timedelta(days=chooser.randint(0, 60))
    digest = hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()
    closing = record.get("closing_date")
    rows["opportunities"].append(
        (opportunity_id, "live", created, modified, n + 1, record.get("title"),
         record.get("opportunity_type"), bool(record.get("in_scope")),
         bool(record.get("in_scope")),
         datetime.fromisoformat(closing) if closing else None,
         json.dumps(record), digest)
    )  # fmt: skip
    rows["feed_changes"].append((n + 1, opportunity_id, "updated", modified, "{}"))
    derived = index_rows(
        opportunity_id, "live", record, created=created, modified=modified,
        change_no=n + 1, provider_kinds=kinds, indexed_hash=digest,
    )  # fmt: skip
    rows["opportunity_search"].append(tuple(derived.search[k] for k in _SEARCH_KEYS))
    rows["opportunity_places"].extend(
        tuple(p[k] for k in _PLACE_KEYS) for p in derived.places
    )
    rows["opportunity_tags"].extend((tag, opportunity_id) for tag in derived.tags)


_SEARCH_KEYS = [c.strip() for c in COPIES["opportunity_search"].split(",")]
_PLACE_KEYS = [c.strip() for c in COPIES["opportunity_places"].split(",")]


def _perturb(
    template: dict[str, Any], places: list[dict[str, Any]], chooser: random.Random
) -> dict[str, Any]:
    record = dict(template)
    record.pop("description_safe_html", None)
    record["description_text"] = (record.get("description_text") or "")[
        :DESCRIPTION_CHARS
    ]
    if chooser.random() < 0.5:
        record["title"] = f"{chooser.choice(TITLE_WORDS)} {record.get('title') or ''}"
    shift = timedelta(days=chooser.randint(-30, 400), minutes=chooser.randint(0, 1439))
    for name in ("closing_date", "posted_date"):
        if record.get(name):
            record[name] = (datetime.fromisoformat(record[name]) + shift).isoformat()
    place = dict(chooser.choice(places))
    place["lat"] += chooser.uniform(-0.02, 0.02)
    place["lon"] += chooser.uniform(-0.02, 0.02)
    record["locations"] = [place]
    if chooser.random() < 0.25:
        record["in_scope"] = True
        record["opportunity_type"] = chooser.choice(
            ["apprenticeship", "traineeship", "internship", "summer_school"]
        )
    return record


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _serve(url: str, port: int, workers: int, cache_mb: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HUB_DATABASE_URL": url, "HUB_ANSWER_CACHE_MB": str(cache_mb)}
    env.setdefault("HUB_GEO_DIR", str(GEO_DIR))
    command = [sys.executable, "-m", "hub", "serve", "--port", str(port)]
    return subprocess.Popen([*command, "--workers", str(workers)], cwd=REPO, env=env)


def _wait(base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/feed?limit=1", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.3)
    raise SystemExit("the server did not start")


def _scenarios(url: str, templates: list[dict[str, Any]], size: int) -> list[Scenario]:
    places = [p for g in templates for p in g.get("locations") or []]
    regions = sorted({p["region"] for p in places if p.get("region")})
    # the server answers 422 for a district its geography lacks (Jersey's, say)
    gazetteer = load_gazetteer(str(GEO_DIR))
    outcodes = sorted({p["outcode"] for p in places if _known(gazetteer, p)})
    chooser = random.Random(7)
    filtered = [
        f"/opportunities?limit=50&in_scope=any&type=apprenticeship&region={r}"
        for r in regions
    ]
    near = [
        f"/opportunities?limit=50&in_scope=any&near={o}&radius_km=10"
        for o in chooser.sample(outcodes, min(50, len(outcodes)))
    ]
    return [
        Scenario("baseline: / (no database)", ["/"]),
        Scenario(FIRST, ["/opportunities?limit=50"]),
        Scenario(DEEP, _deep_pages(url, size)),
        Scenario(FILTERED, filtered),
        Scenario("near a postcode, 10 km (50)", near),
        Scenario("opportunity detail", _details(url, chooser)),
        Scenario("feed page (RPDE, 500)", _feed_pages(url, chooser)),
    ]


def _known(gazetteer: Gazetteer, place: dict[str, Any]) -> bool:
    found = gazetteer.place(place["outcode"]) if place.get("outcode") else None
    return found is not None and found.lat is not None and found.lon is not None


def _deep_pages(url: str, size: int) -> list[str]:
    engine = make_engine(url)
    query = OpportunityQuery(limit=50)
    with engine.connect() as connection:
        published = connection.scalar(
            text("SELECT count(*) FROM opportunity_search WHERE in_scope")
        )
        rows = connection.execute(
            text(
                "SELECT opportunity_id, closing_sort AS sort_key"
                " FROM opportunity_search WHERE state = 'live' AND in_scope"
                " ORDER BY closing_sort, opportunity_id OFFSET :o LIMIT 20"
            ),
            {"o": int((published or 0) * 0.9)},
        ).all()
    engine.dispose()
    return [f"/opportunities?limit=50&cursor={encode_cursor(query, r)}" for r in rows]


def _details(url: str, chooser: random.Random) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        ids = list(connection.scalars(text("SELECT id FROM opportunities LIMIT 5000")))
    engine.dispose()
    return [f"/opportunities/{i}" for i in chooser.sample(ids, min(200, len(ids)))]


def _feed_pages(url: str, chooser: random.Random) -> list[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT modified, id FROM opportunities"
                " TABLESAMPLE SYSTEM (1) LIMIT 200"
            )
        ).all()
    engine.dispose()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return [
        f"/feed?limit=500&afterTimestamp={(m - epoch) // timedelta(microseconds=1)}"
        f"&afterId={i}"
        for m, i in rows
    ]


# picks one of the scenario's paths per request; prints the figures as JSON
WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("FEED_LOAD_PATHS")) do paths[#paths + 1] = line end
local thread_number = 0
function setup(thread)
  thread_number = thread_number + 1
  thread:set("seed", thread_number)
end
function init(args)
  math.randomseed(seed or 1)
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    'FEED_LOAD {"requests":%d,"seconds":%f,"p50":%f,"p99":%f,"errors":%d}\\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(99) / 1e3,
    errors.connect + errors.read + errors.write + errors.status + errors.timeout))
end
"""


def _drive(
    base: str, scenario: Scenario, seconds: float, concurrency: int
) -> dict[str, float]:
    """The scenario's figures from wrk when it is installed, else from httpx
    (which spends more of the same two cores on the client)."""
    if shutil.which("wrk") is None:
        return asyncio.run(_drive_httpx(base, scenario, seconds, concurrency))
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder, "paths.lua")
        script.write_text(WRK_SCRIPT)
        paths = Path(folder, "paths.txt")
        quoted = (quote(u, safe="/?&=%:+,") for u in scenario.urls)
        paths.write_text("\n".join(quoted) + "\n")
        threads = min(2, concurrency)
        done = subprocess.run(
            ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(seconds))}s",
             "--timeout", "30s", "-s", str(script), base],
            env={**os.environ, "FEED_LOAD_PATHS": str(paths)},
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    line = next(x for x in done.stdout.splitlines() if x.startswith("FEED_LOAD "))
    figures = json.loads(line.removeprefix("FEED_LOAD "))
    return {
        "rps": figures["requests"] / figures["seconds"],
        "p50": figures["p50"],
        "p99": figures["p99"],
        "errors": figures["errors"],
    }


async def _drive_httpx(
    base: str, scenario: Scenario, seconds: float, concurrency: int
) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency)

    async def worker(client: httpx.AsyncClient, chooser: random.Random) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            response = await client.get(chooser.choice(scenario.urls))
            latencies.append(time.perf_counter() - started)
            errors += response.status_code != 200

    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        began = time.perf_counter()
        await asyncio.gather(
            *(worker(client, random.Random(n)) for n in range(concurrency))
        )
        elapsed = time.perf_counter() - began
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "rps": len(latencies) / elapsed,
        "p50": cuts[49] * 1000,
        "p99": cuts[98] * 1000,
        "errors": errors,
    }


@dataclass
class Sync:
    items: int
    pages: int
    seconds: float
    parsing: float  # of which the consumer spent parsing the pages' JSON


def _sync(base: str) -> Sync:
    """A consumer reading the whole change feed, page after page, on the same
    two cores as the server: its own JSON parsing is timed apart."""
    items = pages = 0
    parsing = 0.0
    started = time.perf_counter()
    url = f"{base}/feed?limit=500&scope=all"
    with httpx.Client(timeout=60) as client:
        while True:
            body = client.get(url).content
            before = time.perf_counter()
            page = json.loads(body)
            parsing += time.perf_counter() - before
            pages += 1
            items += len(page["items"])
            if not page["items"]:
                return Sync(items, pages, time.perf_counter() - started, parsing)
            url = page["next"]


if __name__ == "__main__":
    main()
