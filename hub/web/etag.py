"""ETag and If-None-Match for every GET.

A small answer is buffered and tagged with a hash of its body. A streamed answer
(an export) sets its own ETag from the feed's fingerprint and checks
If-None-Match itself before streaming (:func:`not_modified`), so the
middleware passes it through untouched.
"""

from __future__ import annotations

import hashlib
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

_DROPPED_ON_304 = ("content-length", "content-type")


def etag_for(*parts: str | bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return f'"{digest.hexdigest()[:32]}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag.removeprefix("W/") in wanted


def not_modified(request: Request, etag: str) -> Response | None:
    """A 304 when the client already holds ``etag``, else None."""
    if matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers={"ETag": etag})
    return None


class ETagMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        tagger = _Tagger(send, Headers(scope=scope).get("if-none-match"))
        await self.app(scope, receive, tagger.send)


class _Tagger:
    def __init__(self, send: Send, if_none_match: str | None) -> None:
        self._send = send
        self._if_none_match = if_none_match
        self._start: Message | None = None
        self._passthrough = False
        self._body: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = Headers(raw=message["headers"])
            if message["status"] != 200 or "etag" in headers:
                self._passthrough = True
                await self._send(message)
            else:
                self._start = message
            return
        if self._passthrough or message["type"] != "http.response.body":
            await self._send(message)
            return
        self._body.append(message.get("body", b""))
        if not message.get("more_body", False):
            await self._finish()

    async def _finish(self) -> None:
        assert self._start is not None
        body = b"".join(self._body)
        etag = etag_for(body)
        start: dict[str, Any] = dict(self._start)
        headers = MutableHeaders(raw=list(start["headers"]))
        headers["ETag"] = etag
        if matches(self._if_none_match, etag):
            for name in _DROPPED_ON_304:
                if name in headers:
                    del headers[name]
            start.update(status=304, headers=headers.raw)
            await self._send(start)
            await self._send({"type": "http.response.body", "body": b""})
            return
        start["headers"] = headers.raw
        await self._send(start)
        await self._send({"type": "http.response.body", "body": body})
