"""Blocking: candidate pairs from cheap keys, never all pairs.

Blocks up to ``max_block_size`` records give all their pairs; bigger ones (up
to ``hard_block_size``) only pairs whose titles reach ``thin_score_cutoff``
(0-100, token_sort_ratio through the shared processor); bigger still are
dropped. ``block_counts`` reports the pairs each key kind produced, and
``<kind>:oversize_blocks`` how many of its blocks were thinned or dropped.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from itertools import combinations

import numpy as np
from rapidfuzz import fuzz, process

from dedupe.config import MatchConfig
from dedupe.normalize import processor
from dedupe.prepared import Prepared

logger = logging.getLogger(__name__)

TITLE_STOP_TOKENS = frozenset(
    {"and", "of", "for", "in", "at", "a", "an", "to", "with", "on", "by", "s"}
)
KeyFunction = Callable[[Prepared, int], Iterable[str]]
Pair = tuple[int, int]


def _single(value: str | None) -> Iterable[str]:
    return () if value is None else (value,)


def _title_tokens(prep: Prepared, i: int) -> Iterable[str]:
    title = prep.title[i]
    if title is None:
        return ()
    return {t for t in title.split() if t not in TITLE_STOP_TOKENS and len(t) > 1}


def _address(prep: Prepared, i: int) -> Iterable[str]:
    house, street = prep.house[i], prep.street[i]
    return () if house is None or street is None else (f"{house} {street}",)


def _url_or_none(url: str | None) -> Iterable[str]:
    # A bare host is shared by every listing on a site: not an identity.
    return () if url is None or "/" not in url else (url,)


KEY_FUNCTIONS: dict[str, KeyFunction] = {
    "provider": lambda p, i: _single(p.provider[i]),
    "title_tokens": _title_tokens,
    "outcode": lambda p, i: _single(p.outcode[i]),
    "apply_url": lambda p, i: _url_or_none(p.apply_url[i]),
    "url": lambda p, i: _url_or_none(p.url[i]),
    "source_ids": lambda p, i: p.source_ids[i],
    "phone": lambda p, i: _single(p.phone[i]),
    "address": _address,
    "codes": lambda p, i: p.codes[i],
}


def block_records(
    prep: Prepared, config: MatchConfig, focus: set[int] | None = None
) -> tuple[set[Pair], dict[str, int]]:
    """Candidate pairs (index pairs, lower index first) and pairs per key kind.

    With ``focus``, only pairs touching a focus record are produced; each of
    them is produced exactly as a full run would (block sizes count everyone).
    """
    pairs: set[Pair] = set()
    counts: dict[str, int] = {}
    for kind in config.block_keys:
        kind_pairs = oversize = 0
        for members in _blocks(prep, kind).values():
            found = _block_pairs(prep, members, config, focus)
            kind_pairs += len(found)
            oversize += len(members) > config.max_block_size
            pairs.update(found)
        counts[kind] = kind_pairs
        if oversize:
            counts[f"{kind}:oversize_blocks"] = oversize
    logger.debug("blocking produced %d candidate pairs: %s", len(pairs), counts)
    return pairs, counts


def _blocks(prep: Prepared, kind: str) -> dict[str, list[int]]:
    key_function = KEY_FUNCTIONS[kind]
    blocks: dict[str, list[int]] = defaultdict(list)
    for i in range(len(prep)):
        for key in key_function(prep, i):
            blocks[key].append(i)
    return blocks


def _block_pairs(
    prep: Prepared, members: list[int], config: MatchConfig, focus: set[int] | None
) -> list[Pair]:
    if len(members) < 2 or len(members) > config.hard_block_size:
        if len(members) > config.hard_block_size:
            logger.info("dropped a block of %d records", len(members))
        return []
    if len(members) <= config.max_block_size:
        found = _all_pairs(members, focus)
    else:
        found = _thinned_pairs(prep, members, config, focus)
    if config.cross_source_only:
        found = [(i, j) for i, j in found if prep.sources[i] != prep.sources[j]]
    return found


def _all_pairs(members: list[int], focus: set[int] | None) -> list[Pair]:
    pairs = [(i, j) if i < j else (j, i) for i, j in combinations(members, 2)]
    if focus is None:
        return pairs
    return [(i, j) for i, j in pairs if i in focus or j in focus]


def _thinned_pairs(
    prep: Prepared, members: list[int], config: MatchConfig, focus: set[int] | None
) -> list[Pair]:
    members = [m for m in members if prep.title[m] is not None]
    queries = members if focus is None else [m for m in members if m in focus]
    if not queries:
        return []
    scores = process.cdist(
        [prep.title[i] or "" for i in queries],
        [prep.title[j] or "" for j in members],
        scorer=fuzz.token_sort_ratio,
        processor=processor,
        score_cutoff=config.thin_score_cutoff,
        dtype=np.uint8,
        workers=config.workers,
    )
    rows, cols = _nearest(scores, config.thin_top_k)
    left = np.asarray(queries)[rows]
    right = np.asarray(members)[cols]
    low, high = np.minimum(left, right), np.maximum(left, right)
    keep = low != high
    return list(zip(low[keep].tolist(), high[keep].tolist(), strict=True))


def _nearest(scores: np.ndarray, top_k: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every nonzero score, or only of each row's ``top_k``
    best (plus one for the record itself)."""
    keep = top_k + 1 if top_k is not None else scores.shape[1]
    if keep >= scores.shape[1]:
        return np.nonzero(scores)
    cols = np.argpartition(scores, -keep, axis=1)[:, -keep:]
    rows = np.repeat(np.arange(scores.shape[0]), keep)
    cols = cols.ravel()
    nonzero = scores[rows, cols] > 0
    return rows[nonzero], cols[nonzero]
