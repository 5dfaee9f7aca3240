"""Clustering without chaining: average-linkage merging over scored pairs.

Two clusters merge only while the average link between them, over every
cross pair (0-100; pairs never compared or below review count 0), reaches
``link_threshold``, and while at least one of those cross pairs reaches
``anchor_threshold`` (the auto-merge band): a merge always rests on a pair the
machine could decide, so pairs of the review band alone never merge anything.
So A~B and B~C do not pull in C when A and C are far apart.
Reviewer decisions come first: must-link groups start as one cluster and
cannot-linked records never share one. A merge that would pass
``max_cluster_size`` is held for review instead.
"""

from __future__ import annotations

import heapq
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from dedupe.types import RecordID

logger = logging.getLogger(__name__)

Edge = tuple[RecordID, RecordID]
SAME_SOURCE = "one record per source"
SCALE = 100  # links are held as integer hundredths of a point: exact sums
# one int per pair of clusters: the sum of the links between them above, the
# strongest single link (hundredths, at most 10,000) in the low bits
_BEST_BITS = 14
_BEST_MASK = (1 << _BEST_BITS) - 1
_NOTHING: frozenset[RecordID] = frozenset()


@dataclass(frozen=True)
class ClusterRules:
    link_threshold: float  # 0-100: the least average link of a merge
    max_cluster_size: int
    anchor_threshold: float = 0.0  # 0-100: the least strongest link of a merge
    sources: Mapping[RecordID, str] | None = None  # set: one record per source


@dataclass
class ClusterOutcome:
    clusters: list[frozenset[RecordID]]
    held: dict[Edge, str] = field(default_factory=dict)  # pair -> why not merged


@dataclass
class _State:
    members: dict[RecordID, list[RecordID]]
    links: dict[RecordID, dict[RecordID, int]]  # packed: see _combine
    cannot: dict[RecordID, set[RecordID]]  # only clusters with a cannot-link
    version: dict[RecordID, int]
    heap: list[tuple[float, RecordID, RecordID, int, int]]


def cluster_records(
    ids: Iterable[RecordID],
    links: Mapping[Edge, float],
    rules: ClusterRules,
    must_groups: Iterable[set[RecordID]] = (),
    cannot: Iterable[Edge] = (),
) -> ClusterOutcome:
    """Clusters of every record id (singletons included), sorted by first id.

    Args:
        ids: all record ids.
        links: pair -> score 0-100 for pairs in the auto or review band.
        rules: thresholds and limits.
        must_groups: record ids that reviewers tied together.
        cannot: pairs reviewers kept apart.
    """
    state = _initial_state(ids, must_groups, cannot)
    owner = {m: key for key, ms in state.members.items() for m in ms}
    for (a, b), score in links.items():
        ka, kb = owner[a], owner[b]
        if ka != kb:
            row, value = state.links[ka], round(score * SCALE)
            row[kb] = _combine(row.get(kb, 0), value << _BEST_BITS | value)
            state.links[kb][ka] = row[kb]
    for key in sorted(state.links):
        for other in state.links[key]:
            if key < other:
                _push(state, key, other, rules)
    outcome = ClusterOutcome(clusters=[])
    _merge_all(state, rules, outcome)
    outcome.clusters = sorted((frozenset(m) for m in state.members.values()), key=min)
    return outcome


def _initial_state(
    ids: Iterable[RecordID],
    must_groups: Iterable[set[RecordID]],
    cannot: Iterable[Edge],
) -> _State:
    members: dict[RecordID, list[RecordID]] = {}
    grouped: set[RecordID] = set()
    for group in must_groups:
        members[min(group)] = sorted(group)
        grouped |= group
    for record_id in ids:
        if record_id not in grouped:
            members[record_id] = [record_id]
    owner = {m: key for key, ms in members.items() for m in ms}
    barred: dict[RecordID, set[RecordID]] = {}
    for a, b in cannot:
        if owner[a] == owner[b]:
            logger.warning("must-link outranks the cannot-link %s / %s", a, b)
            continue
        barred.setdefault(owner[a], set()).add(b)
        barred.setdefault(owner[b], set()).add(a)
    links: dict[RecordID, dict[RecordID, int]] = {key: {} for key in members}
    return _State(members, links, barred, dict.fromkeys(members, 0), [])


