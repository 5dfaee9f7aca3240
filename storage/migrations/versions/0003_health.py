"""crawl health verdicts and run locks

Revision ID: 0003
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.models

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "crawl_health",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("listings", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("checked", storage.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["crawl_runs.id"]),
        sa.ForeignKeyConstraint(["source_id"], ["sources.id"]),
        sa.PrimaryKeyConstraint("run_id"),
    )
    with op.batch_alter_table("crawl_health", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_crawl_health_source_id"), ["source_id"], unique=False
        )
    op.create_table(
        "run_locks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("deployment", sa.String(length=200), nullable=False),
        sa.Column(
            "scheduled_start",
            storage.models.UTCDateTime(timezone=True),
            nullable=False,
        ),
        sa.Column("flow_run_id", sa.String(length=40), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column(
            "acquired", storage.models.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("released", storage.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("deployment", "scheduled_start"),
    )


def downgrade() -> None:
    op.drop_table("run_locks")
    with op.batch_alter_table("crawl_health", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_crawl_health_source_id"))
    op.drop_table("crawl_health")
