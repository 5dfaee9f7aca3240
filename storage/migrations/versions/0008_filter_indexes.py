"""indexes a filtered list page walks without reading table rows: a type's
live opportunities in closing order (scope included), and each opportunity's
tags

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_search_type_closing", "opportunity_search")
    op.create_index(
        "ix_search_type_state_closing",
        "opportunity_search",
        ["opportunity_type", "state", "closing_sort", "opportunity_id"],
        postgresql_include=["in_scope"],
    )
    op.drop_index("ix_opportunity_tags_opportunity_id", "opportunity_tags")
    op.create_index(
        "ix_opportunity_tags_opportunity_tag",
        "opportunity_tags",
        ["opportunity_id", "tag"],
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_tags_opportunity_tag", "opportunity_tags")
    op.create_index(
        "ix_opportunity_tags_opportunity_id", "opportunity_tags", ["opportunity_id"]
    )
    op.drop_index("ix_search_type_state_closing", "opportunity_search")
    op.create_index(
        "ix_search_type_closing",
        "opportunity_search",
        ["opportunity_type", "closing_sort"],
    )
