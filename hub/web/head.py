"""HEAD is answered as GET would be, with the headers alone.

Feed readers, caches and link checkers ask HEAD to learn an answer's ETag,
type and length without its body. Each GET route answers HEAD: the request
runs as a GET, and what it sends is passed on up to the body, which is dropped.
A streamed answer (an export) is stopped at its first chunk rather than made
to the end for nobody.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _Answered(Exception):
    """Stops a streamed answer whose headers have gone out."""


class HeadMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return
        answered = False

        async def send_headers(message: Message) -> None:
            nonlocal answered
            if message["type"] != "http.response.body":
                await send(message)
                return
            if answered:
                raise _Answered
            answered = True
            await send({"type": "http.response.body", "body": b""})

        try:
            await self.app({**scope, "method": "GET"}, receive, send_headers)
        except _Answered:
            pass
