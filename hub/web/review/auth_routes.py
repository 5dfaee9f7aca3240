"""Signing in and out, and the pages' own stylesheet and key script."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import RedirectResponse

from hub.web.review.accounts import sign_in
from hub.web.review.context import Review, ReviewContext, current_session, render
from hub.web.review.security import NotFound, ReviewRoute, safe_next
from hub.web.review.sessions import (
    ActiveSession,
    end_session,
    load_session,
    purge_expired,
    start_session,
)
from hub.web.review.settings import COOKIE_NAME, SIGNIN_SESSION
from storage.session import transaction

logger = logging.getLogger(__name__)

router = APIRouter(route_class=ReviewRoute, include_in_schema=False)
STATIC = Path(__file__).parent / "static"
STATIC_TYPES = {"review.css": "text/css", "keys.js": "text/javascript"}
COOKIE_PATH = "/review"


@router.get("/review/static/{name}")
def static_file(name: str) -> Response:
    media_type = STATIC_TYPES.get(name)
    if media_type is None:
        raise NotFound(f"no file {name!r}")
    return Response((STATIC / name).read_bytes(), media_type=media_type)


@router.get("/review/signin")
def signin_page(request: Request, review: Review, next: str = "/review") -> Response:
    active = current_session(request)
    if active is not None and active.reviewer is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    if active is not None:
        return _signin_form(request, next, active)
    with transaction(review.factory) as session:
        purge_expired(session)
        token, row = start_session(session, None, SIGNIN_SESSION)
        active = load_session(session, token)
    response = _signin_form(request, next, active)
    _set_cookie(response, review, token, SIGNIN_SESSION.total_seconds())
    return response


def _signin_form(
    request: Request,
    next: str,
    active: ActiveSession | None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    values = {"next": safe_next(next), "error": error}
    return render(request, "signin.html", values, status_code, active=active)


@router.post("/review/signin")
def signin(
    request: Request,
    review: Review,
    name: Annotated[str, Form(max_length=100)],
    password: Annotated[str, Form(max_length=1000)],
    next: Annotated[str, Form(max_length=2000)] = "/review",
) -> Response:
    active = current_session(request)
    assert active is not None  # the CSRF check found it
    address = request.client.host if request.client else "unknown"
    with transaction(review.factory) as session:
        result = sign_in(session, name, password, address)
        if result.reviewer is not None:
            end_session(session, active.id)
            lifetime = review.settings.session_lifetime
            token, _ = start_session(session, result.reviewer.id, lifetime)
    if result.reviewer is None:
        return _refused(request, next, active, result.retry_after)
    logger.info("%s signed in from %s", result.reviewer.name, address)
    response = RedirectResponse(safe_next(next), status_code=303)
    _set_cookie(response, review, token, lifetime.total_seconds())
    return response


def _refused(
    request: Request, next: str, active: ActiveSession, retry_after: int
) -> Response:
    if retry_after:
        error = f"Too many failed sign-ins: try again in {retry_after} s."
        response = _signin_form(request, next, active, error, 429)
        response.headers["Retry-After"] = str(retry_after)
        return response
    return _signin_form(request, next, active, "Wrong name or password.", 401)


@router.post("/review/signout")
def signout(request: Request, review: Review) -> Response:
    active = current_session(request)
    if active is not None:
        with transaction(review.factory) as session:
            end_session(session, active.id)
    response = RedirectResponse("/review/signin", status_code=303)
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH)
    return response


def _set_cookie(
    response: Response, review: ReviewContext, token: str, seconds: float
) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=int(seconds),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=review.settings.secure_cookie,
    )
