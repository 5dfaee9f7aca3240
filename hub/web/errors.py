"""Errors as JSON: ``{"error": {"status", "code", "message", "details"}}``.

Bad parameters answer 422 (a value out of range, an unknown postcode) or 400
(a parameter the endpoint does not know, a cursor from another query); nothing a
client sends should reach the generic handler, which still answers JSON.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """An answer other than 200, said in JSON by :func:`install_error_handlers`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.headers = headers


def error_response(error: ApiError) -> JSONResponse:
    body = {
        "error": {
            "status": error.status,
            "code": error.code,
            "message": error.message,
            "details": error.details,
        }
    }
    return JSONResponse(body, status_code=error.status, headers=error.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(StarletteHTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _unexpected_error)


async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc)


async def _validation_error(
    _request: Request, exc: RequestValidationError
) -> JSONResponse:
    details = [_detail(error) for error in exc.errors()]
    unknown = [d["parameter"] for d in details if d["type"] == "extra_forbidden"]
    if unknown:
        names = ", ".join(repr(n) for n in unknown)
        return error_response(
            ApiError(
                400, "unknown_parameter", f"unknown parameter(s): {names}", details
            )
        )
    message = "; ".join(f"{d['parameter']}: {d['message']}" for d in details)
    return error_response(ApiError(422, "invalid_parameter", message, details))


def _detail(error: dict[str, Any]) -> dict[str, Any]:
    location = [str(part) for part in error.get("loc", ()) if part != "query"]
    return {
        "parameter": ".".join(location) or "request",
        "type": error.get("type", "invalid"),
        "message": error.get("msg", "invalid value"),
    }


async def _http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
    headers = dict(exc.headers) if exc.headers else None
    return error_response(
        ApiError(exc.status_code, code, str(exc.detail), None, headers)
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("Unexpected error answering %s", request.url.path, exc_info=exc)
    return error_response(
        ApiError(500, "internal", "internal error; it has been logged")
    )
