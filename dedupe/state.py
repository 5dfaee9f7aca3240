"""What one matching run leaves for the next: a ``MatchState`` the caller keeps.

It holds the prepared records (rows never move, so only new or changed
records are normalised again), the candidate pairs and the model's scored
pairs of the last run, and the clustering: links, components and clusters.
With it, ``match`` compares only the pairs a change can affect and re-clusters
only the components those pairs touch; the result equals a full run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from dedupe import arrays
from dedupe.block import BlockCache
from dedupe.config import MatchConfig
from dedupe.prepared import MATCH_FIELDS, Prepared
from dedupe.types import MatchRecord, RecordID, ScoredPair

Key = tuple[RecordID, RecordID]


@dataclass
class Delta:
    """What changed since the state's last run, by row."""

    changed: np.ndarray  # bool per row: new, edited or named in ``changed``
    removed: set[RecordID]
    exact: bool  # the state saw a previous run under the same config
    interrupted: bool = False  # the state's last run stopped part way


@dataclass
class MatchState:
    """Keep one per stream of runs and pass it to every ``match`` call."""

    config: MatchConfig | None = None
    prep: Prepared = field(default_factory=Prepared)
    index: dict[RecordID, int] = field(default_factory=dict)
    matched: bool = False  # the last run under this config ran to its end
    running: bool = False  # a run began and has not ended
    clustered: bool = False  # components, clusters and settled pairs: last run's
    candidates: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    model: dict[int, ScoredPair] = field(default_factory=dict)  # row key -> pair
    by_ids: dict[Key, ScoredPair] = field(default_factory=dict)  # the model's pairs
    rulings: dict[Key, str] = field(default_factory=dict)
    component_of: dict[RecordID, int] = field(default_factory=dict)
    components: dict[int, set[RecordID]] = field(default_factory=dict)
    cluster_of: dict[RecordID, frozenset[RecordID]] = field(default_factory=dict)
    held: dict[Key, str] = field(default_factory=dict)
    # every pair of the last run as settled, by ids, in id order
    settled: list[tuple[Key, ScoredPair]] = field(default_factory=list)
    # (first id, cluster) of every live record's cluster, in first-id order
    ordered: list[tuple[RecordID, frozenset[RecordID]]] = field(default_factory=list)
    blocks: BlockCache = field(default_factory=BlockCache)

    def load(
        self,
        records: Sequence[MatchRecord],
        config: MatchConfig,
        changed: Iterable[RecordID] | None,
    ) -> Delta:
        """Bring the prepared rows up to ``records``; say which rows changed."""
        if self.config is not None and self.config != config:
            self.__init__()  # type: ignore[misc]
        self.config = config
        self.prep.with_codes = (
            "codes" in config.block_keys or "codes" in config.comparisons
        )
        exact = self.matched
        rows, update = self._rows(records)
        # from here the run changes the state: one that stops part way leaves
        # the next to start afresh (``match`` clears these when the run ends)
        interrupted, self.running, self.matched = self.running, True, False
        self.prep.update(rows[update], [records[k] for k in update.tolist()])
        removed = self._remove_missing(rows)
        mask = np.zeros(len(self.prep), dtype=bool)
        if exact:
            mask[rows[update]] = True
        index, alive = self.index, self.prep.alive
        # a record named but not given (removed, or never seen) is no change
        named = [index[r] for r in changed or () if r in index and alive[index[r]]]
        mask[named] = True
        return Delta(mask, removed, exact, interrupted)

    def _rows(self, records: Sequence[MatchRecord]) -> tuple[np.ndarray, np.ndarray]:
        """Each record's row (new ones get the next free rows) and which
        records to prepare again: new, revived or unequal to their row's.
        Every row takes its current record object, for survivorship."""
        index, prepared = self.index, self.prep.records
        alive = self.prep.alive.tolist()
        size = known = len(prepared)
        rows = np.empty(len(records), dtype=np.int64)
        update: list[int] = []
        for k, record in enumerate(records):
            row = index.get(record.id)
            if row is None:
                row = index[record.id] = size
                size += 1
                update.append(k)
            elif row >= known or not (alive[row] and _same(prepared[row], record)):
                update.append(k)
            else:
                prepared[row] = record
            rows[k] = row
        if len(arrays.unique(rows)) != len(rows):
            for record in records:
                if index.get(record.id, -1) >= known:  # rows given in this call
                    del index[record.id]
            raise ValueError("record ids must be unique within one match() call")
        return rows, np.array(update, dtype=np.int64)

    def _remove_missing(self, rows: np.ndarray) -> set[RecordID]:
        present = np.zeros(len(self.prep), dtype=bool)
        present[rows] = True
        gone = np.flatnonzero(self.prep.alive & ~present)
        self.prep.remove(gone)
        return {self.prep.ids[row] for row in gone.tolist()}


def _same(old: MatchRecord | None, new: MatchRecord) -> bool:
    """Equal in every field matching reads (trust, seen and extra only feed
    survivorship)."""
    if old is new:
        return True
    return old is not None and match_fields(old) == match_fields(new)


def match_fields(record: MatchRecord) -> tuple[object, ...]:
    return tuple(getattr(record, name) for name in MATCH_FIELDS)
