"""Field comparisons: one similarity per field and pair, on 0-100.

NaN means either side is missing: no evidence either way. Every rapidfuzz call
gets input already through the shared ``processor`` (``Column.processed``) and
passes ``processor=PREPROCESSED`` (FUZZ-02 regression guard in the tests).
Text features are computed once per distinct pair of values, on arrays of
row indexes ``li`` / ``ri``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from rapidfuzz import fuzz, process

from dedupe.arrays import unique_inverse
from dedupe.normalize import PREPROCESSED, code_stem
from dedupe.prepared import Column, Prepared

# A title whose words are a subset of another's reaches at most this (0-100):
# "Summer School" vs "Summer School in Law" must not look identical.
SUBSET_FACTOR = 0.85
NUMBER_MISMATCH_CAP = 50.0  # 0-100: "Level 3" vs "Level 6"; see _numbers_clash
EARTH_KM = 6371.0
NEARBY_HOUSES = 60  # house numbers this close may be one site
MIN_CONTAINED_CODE = 5
FeatureFunction = Callable[[Prepared, np.ndarray, np.ndarray, int], np.ndarray]
# (column, codes, other codes, workers) -> 0-100 per code pair
Similarity = Callable[[Column, list[int], list[int], int], np.ndarray]


def _distinct_pairs(
    left: np.ndarray, right: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Positions with two different codes, their distinct code pairs and the
    inverse (position -> distinct pair)."""
    differ = np.flatnonzero((left >= 0) & (right >= 0) & (left != right))
    low = np.minimum(left[differ], right[differ]).astype(np.int64)
    high = np.maximum(left[differ], right[differ]).astype(np.int64)
    keys, inverse = unique_inverse((low << 32) | high)
    return differ, keys >> 32, keys & 0xFFFFFFFF, inverse


def _by_value(
    column: Column, li: np.ndarray, ri: np.ndarray, similarity: Similarity, w: int
) -> np.ndarray:
    """A symmetric similarity of two values: 100 for equal values, computed
    once per distinct pair otherwise (on code pairs, see ``Similarity``)."""
    left, right = column.codes[li], column.codes[ri]
    out = np.full(len(li), math.nan)
    out[(left >= 0) & (left == right)] = 100.0
    differ, low, high, inverse = _distinct_pairs(left, right)
    if len(differ):
        out[differ] = similarity(column, low.tolist(), high.tolist(), w)[inverse]
    return out


def _token_sort(column: Column, low: list[int], high: list[int], w: int) -> np.ndarray:
    # token_sort_ratio is ratio over the sorted tokens, sorted once per value
    texts = column.sorted_tokens()
    scores = process.cpdist(
        [texts[c] for c in low],
        [texts[c] for c in high],
        scorer=fuzz.ratio,
        processor=PREPROCESSED,
        workers=w,
    )
    return scores.astype(float)


def _blended(column: Column, low: list[int], high: list[int], w: int) -> np.ndarray:
    """max(token_sort, SUBSET_FACTOR * token_set); token_set only where it
    can still win (token_sort below 100 * SUBSET_FACTOR)."""
    ordered = _token_sort(column, low, high, w)
    texts = column.processed()
    left, right = [texts[c] for c in low], [texts[c] for c in high]
    open_ = np.flatnonzero(ordered < 100.0 * SUBSET_FACTOR)
    if len(open_):
        subset = process.cpdist(
            [left[k] for k in open_.tolist()],
            [right[k] for k in open_.tolist()],
            scorer=fuzz.token_set_ratio,
            processor=PREPROCESSED,
            workers=w,
        ).astype(float)
        ordered[open_] = np.fmax(ordered[open_], SUBSET_FACTOR * subset)
    return ordered


def title_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    sim = _by_value(prep.title, li, ri, _blended, w)
    sets, numbers = prep.title_number_sets()
    codes = prep.title.codes
    left = np.where(codes[li] >= 0, numbers[codes[li]], -1)
    right = np.where(codes[ri] >= 0, numbers[codes[ri]], -1)
    differ, low, high, inverse = _distinct_pairs(left, right)
    clash = np.array(
        [
            _numbers_clash(sets[a], sets[b])
            for a, b in zip(low.tolist(), high.tolist(), strict=True)
        ],
        dtype=bool,
    )
    capped = differ[clash[inverse]] if len(differ) else differ
    sim[capped] = np.fmin(sim[capped], NUMBER_MISMATCH_CAP)
    return sim


def _numbers_clash(a: frozenset[str], b: frozenset[str]) -> bool:
    """Both titles carry numbers and neither's are among the other's."""
    return bool(a and b) and not (a <= b or b <= a)


