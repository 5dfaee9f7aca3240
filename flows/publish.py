"""Publish: each opportunity's state from its members, and the change feed."""

from __future__ import annotations

from prefect import flow

from flows.db import engine_for
from flows.match import STAGE_LOCK
from storage.feed import PublishSummary, publish_feed
from storage.lifecycle import exclusive_stage
from storage.session import retry_on_disconnect, session_factory


@flow(name="publish")
def publish(database_url: str) -> PublishSummary:
    engine = engine_for(database_url)

    def stage() -> PublishSummary:
        with exclusive_stage(engine, STAGE_LOCK):
            return publish_feed(session_factory(engine))

    # one transaction under the lock: a lost connection rolled all of it back
    return retry_on_disconnect(stage, "publishing")
