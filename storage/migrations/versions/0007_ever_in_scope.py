"""whether an opportunity was ever in scope: the published change feed sends
tombstones only for those

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.add_column(
            sa.Column(
                "ever_in_scope",
                sa.Boolean(),
                nullable=False,
                server_default=sa.false(),
            )
        )
    # what was in scope before this column is not known: every opportunity
    # already in the feed counts as once in scope, so none loses its tombstone
    op.execute("UPDATE opportunities SET ever_in_scope = TRUE WHERE change_no > 0")


def downgrade() -> None:
    with op.batch_alter_table("opportunities") as batch:
        batch.drop_column("ever_in_scope")
