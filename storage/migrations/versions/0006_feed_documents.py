"""encoded list-page and change-feed records on the search rows; indexes of
the sort orders in and out of scope alike, and of the merge and split changes

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
    for name, column in (("closing", "closing_sort"), ("newest", "newest_sort")):
        op.create_index(
            f"ix_search_any_{name}",
            "opportunity_search",
            ["state", column, "opportunity_id"],
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
    for name in ("closing", "newest"):
        op.drop_index(f"ix_search_any_{name}", table_name="opportunity_search")
    with op.batch_alter_table("opportunity_search") as batch:
        batch.drop_column("doc_change_no")
        batch.drop_column("feed_doc")
        batch.drop_column("summary_doc")
