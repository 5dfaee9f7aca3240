"""Match: merge duplicate listings into opportunities, one matcher at a time."""

from __future__ import annotations

from prefect import flow

from dedupe.adapter import MatchSummary, match_listings
from flows.db import engine_for
from storage.lifecycle import exclusive_stage
from storage.session import retry_on_disconnect, session_factory

# match and publish read and rewrite every opportunity: never two at once
STAGE_LOCK = "hub-match-publish"


@flow(name="match")
def match(database_url: str) -> MatchSummary:
    engine = engine_for(database_url)

    def stage() -> MatchSummary:
        with exclusive_stage(engine, STAGE_LOCK):
            return match_listings(session_factory(engine))

    # one transaction under the lock: a lost connection rolled all of it back
    return retry_on_disconnect(stage, "matching")