def provider_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    return _by_value(prep.provider, li, ri, _blended, w)


def description_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    return _by_value(prep.text["description"], li, ri, _token_sort, w)


def place_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    """100 at 0 km, minus 2 per km; without coordinates 95 for the same outcode
    and 40 for different ones."""
    lat, lon = prep.floats["lat"], prep.floats["lon"]
    km = _haversine_km(lat[li], lon[li], lat[ri], lon[ri])
    sim = np.clip(100.0 - 2.0 * km, 0.0, 100.0)
    left, right = prep.text["outcode"].codes[li], prep.text["outcode"].codes[ri]
    by_outcode = np.where(left == right, 95.0, 40.0)
    by_outcode[(left < 0) | (right < 0)] = math.nan
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
    a, b = prep.floats["pay"][li], prep.floats["pay"][ri]
    relative = np.abs(a - b) / np.fmax(a, b)
    return np.clip(100.0 - 200.0 * relative, 0.0, 100.0)


def _equal_feature(name: str) -> FeatureFunction:
    def feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
        left, right = prep.text[name].codes[li], prep.text[name].codes[ri]
        out = np.where(left == right, 100.0, 0.0)
        out[(left < 0) | (right < 0)] = math.nan
        return out

    return feature


def _sparse_rows(
    values: list[frozenset[str]], li: np.ndarray, ri: np.ndarray
) -> np.ndarray:
    """Positions where either row has a non-empty set."""
    has = np.array([bool(v) for v in values] + [False], dtype=bool)
    return np.flatnonzero(has[li] | has[ri])


def source_ids_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    out = np.full(len(li), math.nan)
    ids = prep.source_ids
    for k in _sparse_rows(ids, li, ri).tolist():
        if ids[li[k]] & ids[ri[k]]:
            out[k] = 100.0
    return out


def address_feature(
    prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int
) -> np.ndarray:
    """token_sort_ratio of the street addresses, then house-number rules: the
    same number and street reaches 95; nearby numbers on the same street
    (a site spanning 2140-2141) at most 85; other numbers at most 40."""
    sim = _by_value(prep.text["address"], li, ri, _token_sort, w)
    house_l, house_r = prep.text["house"].codes[li], prep.text["house"].codes[ri]
    street_l, street_r = prep.text["street"].codes[li], prep.text["street"].codes[ri]
    numbers = prep.floats["house"]
    known = ~np.isnan(sim) & (house_l >= 0) & (house_r >= 0)
    same_street = (street_l >= 0) & (street_l == street_r)
    same_house = known & (house_l == house_r)
    sim = np.where(same_house & same_street, np.fmax(sim, 95.0), sim)
    nearby = np.abs(numbers[li] - numbers[ri]) <= NEARBY_HOUSES
    other = known & ~same_house
    sim = np.where(other & same_street & nearby, np.fmin(sim, 85.0), sim)
    return np.where(other & ~(same_street & nearby), np.fmin(sim, 40.0), sim)


def codes_feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
    """100 for a shared code; 90 when one side's code is inside the other's
    text, 85 when it is without its trailing letters; 80 when one code extends
    another ("fs105" / "fs105na"); 0 when both have codes and none agree; NaN
    otherwise."""
    out = np.full(len(li), math.nan)
    for k in _sparse_rows(prep.codes, li, ri).tolist():
        out[k] = _code_similarity(prep, int(li[k]), int(ri[k]))
    return out


def _code_similarity(prep: Prepared, i: int, j: int) -> float:
    codes_i, codes_j = prep.codes[i], prep.codes[j]
    if codes_i & codes_j:
        return 100.0
    text_i, text_j = prep.compact_text(i), prep.compact_text(j)
    if _contained(codes_i, text_j) or _contained(codes_j, text_i):
        return 90.0
    if _stem_contained(codes_i, text_j) or _stem_contained(codes_j, text_i):
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


def _days(name: str) -> FeatureFunction:
    def feature(prep: Prepared, li: np.ndarray, ri: np.ndarray, w: int) -> np.ndarray:
        values = prep.floats[name]
        return _days_feature(values[li], values[ri])

    return feature


FEATURES: dict[str, FeatureFunction] = {
    "title": title_feature,
    "provider": provider_feature,
    "place": place_feature,
    "closing": _days("closing"),
    "start": _days("start"),
    "pay": pay_feature,
    "apply_url": _equal_feature("apply_url"),
    "url": _equal_feature("url"),
    "description": description_feature,
    "phone": _equal_feature("phone"),
    "source_ids": source_ids_feature,
    "address": address_feature,
    "codes": codes_feature,
}


def register_feature(name: str, function: FeatureFunction) -> None:
    FEATURES[name] = function
