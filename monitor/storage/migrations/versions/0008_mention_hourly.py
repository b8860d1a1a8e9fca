"""hourly mention rollup for the dashboard's Trends and Inbox counts

Empty at first: the pipeline's next processing step fills it (a full build when it has no
cursor yet), as does ``python -m monitor db rollup --rebuild``. Until then the dashboard counts
from the mentions themselves.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 13:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_sentiments_scored": ("sentiments", ["scored_at"]),
    "ix_responses_updated": ("responses", ["updated_at"]),
}


def upgrade() -> None:
    op.create_table(
        "mention_hourly",
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("hour", monitor.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("label", sa.String(length=8), nullable=False),
        sa.Column("complaint", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("mentions", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "brand", "hour", "source", "language", "label", "complaint", "state"
        ),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "rollup_cursor",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("mention_id", sa.BigInteger(), nullable=False),
        sa.Column("correction_id", sa.BigInteger(), nullable=False),
        sa.Column("scored_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("responded_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    for name, (table, columns) in INDEXES.items():
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _) in INDEXES.items():
        op.drop_index(name, table_name=table)
    op.drop_table("rollup_cursor")
    op.drop_table("mention_hourly")