def _combine(x: int, y: int) -> int:
    """Two packed links as one: sums added, the stronger single link kept."""
    best = max(x & _BEST_MASK, y & _BEST_MASK)
    return ((x >> _BEST_BITS) + (y >> _BEST_BITS)) << _BEST_BITS | best


def _average(state: _State, a: RecordID, b: RecordID) -> float:
    size = len(state.members[a]) * len(state.members[b])
    return (state.links[a][b] >> _BEST_BITS) / (size * SCALE)


def _push(state: _State, a: RecordID, b: RecordID, rules: ClusterRules) -> None:
    average = _average(state, a, b)
    anchored = state.links[a][b] & _BEST_MASK >= rules.anchor_threshold * SCALE
    if average >= rules.link_threshold and anchored:
        entry = (-average, a, b, state.version[a], state.version[b])
        heapq.heappush(state.heap, entry)


def _merge_all(state: _State, rules: ClusterRules, outcome: ClusterOutcome) -> None:
    while state.heap:
        _, a, b, version_a, version_b = heapq.heappop(state.heap)
        if state.version.get(a) != version_a or state.version.get(b) != version_b:
            continue
        reason = _blocked(state, a, b, rules)
        if reason is None:
            _merge(state, a, b, rules)
        else:
            _hold(state, a, b, reason, outcome)


def _blocked(
    state: _State, a: RecordID, b: RecordID, rules: ClusterRules
) -> str | None:
    ma, mb = state.members[a], state.members[b]
    if not state.cannot.get(a, _NOTHING).isdisjoint(mb):
        return "reviewer cannot-link"
    if rules.sources is not None:
        if {rules.sources[m] for m in ma} & {rules.sources[m] for m in mb}:
            return SAME_SOURCE
    if len(ma) + len(mb) > rules.max_cluster_size:
        return f"cluster would pass the size limit of {rules.max_cluster_size}"
    return None


def _hold(
    state: _State, a: RecordID, b: RecordID, reason: str, outcome: ClusterOutcome
) -> None:
    for x in state.members[a] if reason != SAME_SOURCE else ():
        for y in state.members[b]:
            outcome.held[(x, y) if x < y else (y, x)] = reason
    state.links[a].pop(b, None)
    state.links[b].pop(a, None)


def _merge(state: _State, a: RecordID, b: RecordID, rules: ClusterRules) -> None:
    keep, gone = (a, b) if a < b else (b, a)
    state.members[keep] += state.members.pop(gone)
    barred = state.cannot.pop(gone, None)
    if barred:
        state.cannot.setdefault(keep, set()).update(barred)
    state.version[keep] += 1
    del state.version[gone]
    gone_links = state.links.pop(gone)
    gone_links.pop(keep, None)
    keep_links = state.links[keep]
    keep_links.pop(gone, None)
    for other, packed in gone_links.items():
        keep_links[other] = _combine(keep_links.get(other, 0), packed)
        state.links[other].pop(gone)
    for other, packed in keep_links.items():
        state.links[other][keep] = packed
        _push(state, keep, other, rules)


def components(edges: Iterable[Edge]) -> list[frozenset[RecordID]]:
    """Connected components (of two or more records) of the pair graph."""
    parent: dict[RecordID, RecordID] = {}

    def find(x: RecordID) -> RecordID:
        root = x
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    for a, b in edges:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    groups: dict[RecordID, set[RecordID]] = {}
    for x in parent:
        groups.setdefault(find(x), set()).add(x)
    return [frozenset(members) for members in groups.values()]
