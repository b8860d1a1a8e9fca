"""job leases shared by workers

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 09:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "job_leases",
        sa.Column("name", sa.String(length=160), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=True),
        sa.Column("lease_until", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("next_run_at", monitor.storage.tables.UTCDateTime(), nullable=False),
        sa.Column("last_started_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("last_finished_at", monitor.storage.tables.UTCDateTime(), nullable=True),
        sa.Column("runs", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_job_leases_due", "job_leases", ["next_run_at"])


def downgrade() -> None:
    op.drop_index("ix_job_leases_due", table_name="job_leases")
    op.drop_table("job_leases")
