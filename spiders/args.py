"""Spider arguments as they arrive: lists and tables from the registry, strings
from ``scrapy crawl -a``. Each helper accepts both."""

from __future__ import annotations

import json
from typing import Any


def url_list(value: list[str] | str | None) -> list[str]:
    """A list, or one comma-separated string, of URLs or names."""
    if value is None:
        return []
    if isinstance(value, str):
        value = value.split(",")
    return [v.strip() for v in value if v and v.strip()]


def table(value: dict[str, Any] | str | None, name: str) -> dict[str, Any]:
    """A registry table, or the same as a JSON object on the command line."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        parsed = json.loads(value)
    except ValueError as exc:
        raise ValueError(
            f"{name} must be a table or a JSON object, got {value!r}"
        ) from exc
    if not isinstance(parsed, dict):
        raise ValueError(f"{name} must be a table or a JSON object, got {value!r}")
    return parsed


def flag(value: bool | str) -> bool:
    """``true``/``false`` from the registry, or their spelling on the command line."""
    if isinstance(value, bool):
        return value
    return value.strip().lower() not in {"false", "0", "no", "off", ""}
