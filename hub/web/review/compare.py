"""Two listings side by side: every field, which ones differ, and safe links."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.web.review.security import safe_url
from storage.models import Listing

# stored columns shown first, in this order; then every normalised field
COLUMNS = (
    "title",
    "provider_name",
    "opportunity_type",
    "closing_date",
    "postcode",
    "outcode",
    "pay_min",
    "pay_max",
    "pay_period",
    "in_scope",
    "status",
    "url",
    "canonical_url",
    "apply_url",
    "source_key",
    "first_seen",
    "last_seen",
)
LINK_FIELDS = frozenset({"url", "canonical_url", "apply_url", "provider_url"})


@dataclass(frozen=True)
class FieldRow:
    name: str
    a: str
    b: str
    a_link: str | None
    b_link: str | None

    @property
    def differs(self) -> bool:
        return _folded(self.a) != _folded(self.b)


def display(value: Any) -> str:
    """A field's value as text (escaping is the template's job)."""
    if value is None or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def _folded(text: str) -> str:
    return " ".join(text.split()).casefold()


def _value(listing: Listing, name: str, from_fields: bool) -> Any:
    if from_fields:
        return (listing.fields or {}).get(name)
    return getattr(listing, name)


def field_rows(a: Listing, b: Listing) -> list[FieldRow]:
    """Every column and every normalised field of either listing."""
    names = [(name, False) for name in COLUMNS]
    extra = sorted(set(a.fields or {}) | set(b.fields or {}))
    names += [(name, True) for name in extra if name not in COLUMNS]
    rows = [FieldRow("source", a.source.name, b.source.name, None, None)]
    for name, from_fields in names:
        left, right = _value(a, name, from_fields), _value(b, name, from_fields)
        rows.append(
            FieldRow(
                name,
                display(left),
                display(right),
                safe_url(left) if name in LINK_FIELDS else None,
                safe_url(right) if name in LINK_FIELDS else None,
            )
        )
    return rows
