"""feed: search columns, places and tags of opportunities

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opportunity_search",
        sa.Column("opportunity_id", sa.String(length=40), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("in_scope", sa.Boolean(), nullable=False),
        sa.Column("opportunity_type", sa.String(length=40), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=True),
        sa.Column("age_min", sa.Integer(), nullable=True),
        sa.Column("age_max", sa.Integer(), nullable=True),
        sa.Column(
            "closing_sort", storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "newest_sort", storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("indexed_hash", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"]),
        sa.PrimaryKeyConstraint("opportunity_id"),
    )
    op.create_index(
        "ix_search_closing",
        "opportunity_search",
        ["state", "in_scope", "closing_sort", "opportunity_id"],
    )
    op.create_index(
        "ix_search_newest",
        "opportunity_search",
        ["state", "in_scope", "newest_sort", "opportunity_id"],
    )
    op.create_index(
        "ix_search_type_closing",
        "opportunity_search",
        ["opportunity_type", "closing_sort"],
    )
    op.create_table(
        "opportunity_places",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("opportunity_id", sa.String(length=40), nullable=False),
        sa.Column("outcode", sa.String(length=5), nullable=True),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("local_authority", sa.Text(), nullable=True),
        sa.Column("local_authority_code", sa.String(length=12), nullable=True),
        sa.Column("region", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_places_lat_lon", "opportunity_places", ["lat", "lon"])
    op.create_index(
        "ix_opportunity_places_opportunity_id",
        "opportunity_places",
        ["opportunity_id"],
    )
    op.create_table(
        "opportunity_tags",
        sa.Column("tag", sa.String(length=200), nullable=False),
        sa.Column("opportunity_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(["opportunity_id"], ["opportunities.id"]),
        sa.PrimaryKeyConstraint("tag", "opportunity_id"),
    )
    op.create_index(
        "ix_opportunity_tags_opportunity_id", "opportunity_tags", ["opportunity_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_opportunity_tags_opportunity_id", "opportunity_tags")
    op.drop_table("opportunity_tags")
    op.drop_index("ix_opportunity_places_opportunity_id", "opportunity_places")
    op.drop_index("ix_places_lat_lon", "opportunity_places")
    op.drop_table("opportunity_places")
    op.drop_index("ix_search_type_closing", "opportunity_search")
    op.drop_index("ix_search_newest", "opportunity_search")
    op.drop_index("ix_search_closing", "opportunity_search")
    op.drop_table("opportunity_search")
