"""A bounded schemathesis run against the app's own /openapi.json, in process."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance


@dataclass
class FuzzResult:
    operations: int = 0
    calls: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    # "GET /path": (status, the request's query) of the first 5xx seen
    server_errors: dict[str, tuple[int, str]] = field(default_factory=dict)
    # "GET /path": the first answer unlike the shape the description gives
    unlike_described: dict[str, str] = field(default_factory=dict)


def fuzz_openapi(app: FastAPI, max_examples: int = 200) -> FuzzResult:
    """Up to ``max_examples`` generated requests per operation; 5xx are kept,
    and so are answers whose body is not of the shape the description gives."""
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
            response = case.call()
        except Exception as exc:  # the ASGI transport re-raises what the app did
            status, detail = 500, f"{detail} raised {exc!r}"
        else:
            status = response.status_code
            _check_shape(case, response, label, detail, result)
        result.statuses[status] = result.statuses.get(status, 0) + 1
        if status >= 500 and label not in result.server_errors:
            result.server_errors[label] = (status, detail[:300])

    check()


def _check_shape(
    case: Any, response: Any, label: str, detail: str, result: FuzzResult
) -> None:
    if label in result.unlike_described:
        return
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except FailureGroup as failures:
        found = "; ".join(str(f) for f in failures.exceptions)
        result.unlike_described[label] = f"{detail}: {found}"[:500]
