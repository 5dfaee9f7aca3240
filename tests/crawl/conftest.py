"""Small web sites on 127.0.0.1 and live crawls of them in a child process.

``web.site(routes)`` starts a threaded HTTP server on a free port; each route
maps a path (with its query; ``"*"`` for any other) to a reply, or to a
function of the request and how many times that path was asked for. The server
notes every request it gets (path, headers, start and end times) and the most
requests it ever served at once. ``web.crawl(start_urls, ...)`` runs
``site_crawl.py`` against the sites started so far, each listed in
``HUB_ALLOWED_PRIVATE_HOSTS``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).with_name("site_crawl.py")

# small delays so that each crawl takes a few seconds, not minutes
FAST = {
    "AUTOTHROTTLE_START_DELAY": 0.05,
    "DOWNLOAD_DELAY": 0.01,
    "DOWNLOAD_DELAY_JITTER": 0,
    "HUB_RETRY_BACKOFF_BASE": 0.2,
    "LOG_LEVEL": "WARNING",
}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    # False: no Content-Length, the body ends when the connection closes
    length: bool = True


@dataclass
class Seen:
    path: str
    headers: dict[str, str]
    started: float
    ended: float = 0.0


Route = Reply | Callable[[Seen, int], Reply]
NOT_FOUND = Reply(404, b"not here")


def html(body: str) -> Reply:
    return Reply(200, f"<html><body>{body}</body></html>".encode(), _HTML)


_HTML = {"Content-Type": "text/html; charset=utf-8"}


def listing(key: str, title: str | None = None, apply: bool = False) -> str:
    link = f'<a class="apply" href="/apply/{key}">Apply</a>' if apply else ""
    return (
        f'<li class="listing" data-id="{key}">'
        f'<a class="title" href="/opportunities/{key}">{title or "Listing " + key}</a>'
        '<span class="provider">Brightpath Trust</span>'
        f'<span class="closes">31 December 2030</span>{link}</li>'
    )


def listings_page(keys: list[str], next_url: str | None = None, **kw: Any) -> Reply:
    nav = f'<a class="next" href="{next_url}">Next</a>' if next_url else ""
    items = "".join(listing(key, **kw) for key in keys)
    return html(f"<ul>{items}</ul>{nav}")


def redirect(location: str, status: int = 302, **headers: str) -> Reply:
    return Reply(status, b"", {"Location": location, **headers})


class Site:
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.seen: list[Seen] = []
        self.counts: Counter[str] = Counter()
        self.active = 0
        self.max_active = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    def times(self, path: str) -> list[float]:
        return [s.started for s in self.seen if s.path == path]

    def answer(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            self.counts[seen.path] += 1
            count = self.counts[seen.path]
            self.active += 1
            self.max_active = max(self.max_active, self.active)
        try:
            route = self.routes.get(seen.path) or self.routes.get("*") or NOT_FOUND
            reply = route if isinstance(route, Reply) else route(seen, count)
            time.sleep(reply.delay)
            return reply
        finally:
            with self._lock:
                self.active -= 1
                seen.ended = time.monotonic()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            seen = Seen(self.path, dict(self.headers), time.monotonic())
            reply = site.answer(seen)
            self.send_response(reply.status)
            for name, value in {"Content-Type": "text/plain", **reply.headers}.items():
                self.send_header(name, value)
            if reply.length and "Content-Length" not in reply.headers:
                self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@dataclass
class CrawlResult:
    stats: dict[str, Any]
    items: list[dict[str, Any]]
    seconds: float

    def keys(self) -> list[str]:
        return [item["source_key"] for item in self.items]


class Web:
    # page makers, for the tests (which cannot import this module)
    Reply = Reply
    html = staticmethod(html)
    listing = staticmethod(listing)
    listings_page = staticmethod(listings_page)
    redirect = staticmethod(redirect)

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.sites: list[Site] = []

    def site(self, routes: dict[str, Route]) -> Site:
        site = Site(routes)
        self.sites.append(site)
        return site

    def crawl(
        self,
        start_urls: list[str],
        settings: dict[str, Any] | None = None,
        timeout: float = 60,
        **spider: Any,
    ) -> CrawlResult:
        config_path = self.folder / f"crawl-{time.monotonic_ns()}.json"
        out = config_path.with_suffix(".out.json")
        allowed = [site.host for site in self.sites]
        config = {
            "settings": {
                "HUB_ALLOWED_PRIVATE_HOSTS": allowed,
                **FAST,
                **(settings or {}),
            },
            "spider": {"start_urls": start_urls, **spider},
            "out": str(out),
        }
        config_path.write_text(json.dumps(config), encoding="utf-8")
        started = time.monotonic()
        child = subprocess.run(
            [sys.executable, str(RUNNER), str(config_path)],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert child.returncode == 0, child.stderr[-3000:]
        result = json.loads(out.read_text(encoding="utf-8"))
        return CrawlResult(result["stats"], result["items"], time.monotonic() - started)

    def stop(self) -> None:
        for site in self.sites:
            site.stop()


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    web = Web(tmp_path)
    yield web
    web.stop()
