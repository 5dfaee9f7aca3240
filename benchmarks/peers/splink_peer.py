"""Runs Splink 5 on DuckDB on one benchmark, unsupervised; run in its own venv.

    python splink_peer.py INPUT.json

Chicago: ``dedupe_only`` with connected-component clusters; abt-buy:
``link_only`` between the shops with one-to-one single best links. The model
is fitted by expectation maximisation with no labels (u by random sampling).
Prints one JSON object: clusters, wall seconds and peak RSS in MB.
"""

from __future__ import annotations

import json
import logging
import re
import resource
import sys
import time
from typing import Any

import splink.comparison_library as cl
from splink import DuckDBAPI, Linker, SettingsCreator, block_on

Record = dict[str, Any]
THRESHOLD = 0.5
WORD = re.compile(r"[a-z0-9]+")


def _clean(value: Any) -> str | None:
    text = " ".join(WORD.findall(str(value or "").lower()))
    return text or None


def _rows(records: list[Record], fields: tuple[str, ...]) -> list[Record]:
    rows = []
    for r in records:
        row = {"unique_id": r["id"], "source_dataset": r["source"]}
        row |= {name: _clean(r.get(name)) for name in fields}
        words = (row.get("title") or "").split()
        row["title_first"] = words[0] if words else None
        row["title_last"] = words[-1] if words else None
        rows.append(row)
    return rows


def chicago_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("title", [0.95, 0.88, 0.7]),
            cl.JaroWinklerAtThresholds("provider", [0.9]),
            cl.ExactMatch("url"),
            cl.LevenshteinAtThresholds("address", [1, 3]),
            cl.ExactMatch("zip"),
            cl.ExactMatch("phone"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("address"),
            block_on("phone"),
            block_on("title"),
            block_on("zip", "title_first"),
        ],
    )


def abt_buy_settings() -> SettingsCreator:
    return SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.JaroWinklerAtThresholds("title", [0.95, 0.88, 0.75]),
            cl.ExactMatch("title_last"),  # often the model number
        ],
        blocking_rules_to_generate_predictions=[
            block_on("title_first"),
            block_on("title_last"),
        ],
    )


def _train(linker: Linker, deterministic: list[Any], em_rules: list[Any]) -> None:
    training = linker.training
    training.estimate_probability_two_random_records_match(deterministic, recall=0.7)
    training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    for rule in em_rules:
        training.estimate_parameters_using_expectation_maximisation(rule)


def run_chicago(db: DuckDBAPI, records: list[Record]) -> Any:
    fields = ("title", "provider", "url", "address", "zip", "phone")
    table = db.register(_rows(records, fields))
    linker = Linker(table, chicago_settings())
    _train(linker, [block_on("address", "zip")], [block_on("zip"), block_on("phone")])
    predictions = linker.inference.predict(threshold_match_probability=0.1)
    return linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )


def run_abt_buy(db: DuckDBAPI, records: list[Record]) -> Any:
    tables = [
        db.register(
            _rows([r for r in records if r["source"] == shop], ("title",)),
            dataset_display_name=shop,
        )
        for shop in ("abt", "buy")
    ]
    linker = Linker(tables, abt_buy_settings())
    _train(
        linker, [block_on("title_last")], [block_on("title_first"), block_on("title")]
    )
    predictions = linker.inference.predict(threshold_match_probability=0.1)
    return linker.clustering.cluster_using_single_best_links(
        predictions,
        duplicate_free_datasets=["abt", "buy"],
        threshold_match_probability=THRESHOLD,
    )


def run(benchmark: str, records: list[Record]) -> list[list[str]]:
    runner = run_chicago if benchmark == "chicago" else run_abt_buy
    return _groups(runner(DuckDBAPI(), records).as_record_list())


def _groups(rows: list[Record]) -> list[list[str]]:
    groups: dict[str, list[str]] = {}
    for row in rows:
        groups.setdefault(str(row["cluster_id"]), []).append(row["unique_id"])
    return list(groups.values())


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("splink").setLevel(logging.WARNING)
    spec = json.loads(open(sys.argv[1], encoding="utf-8").read())
    started = time.perf_counter()
    clusters = run(spec["benchmark"], spec["records"])
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"clusters": clusters, "seconds": seconds, "peak_mb": peak}))


if __name__ == "__main__":
    main()
