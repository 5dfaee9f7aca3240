"""What keeps the review pages safe: headers, link checks, and the route class
that checks sign-in and CSRF on every request.

Every answer of a review route carries a Content-Security-Policy that allows
scripts, styles and images only from this server (no inline script at all),
forbids framing, and keeps forms posting here. Every POST must carry the
session's CSRF token (``csrf_token`` form field): missing or wrong is a 403.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

logger = logging.getLogger(__name__)

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
SIGNIN_PATH = "/review/signin"
CSRF_FIELD = "csrf_token"


class ReviewError(Exception):
    """An answer other than the page asked for; turned into a response."""

    def response(self, request: Request) -> Response:
        raise NotImplementedError


class SignInRequired(ReviewError):
    def response(self, request: Request) -> Response:
        if request.method in ("GET", "HEAD"):
            target = quote(safe_next(request.url.path), safe="/")
            return RedirectResponse(f"{SIGNIN_PATH}?next={target}", status_code=303)
        return PlainTextResponse("sign in first", status_code=401)


class Forbidden(ReviewError):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def response(self, request: Request) -> Response:
        return PlainTextResponse(self.message, status_code=403)


class NotFound(ReviewError):
    def response(self, request: Request) -> Response:
        return PlainTextResponse(str(self) or "not found", status_code=404)


def safe_url(value: object) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host, else None."""
    if not isinstance(value, str) or any(ch.isspace() for ch in value.strip()):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return value.strip()


def safe_next(path: str | None) -> str:
    """A path of the review pages to return to after sign-in, never elsewhere."""
    if not path or not path.startswith("/review") or path.startswith("//"):
        return "/review"
    if "\\" in path or any(ord(ch) < 32 for ch in path):
        return "/review"
    return path


def add_security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ReviewRoute(APIRoute):
    """A route that checks CSRF on POST, answers ReviewErrors, adds headers."""

    def get_route_handler(self) -> Handler:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                if request.method == "POST":
                    await _check_post(request)
                response = await original(request)
            except ReviewError as exc:
                response = exc.response(request)
            return add_security_headers(response)

        return handler


async def _check_post(request: Request) -> None:
    """Sign-in first (401), then the session's CSRF token (403)."""
    from hub.web.review.context import current_session
    from hub.web.review.sessions import csrf_matches

    active = await run_in_threadpool(current_session, request)
    signed_in = active is not None and active.reviewer is not None
    if request.url.path != SIGNIN_PATH and not signed_in:
        raise SignInRequired()
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if not csrf_matches(active, sent if isinstance(sent, str) else None):
        logger.info("CSRF check failed on %s", request.url.path)
        raise Forbidden("missing or wrong CSRF token")
