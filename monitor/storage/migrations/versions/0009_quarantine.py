"""quarantine of items a source sent that could not be read

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 09:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "quarantine",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("collector", sa.String(length=160), nullable=False),
        sa.Column("brand", sa.String(length=64), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("first_seen_at", monitor.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", monitor.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("times_seen", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("source", "fingerprint", name="uq_quarantine_source_fingerprint"),
    )
    op.create_index("ix_quarantine_last_seen", "quarantine", ["last_seen_at"])


def downgrade() -> None:
    op.drop_index("ix_quarantine_last_seen", table_name="quarantine")
    op.drop_table("quarantine")
