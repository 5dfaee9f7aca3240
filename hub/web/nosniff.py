"""Every answer says its content type is meant: browsers are not to sniff one.

JSON, CSV and feeds carry text from the web; a browser that guessed HTML from
such a body could run it. The reviewers' pages set this with their other
security headers; this middleware sets it on every other answer too.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "X-Content-Type-Options"


class NoSniffMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_marked(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if HEADER not in headers:
                    headers[HEADER] = "nosniff"
            await send(message)

        await self.app(scope, receive, send_marked)
