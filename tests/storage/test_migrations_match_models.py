"""The migrations build exactly the tables, columns and indexes the models
declare: a column added to a model without its revision fails here."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.schema import metadata
from storage.session import make_engine, migrate

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
