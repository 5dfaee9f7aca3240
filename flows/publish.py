"""Publish: each opportunity's state from its members, and the change feed."""

from __future__ import annotations

from prefect import flow

from flows.db import engine_for
from flows.match import STAGE_LOCK
from storage.feed import (
    PublishSummary,
    count_changed_since,
    feed_version,
    publish_feed,
)
from storage.lifecycle import exclusive_stage
from storage.session import retry_on_disconnect, session_factory


def last_change(database_url: str) -> int:
    """The number of the last change the feed recorded (0 before the first)."""
    with session_factory(engine_for(database_url))() as session:
        return feed_version(session)


@flow(name="publish")
def publish(database_url: str, since: int | None = None) -> PublishSummary:
    """With ``since`` (:func:`last_change` read before the run matched), the
    summary's ``changed`` counts every opportunity the run changed, the merges
    and splits matching recorded included, not only what publishing did."""
    engine = engine_for(database_url)

    def stage() -> PublishSummary:
        with exclusive_stage(engine, STAGE_LOCK):
            factory = session_factory(engine)
            summary = publish_feed(factory)
            if since is not None:
                with factory() as session:
                    summary.changed = count_changed_since(session, since)
            return summary

    # one transaction under the lock: a lost connection rolled all of it back
    return retry_on_disconnect(stage, "publishing")
