"""Loaders for the labelled benchmarks, read in place from the shared data folder.

Each loader returns the records and the truth (record id -> true entity id);
the truth never reaches the matcher. Record ids carry no truth: Chicago uses
the file's own ``Id`` column, Abt-Buy a hash of file and row number.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from pathlib import Path

from dedupe.types import MatchRecord, RecordID

CHICAGO_FILE = Path("chicago-early-childhood") / "programmes_with_true_ids.csv"
ABT_FILE = Path("abt-buy") / "AbtBuy_Abt.csv"
BUY_FILE = Path("abt-buy") / "AbtBuy_Buy.csv"


@dataclass(frozen=True)
class Benchmark:
    records: list[MatchRecord]
    truth: dict[RecordID, str]
    cross_source_only: bool = False  # only links between sources count


def benchmarks_dir(data_dir: Path) -> Path:
    """Accept the shared ``data`` folder or its ``benchmarks`` folder."""
    nested = data_dir / "benchmarks"
    return nested if nested.is_dir() else data_dir


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8", errors="replace") as handle:
        return list(csv.DictReader(handle))


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = " ".join(value.split())
    return text or None


def load_chicago(data_dir: Path) -> Benchmark:
    """Site name -> title, agency -> provider, zip -> outcode, programme name
    and length of day -> extra."""
    rows = _read_csv(benchmarks_dir(data_dir) / CHICAGO_FILE)
    records = [_chicago_record(row) for row in rows]
    truth = {row["Id"]: row["True Id"] for row in rows}
    return Benchmark(records, truth)


def _chicago_record(row: dict[str, str]) -> MatchRecord:
    zip_code = (_clean(row["Zip"]) or "")[:5] or None
    extra = {
        "program": _clean(row["Program Name"]) or "",
        "length_of_day": _clean(row["Length of Day"]) or "",
    }
    return MatchRecord(
        id=row["Id"],
        source=row["Source"],
        title=_clean(row["Site name"]),
        provider=_clean(row["Agency"]),
        outcode=zip_code,
        address=_clean(row["Address"]),
        phone=_clean(row["Phone"]),
        url=_clean(row["Website"]),
        extra={k: v for k, v in extra.items() if v},
    )


def load_abt_buy(data_dir: Path) -> Benchmark:
    """Title, description and price (in ``extra``) of both shops' products."""
    base = benchmarks_dir(data_dir)
    records: list[MatchRecord] = []
    truth: dict[RecordID, str] = {}
    for source, name in (("abt", ABT_FILE), ("buy", BUY_FILE)):
        for row_number, row in enumerate(_read_csv(base / name)):
            record = _product_record(source, row_number, row)
            records.append(record)
            truth[record.id] = row["unique_id"]
    return Benchmark(records, truth, cross_source_only=True)


def _product_record(source: str, row_number: int, row: dict[str, str]) -> MatchRecord:
    digest = hashlib.sha1(f"{source}:{row_number}".encode()).hexdigest()[:12]
    price = _clean(row.get("price"))
    return MatchRecord(
        id=f"{source}:{digest}",
        source=source,
        title=_clean(row["title"]),
        description=_clean(row.get("description")),
        extra={"price": price} if price else {},
    )
