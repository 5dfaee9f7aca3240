"""Records normalised once into columns, the input of blocking and scoring.

Text columns are interned: each row holds an integer code (-1 = missing) into
the column's values, so scoring and blocking work on numpy arrays and compare
each distinct pair of values once. Rows can be rewritten or appended in place
(``Prepared.update``), which is how a ``MatchState`` prepares only the records
that changed since the last run.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np

from dedupe import normalize as nz
from dedupe.types import MatchRecord

DESCRIPTION_CHARS = 600
# the MatchRecord fields that blocking and scoring read
MATCH_FIELDS = (
    "id",
    "source",
    "title",
    "provider",
    "postcode",
    "outcode",
    "lat",
    "lon",
    "closing",
    "start",
    "pay_min",
    "pay_max",
    "apply_url",
    "url",
    "description",
    "phone",
    "address",
    "source_ids",
)
TEXT_COLUMNS = (
    "title",
    "provider",
    "outcode",
    "apply_url",
    "url",
    "description",
    "phone",
    "address",
    "house",
    "street",
    "source",
)
FLOAT_COLUMNS = ("lat", "lon", "closing", "start", "pay", "house")


@dataclass
class Column:
    """Interned values of one text field; ``codes`` per row, -1 when missing."""

    codes: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int32))
    values: list[str] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    _processed: list[str] = field(default_factory=list)
    _sorted: list[str] = field(default_factory=list)

    def encode(self, values: Sequence[str | None]) -> np.ndarray:
        index, known = self.index, self.values
        out = np.empty(len(values), dtype=np.int32)
        for k, value in enumerate(values):
            if value is None:
                out[k] = -1
                continue
            code = index.get(value)
            if code is None:
                code = index[value] = len(known)
                known.append(value)
            out[k] = code
        return out

    def processed(self) -> list[str]:
        """Every value through the shared processor, by code (computed once)."""
        if len(self._processed) < len(self.values):
            self._processed += nz.preprocess(self.values[len(self._processed) :])
        return self._processed

    def sorted_tokens(self) -> list[str]:
        """Processed values with their words sorted: ``ratio`` over these is
        ``token_sort_ratio`` over the values."""
        processed = self.processed()
        done = len(self._sorted)
        self._sorted += [" ".join(sorted(t.split())) for t in processed[done:]]
        return self._sorted

    def __getitem__(self, row: int) -> str | None:
        code = int(self.codes[row])
        return None if code < 0 else self.values[code]


@dataclass
class Prepared:
    records: list[MatchRecord] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    text: dict[str, Column] = field(
        default_factory=lambda: {name: Column() for name in TEXT_COLUMNS}
    )
    floats: dict[str, np.ndarray] = field(
        default_factory=lambda: {name: np.zeros(0) for name in FLOAT_COLUMNS}
    )
    id_hash: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    source_ids: list[frozenset[str]] = field(default_factory=list)
    codes: list[frozenset[str]] = field(default_factory=list)
    compact: list[str] = field(default_factory=list)
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    _number_sets: list[frozenset[str]] = field(default_factory=list)
    _title_numbers: list[int] = field(default_factory=list)  # by title code
    with_codes: bool = True  # extract reference codes (needed only for "codes")
    # blocking's own lasting vocabularies (token -> code), kept across runs
    vocabularies: dict[str, dict[str, int]] = field(default_factory=dict)
    title_tokens: list[list[int]] = field(default_factory=list)  # by title code

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def title(self) -> Column:
        return self.text["title"]

    @property
    def provider(self) -> Column:
        return self.text["provider"]

    def title_number_sets(self) -> tuple[list[frozenset[str]], np.ndarray]:
        """Distinct sets of numbers in titles, and each title code's set."""
        sets = self._number_sets
        index = {numbers: k for k, numbers in enumerate(sets)}
        for title in self.title.values[len(self._title_numbers) :]:
            numbers = nz.title_numbers(title)
            if numbers not in index:
                index[numbers] = len(sets)
                sets.append(numbers)
            self._title_numbers.append(index[numbers])
        return sets, np.array(self._title_numbers + [-1], dtype=np.int64)

    def update(self, rows: np.ndarray, records: Sequence[MatchRecord]) -> None:
        """Write ``records`` at ``rows``; rows past the end are appended in order."""
        rows = np.asarray(rows, dtype=np.int64)
        size = max(len(self), int(rows.max()) + 1 if len(rows) else 0)
        self._grow(size)
        for row, record in zip(rows.tolist(), records, strict=True):
            self.records[row] = record
            self.ids[row] = record.id
        self.alive[rows] = True
        self.id_hash[rows] = [_id_hash(r.id) for r in records]
        text, floats = _columns(records)
        for name, values in text.items():
            self.text[name].codes[rows] = self.text[name].encode(values)
        for name, numbers in floats.items():
            self.floats[name][rows] = numbers
        for row, record in zip(rows.tolist(), records, strict=True):
            self.source_ids[row] = frozenset(s for s in record.source_ids if s)
            if self.with_codes:
                self.codes[row] = _cached_codes(record.title)
            self.compact[row] = ""  # filled on demand: see ``compact_text``

    def compact_text(self, row: int) -> str:
        if not self.compact[row]:
            record = self.records[row]
            self.compact[row] = nz.compact(
                f"{record.title or ''} {record.description or ''}"
            )
        return self.compact[row]

    def remove(self, rows: np.ndarray) -> None:
        self.alive[rows] = False

    def _grow(self, size: int) -> None:
        extra = size - len(self)
        if extra <= 0:
            return
        self.records += [None] * extra  # type: ignore[list-item]
        self.ids += [""] * extra
        self.source_ids += [frozenset()] * extra
        self.codes += [frozenset()] * extra
        self.compact += [""] * extra
        self.alive = np.concatenate([self.alive, np.zeros(extra, dtype=bool)])
        self.id_hash = np.concatenate([self.id_hash, np.zeros(extra, dtype=np.int64)])
        for column in self.text.values():
            column.codes = np.concatenate(
                [column.codes, np.full(extra, -1, dtype=np.int32)]
            )
        for name, values in self.floats.items():
            self.floats[name] = np.concatenate([values, np.full(extra, math.nan)])


