"""A tiny schemathesis run (the bounded one is in benchmarks/reliability.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from tests.reliability.openapi_fuzz import fuzz_openapi
from tests.reliability.web_client import hostile_feed


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    yield from hostile_feed(tmp_path_factory.mktemp("feed"), count=5)


def test_no_generated_request_gets_a_500(app: FastAPI) -> None:
    result = fuzz_openapi(app, max_examples=10)

    assert result.operations >= 5 and result.calls >= result.operations
    assert result.server_errors == {}
    assert result.unlike_described == {}


def test_the_run_reports_a_500_when_there_is_one() -> None:
    broken = FastAPI()

    @broken.get("/boom")
    def boom(n: int = 0) -> dict[str, int]:
        return {"n": 1 // n}

    result = fuzz_openapi(broken, max_examples=5)

    assert list(result.server_errors) == ["GET /boom"]


def test_the_run_reports_an_answer_unlike_its_description() -> None:
    class Shape(BaseModel):
        n: int

    unlike = FastAPI()

    @unlike.get("/shape", responses={200: {"model": Shape}})
    def shape() -> JSONResponse:
        return JSONResponse({"n": "one"})

    result = fuzz_openapi(unlike, max_examples=3)

    assert list(result.unlike_described) == ["GET /shape"]
    assert result.server_errors == {}
