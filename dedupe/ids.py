"""Stable opportunity ids across runs.

Rules: an opportunity keeps its id while any of its records survive; each old
id stays with the new cluster holding most of its records (tie: the cluster
with the lowest record id); a cluster that inherits several ids keeps the
oldest (``existing_ids_created``, then the lowest id) and the others become
merged-into it; clusters inheriting none get a fresh id. Ids are never reused.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from dedupe.types import OppID, RecordID

logger = logging.getLogger(__name__)

EventKind = Literal["created", "merged", "split", "updated", "unchanged", "deleted"]
Cluster = frozenset[RecordID]


@dataclass(frozen=True)
class IdEvent:
    """One change for the feed. ``merged``: ``opp_id`` merged into
    ``related[0]``. ``split``: ``opp_id`` kept its largest part and the rest
    went to ``related``. ``updated``: same id, members changed."""

    kind: EventKind
    opp_id: OppID
    related: tuple[OppID, ...] = ()


@dataclass(frozen=True)
class IdAssignment:
    cluster_ids: dict[Cluster, OppID]
    record_ids: dict[RecordID, OppID]
    merged_into: dict[OppID, OppID]
    events: list[IdEvent] = field(default_factory=list)


def assign_ids(
    previous: Mapping[RecordID, OppID],
    clusters: Iterable[Cluster],
    *,
    existing_ids_created: Mapping[OppID, datetime | int],
    new_id: Callable[[], OppID],
) -> IdAssignment:
    """Give each cluster an opportunity id, keeping old ids where the rules say.

    Args:
        previous: record id -> opportunity id from the last run.
        clusters: this run's clusters (every record in exactly one).
        existing_ids_created: creation time or order of every id ever issued
            (retired ones too), used for "older survives" and the no-reuse check.
        new_id: source of fresh ids.

    Returns:
        Ids per cluster and per record, merges, and the change events.

    Raises:
        ValueError: when ``new_id`` returns an id that was issued before.
    """
    ordered = sorted(clusters, key=min)
    keeper = _keepers(previous, ordered)
    inherited: dict[Cluster, list[OppID]] = defaultdict(list)
    for old_id, cluster in keeper.items():
        inherited[cluster].append(old_id)
    issued = set(existing_ids_created) | set(previous.values())
    cluster_ids: dict[Cluster, OppID] = {}
    merged_into: dict[OppID, OppID] = {}
    for cluster in ordered:
        ids = sorted(inherited[cluster], key=lambda o: _age(existing_ids_created, o))
        cluster_ids[cluster] = ids[0] if ids else _fresh(new_id, issued)
        merged_into.update({other: ids[0] for other in ids[1:]})
    record_ids = {r: opp for cluster, opp in cluster_ids.items() for r in cluster}
    events = _events(previous, cluster_ids, merged_into, keeper)
    return IdAssignment(cluster_ids, record_ids, merged_into, events)


def _keepers(
    previous: Mapping[RecordID, OppID], clusters: list[Cluster]
) -> dict[OppID, Cluster]:
    """Old id -> the cluster holding most of its records (tie: lowest record)."""
    best: dict[OppID, tuple[int, RecordID, Cluster]] = {}
    for cluster in clusters:
        counts: dict[OppID, int] = defaultdict(int)
        for record in cluster:
            if record in previous:
                counts[previous[record]] += 1
        for old_id, count in counts.items():
            lowest = min(r for r in cluster if previous.get(r) == old_id)
            candidate = (count, lowest, cluster)
            current = best.get(old_id)
            if current is None or (-count, lowest) < (-current[0], current[1]):
                best[old_id] = candidate
    return {old_id: cluster for old_id, (_, _, cluster) in best.items()}


def _age(created: Mapping[OppID, datetime | int], opp_id: OppID) -> tuple:
    """Sort key, oldest first; ids of unknown age after all known ones."""
    return (0, created[opp_id], opp_id) if opp_id in created else (1, opp_id)


def _fresh(new_id: Callable[[], OppID], issued: set[OppID]) -> OppID:
    opp_id = new_id()
    if opp_id in issued:
        raise ValueError(f"new_id() returned {opp_id!r}, which was issued before")
    issued.add(opp_id)
    return opp_id


def _events(
    previous: Mapping[RecordID, OppID],
    cluster_ids: dict[Cluster, OppID],
    merged_into: dict[OppID, OppID],
    keeper: dict[OppID, Cluster],
) -> list[IdEvent]:
    old_members: dict[OppID, set[RecordID]] = defaultdict(set)
    for record, old_id in previous.items():
        old_members[old_id].add(record)
    events = [
        IdEvent("merged", old, (into,)) for old, into in sorted(merged_into.items())
    ]
    for old_id in sorted(old_members):
        events.extend(_old_id_events(old_id, old_members[old_id], cluster_ids, keeper))
    for opp_id in cluster_ids.values():
        if opp_id not in old_members:
            events.append(IdEvent("created", opp_id))
    return events


def _old_id_events(
    old_id: OppID,
    members: set[RecordID],
    cluster_ids: dict[Cluster, OppID],
    keeper: dict[OppID, Cluster],
) -> list[IdEvent]:
    if old_id not in keeper:
        return [IdEvent("deleted", old_id)]
    parts = {cluster_ids[c] for c in cluster_ids if c & members and c != keeper[old_id]}
    events = [IdEvent("split", old_id, tuple(sorted(parts)))] if parts else []
    if cluster_ids[keeper[old_id]] != old_id:
        return events
    same = set(keeper[old_id]) == members
    events.append(IdEvent("unchanged" if same else "updated", old_id))
    return events