def prepare(records: Sequence[MatchRecord]) -> Prepared:
    prep = Prepared()
    prep.update(np.arange(len(records)), records)
    return prep


def _id_hash(record_id: str) -> int:
    """An order-independent tie-breaker: the same in every run and process."""
    digest = hashlib.blake2b(record_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def _mapped(function: Callable[[str | None], object], values: list[str | None]) -> list:
    """``function`` over ``values``, computed once per distinct value."""
    cache = {value: function(value) for value in set(values)}
    return [cache[value] for value in values]


def _columns(
    records: Sequence[MatchRecord],
) -> tuple[dict[str, list[str | None]], dict[str, list[float]]]:
    address = _mapped(nz.normalize_address, [r.address for r in records])
    split = _mapped(nz.split_address, address)
    text = {
        "title": _mapped(nz.normalize_title, [r.title for r in records]),
        "provider": _mapped(nz.org_core, [r.provider for r in records]),
        "outcode": _outcodes(records),
        "apply_url": _mapped(nz.normalize_url, [r.apply_url for r in records]),
        "url": _mapped(nz.normalize_url, [r.url for r in records]),
        "description": _mapped(_description, [r.description for r in records]),
        "phone": _mapped(nz.normalize_phone, [r.phone for r in records]),
        "address": address,
        "house": [house for house, _ in split],
        "street": [street for _, street in split],
        "source": [r.source for r in records],
    }
    floats = {
        "lat": [_float(r.lat) for r in records],
        "lon": [_float(r.lon) for r in records],
        "closing": [_ordinal(r.closing) for r in records],
        "start": [_ordinal(r.start) for r in records],
        "pay": [_pay(r) for r in records],
        "house": [math.nan if h is None else float(h) for h, _ in split],
    }
    return text, floats


def _outcodes(records: Sequence[MatchRecord]) -> list[str | None]:
    places = [(r.postcode, r.outcode) for r in records]
    cache = {place: nz.normalize_outcode(*place) for place in set(places)}
    return [cache[place] for place in places]


_CODES: dict[str | None, frozenset[str]] = {}


def _cached_codes(title: str | None) -> frozenset[str]:
    codes = _CODES.get(title)
    if codes is None:
        codes = nz.extract_codes(title)
        if len(_CODES) < 500_000:
            _CODES[title] = codes
    return codes


def _float(value: float | None) -> float:
    return math.nan if value is None else value


def _ordinal(value: date | None) -> float:
    return math.nan if value is None else float(value.toordinal())


def _pay(record: MatchRecord) -> float:
    known = [p for p in (record.pay_min, record.pay_max) if p is not None and p > 0]
    return sum(known) / len(known) if known else math.nan


def _description(value: str | None) -> str | None:
    text = nz.normalize_text(value)
    return None if text is None else text[:DESCRIPTION_CHARS]
