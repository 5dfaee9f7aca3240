"""Records normalised once into column lists, the input of blocking and scoring."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from dedupe import normalize as nz
from dedupe.types import MatchRecord

DESCRIPTION_CHARS = 600


@dataclass(frozen=True)
class Prepared:
    records: Sequence[MatchRecord]
    ids: list[str]
    sources: list[str]
    title: list[str | None]
    title_numbers: list[frozenset[str]]
    provider: list[str | None]
    outcode: list[str | None]
    lat: np.ndarray
    lon: np.ndarray
    closing: np.ndarray
    start: np.ndarray
    pay: np.ndarray
    apply_url: list[str | None]
    url: list[str | None]
    description: list[str | None]
    phone: list[str | None]
    address: list[str | None]
    house: list[str | None]
    street: list[str | None]
    source_ids: list[frozenset[str]]
    codes: list[frozenset[str]]
    compact: list[str]

    def __len__(self) -> int:
        return len(self.ids)


def prepare(records: Sequence[MatchRecord]) -> Prepared:
    title = [nz.normalize_title(r.title) for r in records]
    address = [nz.normalize_address(r.address) for r in records]
    house_street = [nz.split_address(a) for a in address]
    return Prepared(
        records=records,
        ids=[r.id for r in records],
        sources=[r.source for r in records],
        title=title,
        title_numbers=[nz.title_numbers(t) for t in title],
        provider=[nz.org_core(r.provider) for r in records],
        outcode=[nz.normalize_outcode(r.postcode, r.outcode) for r in records],
        lat=_floats([r.lat for r in records]),
        lon=_floats([r.lon for r in records]),
        closing=_floats([_ordinal(r.closing) for r in records]),
        start=_floats([_ordinal(r.start) for r in records]),
        pay=_floats([_pay(r) for r in records]),
        apply_url=[nz.normalize_url(r.apply_url) for r in records],
        url=[nz.normalize_url(r.url) for r in records],
        description=[_description(r.description) for r in records],
        phone=[nz.normalize_phone(r.phone) for r in records],
        address=address,
        house=[hs[0] for hs in house_street],
        street=[hs[1] for hs in house_street],
        source_ids=[frozenset(s for s in r.source_ids if s) for r in records],
        codes=[nz.extract_codes(r.title) for r in records],
        compact=[nz.compact(f"{r.title or ''} {r.description or ''}") for r in records],
    )


def _floats(values: list[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else v for v in values], dtype=float)


def _ordinal(value: date | None) -> float | None:
    return None if value is None else float(value.toordinal())


def _pay(record: MatchRecord) -> float | None:
    known = [p for p in (record.pay_min, record.pay_max) if p is not None and p > 0]
    return sum(known) / len(known) if known else None


def _description(value: str | None) -> str | None:
    text = nz.normalize_text(value)
    return None if text is None else text[:DESCRIPTION_CHARS]
