"""collector health (status, next run, recent runs) and API usage per month

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 11:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("collector_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("status", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("next_run_at", monitor.storage.tables.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("recent_runs", sa.JSON(), nullable=True))
    op.create_table(
        "api_usage",
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("items", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("source", "period"),
    )


def downgrade() -> None:
    op.drop_table("api_usage")
    with op.batch_alter_table("collector_state", schema=None) as batch_op:
        batch_op.drop_column("recent_runs")
        batch_op.drop_column("next_run_at")
        batch_op.drop_column("status")
