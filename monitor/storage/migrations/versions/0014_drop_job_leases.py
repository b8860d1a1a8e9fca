"""drop job leases: worker mode runs on procrastinate's job queue

The home-made leases took their times from each worker's clock; procrastinate's tables (applied
by ``monitor.storage.queue.ensure_schema``, PostgreSQL only) replace them.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 12:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_job_leases_due", table_name="job_leases")
    op.drop_table("job_leases")


def downgrade() -> None:
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
