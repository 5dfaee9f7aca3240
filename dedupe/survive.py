"""Survivorship: the golden record of one cluster.

Each golden field comes from the member that has it and ranks first by trust
(lower ``MatchRecord.trust`` is more trusted: government and the provider's own
site above aggregators), then completeness (more fields filled), then recency
(``seen``), then record id. The apply URL prefers the provider's own: a URL on
the host of a member whose ``extra["source_kind"]`` is "provider" or "employer",
or on the host of ``extra["provider_website"]``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from dedupe.normalize import is_blank, normalize_url, url_host
from dedupe.types import MatchRecord, RecordID

GOLDEN_FIELDS = (
    "title",
    "provider",
    "postcode",
    "outcode",
    "closing",
    "start",
    "url",
    "description",
    "phone",
    "address",
)
# Fields that only make sense together come from one record.
GROUPED_FIELDS = {"place": ("lat", "lon"), "pay": ("pay_min", "pay_max")}
OWN_SOURCE_KINDS = frozenset({"provider", "employer"})
_COUNTED = tuple(f.name for f in fields(MatchRecord) if f.name not in {"id", "source"})


@dataclass(frozen=True)
class Golden:
    members: tuple[RecordID, ...]
    values: dict[str, Any]
    field_sources: dict[str, RecordID]  # field -> member it came from
    primary_source: str
    also_listed_on: tuple[str, ...]  # other sources, most trusted first
    apply_url: str | None
    apply_url_source: RecordID | None


def survive(records: Sequence[MatchRecord]) -> Golden:
    """Golden fields of one cluster's records, each with the member it came from.

    Raises:
        ValueError: when ``records`` is empty.
    """
    if not records:
        raise ValueError("survive() needs at least one record of the cluster")
    ranked = rank_records(records)
    values: dict[str, Any] = {}
    sources: dict[str, RecordID] = {}
    for name in GOLDEN_FIELDS:
        _take(ranked, (name,), name, values, sources)
    for group, names in GROUPED_FIELDS.items():
        _take(ranked, names, group, values, sources)
    apply_record = _apply_url_record(ranked)
    return Golden(
        members=tuple(sorted(r.id for r in records)),
        values=values,
        field_sources=sources,
        primary_source=ranked[0].source,
        also_listed_on=_also_listed_on(ranked),
        apply_url=apply_record.apply_url if apply_record else None,
        apply_url_source=apply_record.id if apply_record else None,
    )


def rank_records(records: Sequence[MatchRecord]) -> list[MatchRecord]:
    """Records in survivorship order: trust, completeness, recency, id."""
    return sorted(records, key=_rank)


def _rank(record: MatchRecord) -> tuple[int, int, float, RecordID]:
    seen = -record.seen.timestamp() if isinstance(record.seen, datetime) else 0.0
    return (record.trust, -_completeness(record), seen, record.id)


def _completeness(record: MatchRecord) -> int:
    return sum(_has(getattr(record, name)) for name in _COUNTED)


def _has(value: object) -> bool:
    if isinstance(value, str):
        return not is_blank(value)
    if isinstance(value, tuple | dict):
        return bool(value)
    return value is not None


def _take(
    ranked: Sequence[MatchRecord],
    names: tuple[str, ...],
    label: str,
    values: dict[str, Any],
    sources: dict[str, RecordID],
) -> None:
    for record in ranked:
        found = {name: getattr(record, name) for name in names}
        if any(_has(v) for v in found.values()):
            values.update(found)
            sources[label] = record.id
            return
    values.update(dict.fromkeys(names))


def _also_listed_on(ranked: Sequence[MatchRecord]) -> tuple[str, ...]:
    seen = [ranked[0].source]
    for record in ranked:
        if record.source not in seen:
            seen.append(record.source)
    return tuple(seen[1:])


def _apply_url_record(ranked: Sequence[MatchRecord]) -> MatchRecord | None:
    candidates = [r for r in ranked if _has(r.apply_url)]
    own_hosts = _own_hosts(ranked)
    for record in candidates:
        if url_host(normalize_url(record.apply_url)) in own_hosts:
            return record
    return candidates[0] if candidates else None


def _own_hosts(ranked: Sequence[MatchRecord]) -> set[str | None]:
    hosts = set()
    for record in ranked:
        website = record.extra.get("provider_website")
        if website:
            hosts.add(url_host(normalize_url(website)))
        if record.extra.get("source_kind") in OWN_SOURCE_KINDS:
            hosts.add(url_host(normalize_url(record.url or record.apply_url)))
    hosts.discard(None)
    return hosts
