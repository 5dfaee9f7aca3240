"""Blocking: candidate pairs from cheap keys, never all pairs.

Blocks up to ``max_block_size`` records give all their pairs; bigger ones (up
to ``hard_block_size``) only pairs whose titles reach ``thin_score_cutoff``
(0-100, token_sort_ratio through the shared processor), each record keeping
its ``thin_top_k`` nearest; bigger still are dropped. ``block_counts`` reports
the pairs each key kind produced, and ``<kind>:oversize_blocks`` how many of
its blocks were thinned or dropped.

Everything runs on numpy arrays: a pair of rows ``i < j`` is one int64 key
``i << 32 | j`` (see ``pack``). Block members are ordered by a hash of their
record id, and ties among a record's nearest titles go to the earlier member,
so the pairs never depend on the order records arrive in.

Given a ``BlockCache`` that knows which rows changed since it was filled, the
candidate pairs are brought up to date rather than made again: each pair's
support (the block entries that produced it) is kept, and only the entries of
changed rows, and of unchanged rows whose block or nearest titles moved, are
counted again. The result is what blocking afresh gives.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from rapidfuzz import fuzz, process

from dedupe.arrays import member, unique_inverse
from dedupe.config import MatchConfig
from dedupe.normalize import PREPROCESSED
from dedupe.prepared import Prepared

logger = logging.getLogger(__name__)

TITLE_STOP_TOKENS = frozenset(
    {"and", "of", "for", "in", "at", "a", "an", "to", "with", "on", "by", "s"}
)
Pair = tuple[int, int]
LOW = np.int64(0xFFFFFFFF)
ROW_CHUNK = 1024  # rows of a thinned block scored at once
# a smaller matrix is scored on one thread: starting the workers of one cdist
# call costs about as much as scoring 150,000 title pairs
PARALLEL_CELLS = 250_000


def pack(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Order-free int64 keys of row pairs (lower row in the high half)."""
    low = np.minimum(left, right).astype(np.int64)
    high = np.maximum(left, right).astype(np.int64)
    return (low << 32) | high


