"""Sort-based set operations on int64 key arrays (numpy's hash-based
``np.unique`` is several times slower on the pair keys of a large run).

Sorts are numpy's default (unstable) kind: on x86 it is a vectorised sort,
several times faster than the stable one or ``np.lexsort``; nothing here
depends on the order of equal keys."""

from __future__ import annotations

import numpy as np


def unique(keys: np.ndarray) -> np.ndarray:
    """Sorted distinct keys."""
    ordered = np.sort(keys)
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate([[True], ordered[1:] != ordered[:-1]])]


def unique_inverse(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct keys and, for each key, the position of its value."""
    order = np.argsort(keys)
    ordered = keys[order]
    first = np.concatenate([[True], ordered[1:] != ordered[:-1]]) if len(keys) else []
    inverse = np.empty(len(keys), dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    return ordered[np.asarray(first, dtype=bool)], inverse


def member(keys: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    """Whether each key is in ``sorted_set`` (sorted, distinct)."""
    if not len(sorted_set):
        return np.zeros(np.shape(keys), dtype=bool)
    at = np.minimum(np.searchsorted(sorted_set, keys), len(sorted_set) - 1)
    return sorted_set[at] == keys
