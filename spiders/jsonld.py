"""schema.org JSON-LD: every entity on a page, flattened, with ``@id`` resolved.

Pages hold several ``<script type="application/ld+json">`` blocks, ``@graph``
bundles, top-level arrays, HTML comments or CDATA around the JSON, and now and
then one broken block beside valid ones. Each valid entity is returned; each
broken block is reported back to the caller, never fatal.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from parsel import Selector

logger = logging.getLogger(__name__)

_WRAPPERS = re.compile(
    r"^\s*(?://\s*)?(?:<!--|<!\[CDATA\[)|(?://\s*)?(?:-->|\]\]>)\s*$"
)


@dataclass
class Extraction:
    entities: list[dict[str, Any]] = field(default_factory=list)
    broken_blocks: int = 0
    # why each broken block could not be read, for the caller's warning
    problems: list[str] = field(default_factory=list)


def extract_entities(html: str) -> Extraction:
    """Every schema.org entity in the page's JSON-LD blocks."""
    result = Extraction()
    # type="html": a JSON body would otherwise be read as JSON, with no xpath
    scripts = Selector(text=html, type="html").xpath(
        '//script[contains(translate(@type, "LDJSON", "ldjson"), "ld+json")]/text()'
    )
    for script in scripts.getall():
        try:
            data = json.loads(_unwrap(script), strict=False)
            result.entities.extend(_flatten(data, context=None))
        except (ValueError, RecursionError) as exc:
            _broken(result, script, exc)
    try:
        _resolve_references(result.entities)
    except RecursionError as exc:
        _broken(result, "", exc)
    return result


def _broken(result: Extraction, script: str, exc: Exception) -> None:
    result.broken_blocks += 1
    problem = str(exc) or type(exc).__name__
    result.problems.append(problem)
    logger.debug("Skipped a broken JSON-LD block (%s): %.80r", problem, script)


def _unwrap(script: str) -> str:
    text = script.strip()
    previous = None
    while previous != text:
        previous = text
        text = _WRAPPERS.sub("", text).strip()
    return text


def _flatten(data: Any, context: Any) -> Iterator[dict[str, Any]]:
    if isinstance(data, list):
        for element in data:
            yield from _flatten(element, context)
        return
    if not isinstance(data, dict):
        return
    context = data.get("@context", context)
    if "@graph" in data:
        yield from _flatten(data["@graph"], context)
        return
    if context is not None and "@context" not in data:
        data = {"@context": context, **data}
    yield data


def _resolve_references(entities: list[dict[str, Any]]) -> None:
    """Replace ``{"@id": ...}`` stubs with the entity of that id, wherever they sit.

    A stub inside a list or a nested object is resolved too; an entity is never
    expanded inside itself, so circular references end as the bare stub.
    """
    by_id = {e["@id"]: e for e in entities if isinstance(e.get("@id"), str)}
    for entity in entities:
        for key, value in entity.items():
            entity[key] = _resolved(value, by_id, _own_id(entity))


def _resolved(value: Any, by_id: dict[str, dict[str, Any]], path: set[Any]) -> Any:
    if isinstance(value, list):
        return [_resolved(v, by_id, path) for v in value]
    if not isinstance(value, dict):
        return value
    if _is_reference(value):
        if not isinstance(value["@id"], str):
            return value
        target = by_id.get(value["@id"])
        if target is None or value["@id"] in path:
            return value
        inner = path | {value["@id"]}
        return {k: _resolved(v, by_id, inner) for k, v in target.items()}
    return {k: _resolved(v, by_id, path) for k, v in value.items()}


def _own_id(entity: dict[str, Any]) -> set[Any]:
    identifier = entity.get("@id")
    return {identifier} if isinstance(identifier, str) else set()


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"@id"}


def types_of(entity: dict[str, Any]) -> set[str]:
    """An entity's types without the schema.org prefix: ``["JobPosting"]`` too."""
    value = entity.get("@type", [])
    names = value if isinstance(value, list) else [value]
    return {str(n).rsplit("/", 1)[-1] for n in names if n}
