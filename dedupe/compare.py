"""Field comparisons: one similarity per field and pair, on 0-100.

NaN means either side is missing: no evidence either way. Every rapidfuzz call
passes the shared ``processor`` (FUZZ-02 regression guard in the tests).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
from rapidfuzz import fuzz, process

from dedupe.normalize import code_stem, processor
from dedupe.prepared import Prepared

# A title whose words are a subset of another's reaches at most this (0-100):
# "Summer School" vs "Summer School in Law" must not look identical.
SUBSET_FACTOR = 0.85
NUMBER_MISMATCH_CAP = 50.0  # 0-100: "Level 3" vs "Level 6"; see _numbers_clash
EARTH_KM = 6371.0
NEARBY_HOUSES = 60  # house numbers this close may be one site
MIN_CONTAINED_CODE = 5
FeatureFunction = Callable[[Prepared, np.ndarray, np.ndarray, int], np.ndarray]


def _pick(values: Sequence[object], idx: np.ndarray) -> list:
    return [values[i] for i in idx]


def _text_similarity(
    left: list[str | None], right: list[str | None], scorer: object, workers: int
) -> np.ndarray:
    out = np.full(len(left), math.nan)
    pos = [k for k, (a, b) in enumerate(zip(left, right, strict=True)) if a and b]
    if pos:
        out[pos] = process.cpdist(
            [left[k] for k in pos],
            [right[k] for k in pos],
            scorer=scorer,
            processor=processor,
            workers=workers,
        )
    return out


def _blend(left: list[str | None], right: list[str | None], workers: int) -> np.ndarray:
    ordered = _text_similarity(left, right, fuzz.token_sort_ratio, workers)
    subset = _text_similarity(left, right, fuzz.token_set_ratio, workers)
    return np.fmax(ordered, SUBSET_FACTOR * subset)


def title_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    sim = _blend(_pick(prep.title, li), _pick(prep.title, ri), w)
    numbers = zip(
        _pick(prep.title_numbers, li), _pick(prep.title_numbers, ri), strict=True
    )
    clash = np.array([_numbers_clash(a, b) for a, b in numbers], dtype=bool)
    sim[clash] = np.fmin(sim[clash], NUMBER_MISMATCH_CAP)
    return sim


def _numbers_clash(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both titles carry numbers and neither's are among the other's."""
    return bool(a and b) and not (a <= b or b <= a)


def provider_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    return _blend(_pick(prep.provider, li), _pick(prep.provider, ri), w)


def description_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    left, right = _pick(prep.description, li), _pick(prep.description, ri)
    return _text_similarity(left, right, fuzz.token_sort_ratio, w)


def place_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    """100 at 0 km, minus 2 per km; without coordinates 95 for the same outcode
    and 40 for different ones."""
    km = _haversine_km(prep.lat[li], prep.lon[li], prep.lat[ri], prep.lon[ri])
    sim = np.clip(100.0 - 2.0 * km, 0.0, 100.0)
    outcodes = zip(_pick(prep.outcode, li), _pick(prep.outcode, ri), strict=True)
    by_outcode = np.array(
        [math.nan if not (a and b) else 95.0 if a == b else 40.0 for a, b in outcodes]
    )
    return np.where(np.isnan(sim), by_outcode, sim)


def _haversine_km(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(lon2 - lon1)
    h = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2 * EARTH_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def _days_feature(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """100 on the same day, minus 5 per day apart."""
    return np.clip(100.0 - 5.0 * np.abs(left - right), 0.0, 100.0)


def pay_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    """100 for the same pay, minus 2 per percent of difference."""
    a, b = prep.pay[li], prep.pay[ri]
    relative = np.abs(a - b) / np.fmax(a, b)
    return np.clip(100.0 - 200.0 * relative, 0.0, 100.0)


def _equal_feature(left: list[object], right: list[object]) -> np.ndarray:
    return np.array(
        [
            math.nan if not (a and b) else 100.0 * (a == b)
            for a, b in zip(left, right, strict=True)
        ]
    )


def source_ids_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    pairs = zip(_pick(prep.source_ids, li), _pick(prep.source_ids, ri), strict=True)
    return np.array([100.0 if a & b else math.nan for a, b in pairs])


def address_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    """token_sort_ratio of the street addresses, then house-number rules: the
    same number and street reaches 95; nearby numbers on the same street
    (a site spanning 2140-2141) at most 85; other numbers at most 40."""
    sim = _text_similarity(
        _pick(prep.address, li), _pick(prep.address, ri), fuzz.token_sort_ratio, w
    )
    for k, (i, j) in enumerate(zip(li, ri, strict=True)):
        if not math.isnan(sim[k]):
            sim[k] = _house_rule(prep, int(i), int(j), sim[k])
    return sim


def _house_rule(prep: Prepared, i: int, j: int, sim: float) -> float:
    house_i, house_j = prep.house[i], prep.house[j]
    same_street = prep.street[i] is not None and prep.street[i] == prep.street[j]
    if house_i is None or house_j is None:
        return sim
    if house_i == house_j:
        return max(sim, 95.0) if same_street else sim
    if same_street and abs(int(house_i) - int(house_j)) <= NEARBY_HOUSES:
        return min(sim, 85.0)
    return min(sim, 40.0)


def codes_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    """100 for a shared code; 90 when one side's code is inside the other's
    text, 85 when it is without its trailing letters; 80 when one code extends
    another ("fs105" / "fs105na"); 0 when both have codes and none agree; NaN
    otherwise."""
    return np.array(
        [_code_similarity(prep, int(i), int(j)) for i, j in zip(li, ri, strict=True)]
    )


def _code_similarity(prep: Prepared, i: int, j: int) -> float:
    codes_i, codes_j = prep.codes[i], prep.codes[j]
    if codes_i & codes_j:
        return 100.0
    if _contained(codes_i, prep.compact[j]) or _contained(codes_j, prep.compact[i]):
        return 90.0
    if _stem_contained(codes_i, prep.compact[j]) or _stem_contained(
        codes_j, prep.compact[i]
    ):
        return 85.0
    if not (codes_i and codes_j):
        return math.nan
    if any(a.startswith(b) or b.startswith(a) for a in codes_i for b in codes_j):
        return 80.0
    return 0.0


def _stem_contained(codes: frozenset[str], text: str) -> bool:
    stems = (code_stem(code) for code in codes)
    return any(len(stem) >= MIN_CONTAINED_CODE and stem in text for stem in stems)


def _contained(codes: frozenset[str], text: str) -> bool:
    return any(len(code) >= MIN_CONTAINED_CODE and code in text for code in codes)


FEATURES: dict[str, FeatureFunction] = {
    "title": title_feature,
    "provider": provider_feature,
    "place": place_feature,
    "closing": lambda p, li, ri, w: _days_feature(p.closing[li], p.closing[ri]),
    "start": lambda p, li, ri, w: _days_feature(p.start[li], p.start[ri]),
    "pay": pay_feature,
    "apply_url": lambda p, li, ri, w: _equal_feature(
        _pick(p.apply_url, li), _pick(p.apply_url, ri)
    ),
    "url": lambda p, li, ri, w: _equal_feature(_pick(p.url, li), _pick(p.url, ri)),
    "description": description_feature,
    "phone": lambda p, li, ri, w: _equal_feature(
        _pick(p.phone, li), _pick(p.phone, ri)
    ),
    "source_ids": source_ids_feature,
    "address": address_feature,
    "codes": codes_feature,
}


def register_feature(name: str, function: FeatureFunction) -> None:
    FEATURES[name] = function
