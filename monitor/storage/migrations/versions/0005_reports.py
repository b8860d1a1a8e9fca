"""reports: index of generated weekly reports

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-23 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "reports",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("week", sa.String(length=10), nullable=False),
        sa.Column("path", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("created_at", monitor.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("generated_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("sent_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("sent_to", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("claimed_until", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("brand", "week", name="uq_reports_brand_week"),
    )


def downgrade() -> None:
    op.drop_table("reports")
