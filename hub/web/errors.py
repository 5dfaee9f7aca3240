"""Errors as JSON: ``{"error": {"status", "code", "message", "details"}}``.

Bad parameters answer 422 (a value out of range, an unknown postcode) or 400
(a parameter the endpoint does not know, a cursor from another query); nothing a
client sends should reach the generic handler, which still answers JSON.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from typing import Any, get_args, get_origin

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger(__name__)
# pydantic's words for a parameter a model forbids, used for the others too
NOT_TAKEN = "Extra inputs are not permitted"


class QueryParameters(BaseModel):
    """A query string's parameters: one the model lacks is refused, and an
    empty value (``region=``, as a form's unfilled field sends it) is taken as
    not given, for every parameter alike; so is an empty one of a repeated
    parameter's values (``type=&type=job``)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _empty_is_not_given(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        given, blank = {}, []
        for name, value in values.items():
            if ignored_parameter(name):
                continue
            if isinstance(value, list):
                value = [v for v in value if not _blank(v)]
            if _blank(value) or value == []:
                blank.append(name)
            else:
                given[name] = value
        for name in blank:
            cls._given_empty(name, given)
        return given

    @classmethod
    def _given_empty(cls, name: str, given: dict[str, Any]) -> None:
        """What else ``name`` given empty leaves without meaning, dropped
        from ``given`` (a radius without its postcode)."""


# what a link gathers on its way (campaign tags, click ids, a script's cache
# buster): never a question asked of the feed, so every route ignores them
_GATHERED = frozenset({"fbclid", "gclid", "msclkid", "mc_cid", "mc_eid", "_"})


def ignored_parameter(name: str) -> bool:
    """Whether every route ignores the query parameter ``name``."""
    return name.startswith("utm_") or name in _GATHERED


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


class ErrorDetail(BaseModel):
    parameter: str
    type: str
    message: str


class ErrorInfo(BaseModel):
    status: int
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    """How every error is said (documented in OpenAPI by ERROR_RESPONSES)."""

    error: ErrorInfo


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {
        "model": ErrorBody,
        "description": "A parameter the route does not take (`unknown_parameter`),"
        " or a cursor or feed position that is not valid here",
    },
    422: {
        "model": ErrorBody,
        "description": "A parameter value out of range or not understood, such"
        " as a criterion not in the list (`invalid_parameter`, `invalid_postcode`),"
        " or a place or source the hub does not know (`unknown_postcode`,"
        " `unknown_region`, `unknown_local_authority`, `unknown_source`) or"
        " cannot tell apart (`ambiguous_local_authority`)",
    },
}


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


def invalid_value(
    parameter: str,
    kind: str,
    message: str,
    *,
    detail: str | None = None,
    code: str | None = None,
) -> ApiError:
    """A 422 for one parameter's value: ``kind`` names what is wrong, and is
    the error's code unless ``code`` is given."""
    return ApiError(
        422,
        code or kind,
        message,
        [{"parameter": parameter, "type": kind, "message": detail or message}],
    )


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


async def refuse_unknown_parameters(request: Request) -> None:
    """A dependency: a query parameter the route does not take is a 400, and so
    is one that takes a single value given more than once. An export that
    quietly dropped ``region=``, or a search that kept the last of two
    ``near=``, would answer another question than the one asked. What a link
    gathers on its way (``utm_source``, ``fbclid``; :func:`ignored_parameter`)
    is no question, and is ignored."""
    taken = _query_parameters(request.scope["route"])
    given = Counter(
        name
        for name, _ in request.query_params.multi_items()
        if not ignored_parameter(name)
    )
    unknown = [name for name in given if name not in taken]
    if unknown:
        details = [
            {"parameter": name, "type": "extra_forbidden", "message": NOT_TAKEN}
            for name in unknown
        ]
        raise _unknown_parameters(details)
    repeated = [name for name, count in given.items() if count > 1 and not taken[name]]
    if repeated:
        names = ", ".join(repr(name) for name in repeated)
        raise ApiError(
            400,
            "repeated_parameter",
            f"given more than once, but takes one value: {names}",
            [
                {"parameter": name, "type": "repeated", "message": "takes one value"}
                for name in repeated
            ],
        )


# per route (routes are not hashable): worked out on its first request, not
# on every one
_TAKEN: dict[int, tuple[APIRoute, dict[str, bool]]] = {}


def _query_parameters(route: APIRoute) -> dict[str, bool]:
    """The names the route takes, each with whether it takes several values
    (a query model's fields count as the route's own)."""
    known = _TAKEN.get(id(route))
    if known is None or known[0] is not route:
        known = _TAKEN[id(route)] = (route, _taken_by(route))
    return known[1]


def _taken_by(route: APIRoute) -> dict[str, bool]:
    taken: dict[str, bool] = {}
    for field in _query_fields(route.dependant):
        annotation = field.field_info.annotation
        if _is_model(annotation):
            for name, info in annotation.model_fields.items():
                taken[info.alias or name] = _is_list(info.annotation)
        else:
            taken[field.alias] = _is_list(annotation)
    return taken


def _query_fields(dependant: Dependant) -> Iterator[Any]:
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_fields(sub)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _is_list(annotation: Any) -> bool:
    if get_origin(annotation) in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in get_args(annotation))


def _unknown_parameters(details: list[dict[str, Any]]) -> ApiError:
    unknown = [d["parameter"] for d in details if d["type"] == "extra_forbidden"]
    names = ", ".join(repr(n) for n in unknown)
    return ApiError(400, "unknown_parameter", f"unknown parameter(s): {names}", details)


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
    if any(d["type"] == "extra_forbidden" for d in details):
        return error_response(_unknown_parameters(details))
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
