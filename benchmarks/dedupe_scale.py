"""Scale benchmark of the dedupe core (run by hand, never as a test).

    .venv/bin/python benchmarks/dedupe_scale.py [--size 1000000]

Builds ``size`` synthetic listings plus 10,000 new ones (see ``listings``),
then prints pairwise P/R/F1, wall time and peak RSS for: a baseline (the same
pipeline on a tenth of the listings, measured in this run), the full run, and
the new listings matched incrementally against the full run's pairs. Ratios
compare each to the baseline; targets are printed beside the figures.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).parent)]

from listings import NEW_BATCH_SIZE, load_districts, make_listings, split_new  # noqa: E402

from dedupe import MatchRecord, MatchResult, MatchState, match  # noqa: E402
from dedupe.evaluate import pairwise_scores, within_pairs  # noqa: E402

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TARGET_FULL_SECONDS = 120.0
TARGET_FULL_GB = 4.0
TARGET_INCREMENTAL_SECONDS = 10.0
TARGET_SIZE = 1_000_000


@dataclass(frozen=True)
class Measured:
    name: str
    records: int
    seconds: float
    cpu_seconds: float
    peak_gb: float
    precision: float
    recall: float
    f1: float


class PeakRss:
    """Peak resident size of this process while the block runs, sampled."""

    def __init__(self, every: float = 0.05) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakRss:
        self.peak = _rss_bytes()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, _rss_bytes())


def _rss_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def timed(
    run: Callable[[], MatchResult],
) -> tuple[MatchResult, float, float, float]:
    """The result, wall and CPU seconds and peak RSS in GB of one run."""
    with PeakRss() as rss:
        started, cpu = time.perf_counter(), time.process_time()
        result = run()
        seconds = time.perf_counter() - started
        cpu_seconds = time.process_time() - cpu
    return result, seconds, cpu_seconds, rss.peak / 1e9


def score(result: MatchResult, truth: dict[str, str]) -> tuple[float, float, float]:
    ids = {r for cluster in result.clusters for r in cluster}
    true_groups: dict[str, set[str]] = {}
    for record_id in ids:
        true_groups.setdefault(truth[record_id], set()).add(record_id)
    found = within_pairs([set(c) for c in result.clusters])
    wanted = within_pairs(true_groups.values())
    return pairwise_scores(found, wanted)


def measure(
    name: str, records: Sequence[MatchRecord], truth: dict[str, str], **kwargs: object
) -> tuple[Measured, MatchResult]:
    result, seconds, cpu, peak = timed(lambda: match(records, **kwargs))  # type: ignore[arg-type]
    precision, recall, f1 = score(result, truth)
    figures = Measured(name, len(records), seconds, cpu, peak, precision, recall, f1)
    print_row(figures)
    return figures, result


def print_header() -> None:
    columns = f"{'P':>8}{'R':>8}{'F1':>8}{'wall s':>9}{'cpu s':>9}{'peak GB':>9}"
    print(f"{'run':<13}{'records':>10}{columns}")


def print_row(m: Measured) -> None:
    print(
        f"{m.name:<13}{m.records:>10,}{m.precision:>8.4f}{m.recall:>8.4f}"
        f"{m.f1:>8.4f}{m.seconds:>9.2f}{m.cpu_seconds:>9.2f}{m.peak_gb:>9.2f}",
        flush=True,
    )


def print_ratios(base: Measured, full: Measured, incremental: Measured) -> None:
    per_record = (full.seconds / full.records) / (base.seconds / base.records)
    print("\nratios against the baseline measured above:")
    print(f"  full / baseline wall time:        {full.seconds / base.seconds:8.2f}x")
    print(f"  full / baseline time per record:  {per_record:8.2f}x")
    print(f"  full / baseline peak RSS:         {full.peak_gb / base.peak_gb:8.2f}x")
    print(f"  full - baseline F1:               {full.f1 - base.f1:+8.4f}")
    increment = incremental.seconds
    print(f"  incremental / full wall time:     {increment / full.seconds:8.3f}x")
    print(f"  incremental / baseline wall time: {increment / base.seconds:8.2f}x")


def print_targets(full: Measured, incremental: Measured) -> None:
    scaled = full.records == TARGET_SIZE
    print(f"\ntargets (for {TARGET_SIZE:,} listings on 2 cores):")
    fits = full.seconds <= TARGET_FULL_SECONDS and full.peak_gb <= TARGET_FULL_GB
    print(
        f"  full run <= {TARGET_FULL_SECONDS:.0f} s and {TARGET_FULL_GB:.0f} GB: "
        f"{_verdict(fits, scaled)}"
    )
    print(
        f"  {NEW_BATCH_SIZE:,} incremental <= {TARGET_INCREMENTAL_SECONDS:.0f} s: "
        f"{_verdict(incremental.seconds <= TARGET_INCREMENTAL_SECONDS, scaled)}"
    )


def _verdict(met: bool, at_target_size: bool) -> str:
    text = "met" if met else "NOT met"
    return text if at_target_size else f"{text} (at this size, not the target size)"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=TARGET_SIZE)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    listings = make_listings(
        args.size + NEW_BATCH_SIZE, load_districts(SHARED_DATA), args.seed
    )
    existing, new = split_new(listings, NEW_BATCH_SIZE)
    opportunities = len(set(listings.truth.values()))
    print(
        f"built {len(listings.records):,} listings of {opportunities:,} opportunities "
        f"in {time.perf_counter() - started:.1f} s (not timed below)\n"
    )
    print_header()
    base, _ = measure(
        "baseline 1/10", existing[: max(args.size // 10, 2)], listings.truth
    )
    state = MatchState()
    full, _ = measure("full", existing, listings.truth, state=state)
    incremental, _ = measure(
        f"+{len(new):,} incr.",
        [*existing, *new],
        listings.truth,
        changed={r.id for r in new},
        state=state,
    )
    print_ratios(base, full, incremental)
    print_targets(full, incremental)


if __name__ == "__main__":
    main()