def unpack(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return keys >> 32, keys & LOW


def block_records(
    prep: Prepared, config: MatchConfig
) -> tuple[set[Pair], dict[str, int]]:
    """Candidate pairs (row pairs, lower row first) and pairs per key kind."""
    keys, counts = candidate_keys(prep, config)
    left, right = unpack(keys)
    return set(zip(left.tolist(), right.tolist(), strict=True)), counts


@dataclass
class Thinned:
    """One thinned block as last computed: its members in block order and,
    per member, the rows and title scores (0 = none) of its nearest titles."""

    members: np.ndarray
    rows: np.ndarray  # (members, keep) rows, -1 = none
    scores: np.ndarray  # (members, keep) uint8
    entries: int = field(init=False)  # (member, nearest other) entries

    def __post_init__(self) -> None:
        self.entries = int(np.count_nonzero(_others(self)))

    @cached_property
    def _order(self) -> np.ndarray:
        return np.argsort(self.members)

    @cached_property
    def _sorted(self) -> np.ndarray:
        return self.members[self._order]

    def holds(self, rows: np.ndarray) -> np.ndarray:
        """Whether each of ``rows`` is a member."""
        return member(rows, self._sorted)

    def positions(self, rows: np.ndarray) -> np.ndarray:
        """Where each of ``rows`` (all members) is in ``members``."""
        return self._order[np.searchsorted(self._sorted, rows)]


@dataclass(frozen=True)
class KindBlocks:
    """One key kind's blocks: their keys (sorted) and sizes."""

    keys: np.ndarray
    sizes: np.ndarray

    def sizes_of(self, keys: np.ndarray) -> np.ndarray:
        """The size each of ``keys`` (sorted) had, 0 for a block not here."""
        if not len(self.keys):
            return np.zeros(len(keys), dtype=np.int64)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return np.where(self.keys[at] == keys, self.sizes[at], 0)


@dataclass
class BlockCache:
    """What blocking left for the next run: its thinned blocks (reused where
    none of their members changed, updated row by row where some did), each
    kind's block sizes, and the candidate pairs with their support: how many
    block entries (a pair of a small block, a record's nearest in a thinned
    one) produced each. A run that knows which rows changed since then takes
    the pairs that cannot have moved from here and recounts only the rest."""

    thinned: dict[tuple[str, int], Thinned] = field(default_factory=dict)
    changed: np.ndarray | None = None  # bool per row, since the cache was filled
    blocks: dict[str, KindBlocks] = field(default_factory=dict)
    pairs: np.ndarray | None = None  # sorted distinct candidate pair keys
    support: np.ndarray | None = None  # int32 per pair
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # pairs the last run brought up to date found that the run before did not
    # have between the same rows: every pair touching a changed row and the
    # new ones of unchanged rows (None after blocking afresh)
    added: np.ndarray | None = None

    def fill(
        self,
        prep: Prepared,
        thinned: dict[tuple[str, int], Thinned],
        blocks: dict[str, KindBlocks],
        support: tuple[np.ndarray, np.ndarray],
        added: np.ndarray | None,
    ) -> None:
        """Keep what this run found; nothing has changed since."""
        self.thinned, self.blocks, self.changed = thinned, blocks, None
        self.pairs, self.support = support
        self.alive, self.added = prep.alive.copy(), added


class StaleCache(Exception):
    """The cache cannot be brought up to date; block everything afresh."""


def candidate_keys(
    prep: Prepared, config: MatchConfig, cache: BlockCache | None = None
) -> tuple[np.ndarray, dict[str, int]]:
    """Sorted unique pair keys over the live rows, and pairs per key kind."""
    cache = BlockCache() if cache is None else cache
    order = HashOrder.of(prep)
    if _can_update(cache, config):
        try:
            return _updated_keys(prep, config, cache, order)
        except StaleCache as stale:
            logger.warning("blocking afresh: %s", stale)
    found: list[np.ndarray] = []
    counts: dict[str, int] = {}
    kept: dict[tuple[str, int], Thinned] = {}
    blocks: dict[str, KindBlocks] = {}
    for kind in config.block_keys:
        rows, keys = order.sorted(*_entries(prep, kind))
        kind_keys, oversize, blocks[kind] = _kind_pairs(
            prep, kind, rows, keys, config, cache, kept
        )
        if config.cross_source_only and len(kind_keys):
            left, right = unpack(kind_keys)
            source = prep.text["source"].codes
            kind_keys = kind_keys[source[left] != source[right]]
        _count(counts, kind, len(kind_keys), oversize)
        found.append(kind_keys)
    every = np.concatenate([EMPTY, *found])
    found.clear()
    every.sort()  # in place: at a million records this array is the largest
    keys, support = _runs(every)
    cache.fill(prep, kept, blocks, (keys, support), None)
    logger.debug("blocking produced %d candidate pairs: %s", len(keys), counts)
    return keys, counts


EMPTY = np.zeros(0, dtype=np.int64)
# block statuses by size: all pairs, thinned to the nearest titles, dropped
ALL_PAIRS, THINNED, DROPPED = 0, 1, 2


def _count(counts: dict[str, int], kind: str, pairs: int, oversize: int) -> None:
    counts[kind] = pairs
    if oversize:
        counts[f"{kind}:oversize_blocks"] = oversize


def _runs(ordered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct keys of sorted ``ordered`` and how often each occurs."""
    starts, sizes = _block_bounds(ordered)
    return ordered[starts], sizes.astype(np.int32)


def _can_update(cache: BlockCache, config: MatchConfig) -> bool:
    # with cross_source_only a kind's pair count is not one its blocks' sizes give
    return (
        cache.changed is not None
        and cache.pairs is not None
        and not config.cross_source_only
        and set(cache.blocks) == set(config.block_keys)
    )


def _status(sizes: np.ndarray, config: MatchConfig) -> np.ndarray:
    return np.where(
        sizes <= config.max_block_size,
        ALL_PAIRS,
        np.where(sizes <= config.hard_block_size, THINNED, DROPPED),
    )


def _updated_keys(
    prep: Prepared, config: MatchConfig, cache: BlockCache, order: HashOrder
) -> tuple[np.ndarray, dict[str, int]]:
    """``candidate_keys`` from the cache and the rows changed since it was
    filled; the same keys and counts as blocking afresh.

    Every pair touching a changed or removed row is dropped and the pairs of
    changed rows are counted again from their blocks. A pair of two unchanged
    rows keeps its support but where its block changed status (all pairs,
    thinned, dropped) or one of the two lost or gained the other among its
    nearest titles: those entries are taken off as the cache has them and put
    on as they are now.
    """
    assert cache.changed is not None and cache.pairs is not None
    changed = cache.changed & prep.alive
    unchanged = prep.alive & ~cache.changed
    gained: list[np.ndarray] = []
    lost: list[np.ndarray] = []
    counts: dict[str, int] = {}
    kept: dict[tuple[str, int], Thinned] = {}
    blocks: dict[str, KindBlocks] = {}
    for kind in config.block_keys:
        rows, keys = order.sorted(*_entries(prep, kind))
        starts, sizes = _block_bounds(keys)
        now = KindBlocks(keys[starts], sizes)
        status = _status(sizes, config)
        was = _status(cache.blocks[kind].sizes_of(now.keys), config)
        touched = np.add.reduceat(changed[rows].astype(np.int64), starts) > 0
        changes = _BlockChanges(prep, kind, rows, keys, changed, unchanged, cache, kept)
        small = status == ALL_PAIRS
        changes.all_pairs(
            starts, sizes, small & (was == ALL_PAIRS) & touched, was, True
        )
        changes.all_pairs(starts, sizes, small & (was != ALL_PAIRS), was, False)
        for at in np.flatnonzero(status != ALL_PAIRS).tolist():
            changes.oversize(
                int(starts[at]), int(sizes[at]), int(status[at]), int(was[at]), config
            )
        gained += changes.gained
        lost += changes.lost
        pairs = (sizes[small] * (sizes[small] - 1) // 2).sum()
        pairs += sum(block.entries for name, block in kept.items() if name[0] == kind)
        _count(counts, kind, int(pairs), int(np.count_nonzero(~small)))
        blocks[kind] = now
    pairs, support, added = _updated_support(cache, unchanged, gained, lost)
    cache.fill(prep, kept, blocks, (pairs, support), added)
    logger.debug("blocking updated %d candidate pairs: %s", len(pairs), counts)
    return pairs, counts


class _BlockChanges:
    """Entries one kind's blocks gained and lost since the cache was filled,
    as pair keys: all entries touching a changed row (their pairs were
    dropped), and those of two unchanged rows that moved."""

    def __init__(
        self,
        prep: Prepared,
        kind: str,
        rows: np.ndarray,
        keys: np.ndarray,
        changed: np.ndarray,
        unchanged: np.ndarray,
        cache: BlockCache,
        kept: dict[tuple[str, int], Thinned],
    ) -> None:
        self.prep, self.kind, self.rows, self.keys = prep, kind, rows, keys
        self.changed, self.unchanged = changed, unchanged
        self.cache, self.kept = cache, kept
        self.gained: list[np.ndarray] = []
        self.lost: list[np.ndarray] = []

    def all_pairs(
        self,
        starts: np.ndarray,
        sizes: np.ndarray,
        which: np.ndarray,
        was: np.ndarray,
        touching: bool,
    ) -> None:
        """The ``which`` blocks, all-pairs now. With ``touching`` (all-pairs
        before too) only their pairs with a changed row are gained; otherwise
        all their pairs are, and what they gave thinned is lost."""
        keys = _all_pairs(self.rows, starts[which], sizes[which])
        if touching:
            left, right = unpack(keys)
            self.gained.append(keys[self.changed[left] | self.changed[right]])
            return
        self.gained.append(keys)
        for start in starts[which & (was == THINNED)].tolist():
            self.lost.append(self._between_unchanged(self._last(start)))

    def oversize(
        self, start: int, size: int, status: int, was: int, config: MatchConfig
    ) -> None:
        """One block thinned or dropped now."""
        members = self.rows[start : start + size]
        last = self._last(start) if was == THINNED else None
        if was == ALL_PAIRS:  # every pair of its unchanged members
            stayed = members[self.unchanged[members]]
            i, j = np.triu_indices(len(stayed), k=1)
            self.lost.append(pack(stayed[i], stayed[j]))
        elif last is not None and status == DROPPED:
            self.lost.append(self._between_unchanged(last))
        if status == DROPPED:
            logger.info("dropped a block of %d records", size)
            return
        block, redone = _thinned(self.prep, members, config, last, self.cache)
        self.kept[(self.kind, int(self.keys[start]))] = block
        if last is None:
            self.gained.append(_block_keys(block, redone))
        elif redone.any():
            self._row_changes(last, block, np.flatnonzero(redone))

    def _row_changes(self, last: Thinned, block: Thinned, at: np.ndarray) -> None:
        """Entries of the members at ``at`` that differ from ``last``'s, and
        those touching a changed row (whose pairs were all dropped)."""
        members, rows = block.members[at], block.rows[at]
        stayed = self.unchanged[members] & last.holds(members)
        old = np.full((len(at), last.rows.shape[1]), -1, dtype=np.int64)
        old[stayed] = last.rows[last.positions(members[stayed])]
        mine = members[:, None]
        new_ok = (rows >= 0) & (rows != mine)
        old_ok = (old >= 0) & (old != mine)
        in_old = (rows[:, :, None] == old[:, None, :]).any(axis=2)
        in_new = (old[:, :, None] == rows[:, None, :]).any(axis=2)
        touching = self.changed[mine] | self.changed[np.maximum(rows, 0)]
        gained = new_ok & (~in_old | touching)
        lost = old_ok & ~in_new & self.unchanged[np.maximum(old, 0)]
        left = np.broadcast_to(mine, rows.shape)
        self.gained.append(pack(left[gained], rows[gained]))
        left = np.broadcast_to(mine, old.shape)
        self.lost.append(pack(left[lost], old[lost]))

    def _last(self, start: int) -> Thinned:
        """The cached thinned block starting at ``start``, thinned last run."""
        name = (self.kind, int(self.keys[start]))
        last = self.cache.thinned.get(name)
        if last is None:
            raise StaleCache(f"no thinned block {name} in the cache")
        return last

    def _between_unchanged(self, last: Thinned) -> np.ndarray:
        """Entries of ``last`` between unchanged rows."""
        use = _others(last)
        left = np.broadcast_to(last.members[:, None], last.rows.shape)
        use &= self.unchanged[left] & self.unchanged[np.maximum(last.rows, 0)]
        return pack(left[use], last.rows[use])


def _updated_support(
    cache: BlockCache,
    unchanged: np.ndarray,
    gained: list[np.ndarray],
    lost: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cached pairs of unchanged rows with their support, plus ``gained``
    and minus ``lost`` entries; pairs left with no support are gone. Also the
    pairs added (sorted)."""
    assert cache.pairs is not None and cache.support is not None
    pairs, support = cache.pairs, cache.support.copy()
    if not unchanged[: len(cache.alive)][cache.alive].all():
        # a row of the last run changed or went: drop every pair it was in
        left, right = unpack(pairs)
        keep = unchanged[left] & unchanged[right]
        pairs, support = pairs[keep], support[keep]
    delta = np.concatenate([EMPTY, *gained, *lost])
    if not len(delta):
        return pairs, support, EMPTY
    signs = np.ones(len(delta), dtype=np.int32)
    signs[sum(map(len, gained)) :] = -1
    order = np.argsort(delta)
    delta, signs = delta[order], signs[order]
    starts, _ = _block_bounds(delta)
    keys, sums = delta[starts], np.add.reduceat(signs, starts)
    at = np.searchsorted(pairs, keys)
    present = member(keys, pairs)
    support[at[present]] += sums[present]
    new = ~present
    pairs = np.insert(pairs, at[new], keys[new])
    support = np.insert(support, at[new], sums[new])
    added = keys[new & (sums > 0)]
    if (sums < 0).any():  # else no support fell, none to zero
        if (support < 0).any():
            raise StaleCache("an entry was taken off a pair the cache did not have")
        live = support > 0
        pairs, support = pairs[live], support[live]
    return pairs, support, added


@dataclass(frozen=True)
class HashOrder:
    """Sorts (row, key) entries by key, then by the hash of the record id.

    One sort of one int64 per entry, the key above the row's rank in id-hash
    order, instead of a two-key ``np.lexsort``: the same order (ranks follow
    the hashes, ties in row order), several times faster.
    """

    by_rank: np.ndarray  # the row at each rank
    rank: np.ndarray  # the rank of each row
    bits: int  # bits a rank takes

    @classmethod
    def of(cls, prep: Prepared) -> HashOrder:
        by_rank = np.argsort(prep.id_hash, kind="stable")
        rank = np.empty_like(by_rank)
        rank[by_rank] = np.arange(len(by_rank))
        return cls(by_rank, rank, max(len(by_rank) - 1, 1).bit_length())

    def sorted(
        self, rows: np.ndarray, keys: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        codes, values = keys, None
        if len(keys) and int(keys.max()) >= 1 << (63 - self.bits):
            values, codes = unique_inverse(keys)  # too wide: number them densely
        ordered = np.sort((codes << self.bits) | self.rank[rows])
        rows = self.by_rank[ordered & ((1 << self.bits) - 1)]
        codes = ordered >> self.bits
        return rows, codes if values is None else values[codes]


def _entries(prep: Prepared, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """(row, key code) of every blocking key of the live rows."""
    if kind in SINGLE_KEYS:
        codes = SINGLE_KEYS[kind](prep)
        rows = np.flatnonzero((codes >= 0) & prep.alive)
        return rows, codes[rows].astype(np.int64)
    return MULTI_KEYS[kind](prep)


def _column(name: str) -> Callable[[Prepared], np.ndarray]:
    return lambda prep: prep.text[name].codes


def _url_codes(name: str) -> Callable[[Prepared], np.ndarray]:
    def codes(prep: Prepared) -> np.ndarray:
        column = prep.text[name]
        # A bare host is shared by every listing on a site: not an identity.
        usable = np.array([("/" in v) for v in column.values] + [False], dtype=bool)
        return np.where(usable[column.codes], column.codes, -1)

    return codes


def _address_codes(prep: Prepared) -> np.ndarray:
    house, street = prep.text["house"].codes, prep.text["street"].codes
    both = (house >= 0) & (street >= 0)
    return np.where(both, (house.astype(np.int64) << 32) | street, -1)


SINGLE_KEYS = {
    "provider": _column("provider"),
    "outcode": _column("outcode"),
    "apply_url": _url_codes("apply_url"),
    "url": _url_codes("url"),
    "phone": _column("phone"),
    "address": _address_codes,
}


def _title_tokens(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
    column, per_title = prep.title, prep.title_tokens
    vocabulary = prep.vocabularies.setdefault("title_tokens", {})
    for title in column.values[len(per_title) :]:
        tokens = {t for t in title.split() if t not in TITLE_STOP_TOKENS and len(t) > 1}
        per_title.append(
            [vocabulary.setdefault(t, len(vocabulary)) for t in sorted(tokens)]
        )
    return _expand(prep, column.codes, per_title)


def _expand(
    prep: Prepared, codes: np.ndarray, per_code: list[list[int]]
) -> tuple[np.ndarray, np.ndarray]:
    """(row, key) for every key of every row, from keys per column code."""
    lengths = np.array([len(k) for k in per_code] + [0], dtype=np.int64)
    flat = np.array([k for keys in per_code for k in keys], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    live = np.flatnonzero((codes >= 0) & prep.alive)
    counts = lengths[codes[live]]
    rows = np.repeat(live, counts)
    offsets = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    return rows, flat[np.repeat(starts[codes[live]], counts) + offsets]


def _set_keys(name: str) -> Callable[[Prepared], tuple[np.ndarray, np.ndarray]]:
    def keys(prep: Prepared) -> tuple[np.ndarray, np.ndarray]:
        values: list[frozenset[str]] = getattr(prep, name)
        vocabulary = prep.vocabularies.setdefault(name, {})
        rows, codes = [], []
        for row in np.flatnonzero(prep.alive).tolist():
            for key in values[row]:
                rows.append(row)
                codes.append(vocabulary.setdefault(key, len(vocabulary)))
        return np.array(rows, dtype=np.int64), np.array(codes, dtype=np.int64)

    return keys


MULTI_KEYS = {
    "title_tokens": _title_tokens,
    "source_ids": _set_keys("source_ids"),
    "codes": _set_keys("codes"),
}


def _kind_pairs(
    prep: Prepared,
    kind: str,
    rows: np.ndarray,
    keys: np.ndarray,
    config: MatchConfig,
    cache: BlockCache,
    kept: dict[tuple[str, int], Thinned],
) -> tuple[np.ndarray, int, KindBlocks]:
    """Pairs of one kind's blocks, from its entries in ``HashOrder`` order."""
    starts, sizes = _block_bounds(keys)
    small = (sizes >= 2) & (sizes <= config.max_block_size)
    found = [_all_pairs(rows, starts[small], sizes[small])]
    big = np.flatnonzero(sizes > config.max_block_size)
    for start, size in zip(starts[big].tolist(), sizes[big].tolist(), strict=True):
        if size > config.hard_block_size:
            logger.info("dropped a block of %d records", size)
            continue
        name = (kind, int(keys[start]))
        block, _ = _thinned(
            prep, rows[start : start + size], config, cache.thinned.get(name), cache
        )
        kept[name] = block
        found.append(_block_keys(block))
    return np.concatenate(found), len(big), KindBlocks(keys[starts], sizes)


def _block_bounds(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and size of each run of equal ``keys`` (sorted)."""
    if not len(keys):
        return EMPTY, EMPTY
    starts = np.flatnonzero(np.concatenate([[True], keys[1:] != keys[:-1]]))
    return starts, np.diff(np.append(starts, len(keys)))


def _all_pairs(rows: np.ndarray, starts: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    found = [np.zeros(0, dtype=np.int64)]
    for size in np.unique(sizes).tolist():
        first = starts[sizes == size]
        i, j = np.triu_indices(size, k=1)
        found.append(pack(rows[first[:, None] + i], rows[first[:, None] + j]).ravel())
    return np.concatenate(found)


def _others(block: Thinned) -> np.ndarray:
    """Which of ``block.rows`` name a member's nearest other than itself."""
    return (block.rows >= 0) & (block.rows != block.members[:, None])


def _block_keys(block: Thinned, of: np.ndarray | None = None) -> np.ndarray:
    """Pair keys of the block's entries (of the members at mask ``of``)."""
    left = np.broadcast_to(block.members[:, None], block.rows.shape)
    use = _others(block)
    if of is not None:
        left, use, near = left[of], use[of], block.rows[of]
    else:
        near = block.rows
    return pack(left[use], near[use])


def _thinned(
    prep: Prepared,
    members: np.ndarray,
    config: MatchConfig,
    last: Thinned | None,
    cache: BlockCache,
) -> tuple[Thinned, np.ndarray]:
    """Each member's nearest titles; from ``last`` where nothing near changed.
    Also which members' nearest were found again (a mask): the others have
    those of ``last``.

    One title matrix serves both: the members to redo (new, changed, or having
    lost one of their nearest) against every member, and so also, read the
    other way, every other member against the new and changed ones.
    """
    members = members[prep.title.codes[members] >= 0]
    if _unchanged(members, last, cache.changed):
        assert last is not None
        return last, np.zeros(len(members), dtype=bool)
    keep = len(members) if config.thin_top_k is None else config.thin_top_k + 1
    keep = max(min(keep, len(members)), 1)
    redo, fresh = _to_redo(members, last, cache.changed, keep)
    rows = np.full((len(members), keep), -1, dtype=np.int64)
    scores = np.zeros((len(members), keep), dtype=np.uint8)
    merging = last is not None and not redo.all()
    fresh_scores = _nearest_rows(
        prep, members, np.flatnonzero(redo), fresh if merging else None, config, keep,
        (rows, scores),
    )  # fmt: skip
    redone = redo
    if merging:
        assert last is not None
        merged = _merge_rows(members, last, redo, fresh, fresh_scores, (rows, scores))
        redone = redo.copy()
        redone[merged] = True
    return Thinned(members, rows, scores), redone


def _unchanged(
    members: np.ndarray, last: Thinned | None, changed: np.ndarray | None
) -> bool:
    """The block holds what it held last time, none of it changed since."""
    if last is None or changed is None or len(members) != len(last.members):
        return False
    return bool(np.array_equal(members, last.members) and not changed[members].any())


def _nearest_rows(
    prep: Prepared,
    members: np.ndarray,
    redo: np.ndarray,
    fresh: np.ndarray | None,
    config: MatchConfig,
    keep: int,
    out: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Nearest titles among all members for the members at ``redo``, scored
    once per distinct title: members with one title have the same nearest.

    Returns, when ``fresh`` (a mask of members, all of them among ``redo``)
    is given, each member's title score with each fresh member: (members,
    fresh) uint8.
    """
    titles = prep.title.sorted_tokens()
    codes = prep.title.codes[members]
    choices, column_title = unique_inverse(codes)
    queries, query_title = unique_inverse(codes[redo])
    choice_texts = [titles[c] for c in choices.tolist()]
    fresh_at = np.flatnonzero(fresh) if fresh is not None else redo[:0]
    # each fresh member's place among the redone ones, and its title's row
    fresh_title = query_title[np.searchsorted(redo, fresh_at)]
    fresh_rows = np.zeros((len(fresh_at), len(choices)), dtype=np.uint8)
    for first in range(0, len(queries), ROW_CHUNK):
        chunk = queries[first : first + ROW_CHUNK]
        matrix = _cdist([titles[c] for c in chunk.tolist()], choice_texts, config)
        cols, best = _nearest(matrix[:, column_title], keep)
        mine = np.flatnonzero(
            (query_title >= first) & (query_title < first + len(chunk))
        )
        at, title = redo[mine], query_title[mine] - first
        out[0][at] = np.where(cols[title] >= 0, members[np.maximum(cols[title], 0)], -1)
        out[1][at] = best[title]
        here = (fresh_title >= first) & (fresh_title < first + len(chunk))
        fresh_rows[here] = matrix[fresh_title[here] - first]
    return fresh_rows[:, column_title].T


def _cdist(queries: list[str], choices: list[str], config: MatchConfig) -> np.ndarray:
    # token_sort_ratio is ratio over the sorted tokens (Column.sorted_tokens)
    cells = len(queries) * len(choices)
    return process.cdist(
        queries,
        choices,
        scorer=fuzz.ratio,
        processor=PREPROCESSED,
        score_cutoff=config.thin_score_cutoff,
        dtype=np.uint8,
        workers=config.workers if cells >= PARALLEL_CELLS else 1,
    )


def _to_redo(
    members: np.ndarray, last: Thinned | None, changed: np.ndarray | None, keep: int
) -> tuple[np.ndarray, np.ndarray]:
    """(redo, fresh): members whose nearest titles must be found again among
    all members, and the new or changed members. Redo are the fresh ones and
    those that lost one of their nearest."""
    if last is None or changed is None or last.rows.shape[1] != keep:
        everyone = np.ones(len(members), dtype=bool)
        return everyone, everyone
    fresh = ~last.holds(members) | changed[members]
    stayed = members[~fresh]  # here last time, and unchanged
    if len(stayed) == len(last.members):  # none of last time's members lost
        return fresh, fresh
    lost = last.members[~member(last.members, np.sort(stayed))]
    nearest = last.rows[last.positions(stayed)]
    broken = (member(nearest, np.sort(lost)) & (nearest >= 0)).any(axis=1)
    redo = fresh.copy()
    redo[np.flatnonzero(~fresh)[broken]] = True
    return redo, fresh


def _positions(order: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Index in ``order`` of each of ``wanted`` (all present)."""
    sort = np.argsort(order)
    return sort[np.searchsorted(order[sort], wanted)]


def _merge_rows(
    members: np.ndarray,
    last: Thinned,
    redo: np.ndarray,
    fresh: np.ndarray,
    fresh_scores: np.ndarray,
    out: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Unchanged members that kept all their nearest: last time's nearest,
    merged with the new or changed members where one scores above zero.
    Returns the positions of the members so merged."""
    rows, scores = out
    stay = np.flatnonzero(~redo)
    previous = last.positions(members[stay])
    rows[stay], scores[stay] = last.rows[previous], last.scores[previous]
    matrix = fresh_scores[stay]
    near = np.flatnonzero((matrix > 0).any(axis=1))
    if not len(near):
        return near
    at_rows = stay[near]
    old_rows, old_scores, matrix = rows[at_rows], scores[at_rows], matrix[near]
    old_at = _positions(members, np.where(old_rows >= 0, old_rows, members[0]))
    fresh_at = np.broadcast_to(np.flatnonzero(fresh), matrix.shape)
    at = np.concatenate([old_at, fresh_at], axis=1)
    both = np.concatenate([old_scores, matrix], axis=1)
    rank = both.astype(np.int64) * (1 << 32) - at  # best score, then lower column
    best = np.argsort(-rank, axis=1, kind="stable")[:, : rows.shape[1]]
    top_at = np.take_along_axis(at, best, axis=1)
    top_scores = np.take_along_axis(both, best, axis=1)
    rows[at_rows] = np.where(top_scores > 0, members[top_at], -1)
    scores[at_rows] = top_scores
    return at_rows


def _nearest(scores: np.ndarray, keep: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row, the columns (-1 = none) and scores of its ``keep`` best nonzero
    scores (the record itself among them); ties go to the lower column."""
    width = scores.shape[1]
    kth = np.partition(scores, width - keep, axis=1)[:, width - keep]
    above = scores > kth[:, None]
    tied = scores == kth[:, None]
    room = keep - above.sum(axis=1)
    counter = np.int16 if width < np.iinfo(np.int16).max else np.int32
    order = np.cumsum(tied, axis=1, dtype=counter)
    take = (above | (tied & (order <= room[:, None]))) & (scores > 0)
    row, col = np.nonzero(take)
    slot = np.arange(len(row)) - np.searchsorted(row, row)
    cols = np.full((len(scores), keep), -1, dtype=np.int64)
    best = np.zeros((len(scores), keep), dtype=np.uint8)
    cols[row, slot] = col
    best[row, slot] = scores[row, col]
    return cols, best
