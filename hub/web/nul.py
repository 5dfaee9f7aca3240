"""Requests that carry a NUL character are answered before any route runs.

PostgreSQL holds no NUL in text (SQLite does), and nothing the hub stores has
one (the store pipeline drops them), so a NUL in a parameter can match nothing.
A NUL in the query string or in a posted form is a 422 naming the parameter; in
the path, a 404 (no id holds one). Without this, the value would reach the
database and fail there, as a 500 on PostgreSQL only.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.web.errors import ApiError, error_response

FORM = b"application/x-www-form-urlencoded"


class NulGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):
            error = ApiError(404, "not_found", "Not Found")
            await error_response(error)(scope, receive, send)
            return
        names = _nul_names(scope.get("query_string", b""))
        if not names and _is_form(scope):
            body, receive = await _buffered(receive)
            names = _nul_names(body)
        if names:
            listed = ", ".join(repr(name) for name in names)
            error = ApiError(
                422,
                "invalid_parameter",
                f"{listed}: a NUL character is not allowed",
                [{"parameter": n, "type": "nul", "message": "NUL"} for n in names],
            )
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _nul_names(encoded: bytes) -> list[str]:
    if b"%00" not in encoded and b"\x00" not in encoded:
        return []  # the common case, without decoding
    text = encoded.decode("latin-1")
    pairs = parse_qsl(text, keep_blank_values=True, encoding="latin-1")
    return sorted({name for name, value in pairs if "\x00" in name + value})


def _is_form(scope: Scope) -> bool:
    if scope.get("method") in ("GET", "HEAD", "OPTIONS"):
        return False  # no body: the feed's requests stop here
    headers = dict(scope.get("headers") or [])
    return headers.get(b"content-type", b"").split(b";")[0].strip() == FORM


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a receive that hands it on again."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay
