"""The migrations build exactly the tables, columns and indexes the models
declare: a column added to a model without its revision fails here."""

from __future__ import annotations

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import text

from storage.schema import metadata
from storage.session import MIGRATIONS, make_engine, migrate

pytestmark = pytest.mark.db


def test_migrated_schema_matches_the_models(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    with engine.connect() as connection:
        # column types are left out: each dialect reflects its own spelling
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, metadata)
    engine.dispose()
    assert differences == []


def test_opportunities_already_in_the_feed_keep_their_tombstones(tmp_path):
    """Which opportunities were once in scope was not recorded before: the
    revision that records it counts every one already in the feed as once in
    scope, so that none of them leaves the published feed without a tombstone."""
    engine = make_engine(f"sqlite:///{tmp_path / 'hub.sqlite'}")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0006")
        connection.execute(
            text(
                "INSERT INTO opportunities (id, state, created, modified, change_no,"
                " in_scope, golden) VALUES ('published', 'live', '2026-01-01',"
                " '2026-01-01', 4, 0, '{}'), ('unpublished', 'live', '2026-01-01',"
                " '2026-01-01', 0, 0, '{}')"
            )
        )
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT id, ever_in_scope FROM opportunities"))
        flags = {name: bool(flag) for name, flag in rows}
    engine.dispose()
    assert flags == {"published": True, "unpublished": False}
