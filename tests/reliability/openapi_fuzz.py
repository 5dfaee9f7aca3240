"""A bounded schemathesis run against the app's own /openapi.json, in process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings


@dataclass
class FuzzResult:
    operations: int = 0
    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # "GET /path": (status, the request's query) of the first 5xx seen
    server_errors: dict[str, tuple[int, str]] = field(default_factory=dict)


def fuzz_openapi(app: FastAPI, max_examples: int = 200) -> FuzzResult:
    """Up to ``max_examples`` generated requests per operation; 5xx are kept."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    result = FuzzResult()
    for found in schema.get_all_operations():
        operation = found.ok()
        result.operations += 1
        _fuzz_operation(operation, max_examples, result)
    return result


def _fuzz_operation(operation: Any, max_examples: int, result: FuzzResult) -> None:
    label = f"{operation.method.upper()} {operation.path}"

    @settings(
        max_examples=max_examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(operation.as_strategy())
    def check(case: Any) -> None:
        result.calls += 1
        detail = f"query={case.query!r} path={case.path_parameters!r}"
        try:
            status = case.call().status_code
        except Exception as exc:  # the ASGI transport re-raises what the app did
            status, detail = 500, f"{detail} raised {exc!r}"
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status >= 500 and label not in result.server_errors:
            result.server_errors[label] = (status, detail[:300])

    check()
