"""encoded list-page and change-feed records on the search rows; an index of
the merge and split changes

Revision ID: 0006
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opportunity_search") as batch:
        batch.add_column(sa.Column("summary_doc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("feed_doc", sa.Text(), nullable=True))
        batch.add_column(sa.Column("doc_change_no", sa.Integer(), nullable=True))
    if op.get_bind().dialect.name == "postgresql":
        # every change-feed page reads 500 of these: kept out of line but not
        # compressed, which would cost a decompression per row read
        op.execute(
            "ALTER TABLE opportunity_search ALTER COLUMN feed_doc SET STORAGE EXTERNAL"
        )
    events = sa.text("kind IN ('merged', 'split')")
    op.create_index(
        "ix_feed_changes_id_events",
        "feed_changes",
        ["opportunity_id", "change_no"],
        postgresql_where=events,
        sqlite_where=events,
    )


def downgrade() -> None:
    op.drop_index("ix_feed_changes_id_events", table_name="feed_changes")
    with op.batch_alter_table("opportunity_search") as batch:
        batch.drop_column("doc_change_no")
        batch.drop_column("feed_doc")
        batch.drop_column("summary_doc")
