"""indexes a search near a postcode reads without reading table rows: the
places in a box with their opportunities, and an opportunity's points

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_places_lat_lon", "opportunity_places")
    op.create_index(
        "ix_places_lat_lon_opportunity",
        "opportunity_places",
        ["lat", "lon", "opportunity_id"],
    )
    op.drop_index("ix_opportunity_places_opportunity_id", "opportunity_places")
    op.create_index(
        "ix_places_opportunity_lat_lon",
        "opportunity_places",
        ["opportunity_id", "lat", "lon"],
    )


def downgrade() -> None:
    op.drop_index("ix_places_opportunity_lat_lon", "opportunity_places")
    op.create_index(
        "ix_opportunity_places_opportunity_id",
        "opportunity_places",
        ["opportunity_id"],
    )
    op.drop_index("ix_places_lat_lon_opportunity", "opportunity_places")
    op.create_index("ix_places_lat_lon", "opportunity_places", ["lat", "lon"])
