"""The source registry, ``sources.toml``: loaded and validated as a whole.

Every problem in the file is reported at once, each with the source's name and
the field, before anything is crawled.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.exceptions import RegistryError
from spiders.items import ProviderKind

_KNOWN_FIELDS = {
    "name",
    "spider",
    "args",
    "provider_kind",
    "trust_rank",
    "licence",
    "attribution",
    "schedule",
    "politeness",
    "enabled",
}


@dataclass(frozen=True)
class SourceEntry:
    name: str
    spider: str
    provider_kind: ProviderKind
    trust_rank: int = 50
    args: dict[str, Any] = field(default_factory=dict)
    licence: str | None = None
    attribution: str | None = None
    schedule: str | None = None
    politeness: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


def load_registry(path: Path, spiders: set[str] | None = None) -> list[SourceEntry]:
    """Read ``path``; with ``spiders`` given, also check each entry names one."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(str(path), ["the file does not exist"]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(str(path), [f"not valid TOML: {exc}"]) from None
    problems: list[str] = []
    entries = []
    raw_entries = document.get("source", [])
    if not isinstance(raw_entries, list) or not raw_entries:
        problems.append("no [[source]] entries")
        raw_entries = []
    seen: set[str] = set()
    for index, raw in enumerate(raw_entries, start=1):
        entry = _check_entry(raw, index, spiders, seen, problems)
        if entry is not None:
            entries.append(entry)
    if problems:
        raise RegistryError(str(path), problems)
    return entries


def _check_entry(
    raw: dict[str, Any],
    index: int,
    spiders: set[str] | None,
    seen: set[str],
    problems: list[str],
) -> SourceEntry | None:
    name = raw.get("name")
    named = f"source {name!r} " if isinstance(name, str) else "source "
    label = f"{named}(entry {index})"
    before = len(problems)

    def problem(field_name: str, message: str) -> None:
        problems.append(f"{label}, {field_name}: {message}")

    for unknown in sorted(set(raw) - _KNOWN_FIELDS):
        problem(unknown, "unknown field")
    if not isinstance(name, str) or not name.strip():
        problem("name", "required, a non-empty string")
    elif name in seen:
        problem("name", "used by an earlier source")
    else:
        seen.add(name)
    spider = raw.get("spider")
    if not isinstance(spider, str):
        problem("spider", "required, a spider's name")
    elif spiders is not None and spider not in spiders:
        problem("spider", f"no spider named {spider!r} (known: {sorted(spiders)})")
    kind = raw.get("provider_kind")
    if kind not in {k.value for k in ProviderKind}:
        problem("provider_kind", f"one of {[k.value for k in ProviderKind]}")
    trust = raw.get("trust_rank", 50)
    if not isinstance(trust, int) or isinstance(trust, bool) or not 1 <= trust <= 100:
        problem("trust_rank", f"a whole number from 1 to 100, got {trust!r}")
    for table in ("args", "politeness"):
        if not isinstance(raw.get(table, {}), dict):
            problem(table, "a table")
    schedule = raw.get("schedule")
    if schedule is not None and not _valid_cron(schedule):
        problem("schedule", f"a five-field cron expression, got {schedule!r}")
    if not isinstance(raw.get("enabled", True), bool):
        problem("enabled", "true or false")
    if len(problems) > before:
        return None
    return SourceEntry(**{**raw, "provider_kind": ProviderKind(kind)})


def _valid_cron(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    from croniter import croniter

    return len(value.split()) == 5 and croniter.is_valid(value)
