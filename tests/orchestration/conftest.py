"""Orchestration fixtures: one Prefect test harness per session, fake crawls."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


class Receiver:
    """A webhook receiver on 127.0.0.1 that keeps what was POSTed to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def kinds(self) -> list[str]:
        return sorted(item["kind"] for item in self.received)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


class Store:
    """A database with sources whose runs see the listings a test names."""

    def __init__(self, database_url: str) -> None:
        from storage.session import make_engine, migrate, session_factory

        self.url = database_url
        self.engine = make_engine(database_url)
        migrate(self.engine)
        self.factory = session_factory(self.engine)

    def source(self, name: str) -> int:
        from storage.repository import upsert_source
        from storage.session import transaction

        with transaction(self.factory) as session:
            values = {"spider": "x", "provider_kind": "charity", "config": {}}
            return upsert_source(session, name=name, **values).id

    def run(
        self,
        name: str,
        keys: list[str],
        status: str = "ok",
        closing: dict[str, Any] | None = None,
        judge: bool = True,
    ) -> int:
        """One finished crawl run of ``name`` that stored ``keys``."""
        from storage.health import record_health
        from storage.repository import (
            finish_crawl_run,
            get_source,
            start_crawl_run,
            upsert_listings,
        )
        from storage.session import transaction

        with transaction(self.factory) as session:
            source = get_source(session, name)
            assert source is not None
            run = start_crawl_run(session, source, None)
            outcomes = upsert_listings(
                session, source.id, run.id, [_row(k, closing) for k in keys]
            )
            stats = _stats(outcomes, status)
            finish_crawl_run(session, run.id, status, stats)
            if judge:
                record_health(session, run.id)
            return run.id

    def statuses(self, name: str) -> dict[str, str]:
        from sqlalchemy import select

        from storage.models import Listing, Source

        with self.factory() as session:
            query = (
                select(Listing.source_key, Listing.status)
                .join(Source)
                .where(Source.name == name)
            )
            return {key: status for key, status in session.execute(query)}


def _row(key: str, closing: dict[str, Any] | None) -> Any:
    from datetime import UTC, datetime

    from storage.repository import ListingRow

    closing_date = (closing or {}).get(key)
    return ListingRow(
        source_key=key,
        url=f"https://brightpath.example.org/opportunities/{key}",
        content_hash=f"hash-{key}",
        fetched_at=datetime.now(UTC),
        status="active",
        columns={"title": f"Summer school {key}", "closing_date": closing_date},
        fields={"title": f"Summer school {key}"},
        raw={},
    )


def _stats(outcomes: dict[str, Any], status: str) -> dict[str, Any]:
    stats: dict[str, Any] = {"finish_reason": "finished"}
    for outcome in outcomes.values():
        key = f"store/{outcome}"
        stats[key] = stats.get(key, 0) + 1
    if status == "failed":
        return {}
    return stats


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    made = Store(database_url)
    try:
        yield made
    finally:
        made.engine.dispose()
