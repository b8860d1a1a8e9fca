"""incidents found in collected history, and how far each brand has been analysed

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(
            sa.Column("historical", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.create_table(
        "detection_state",
        sa.Column("brand", sa.String(length=64), nullable=False),
        sa.Column("analysed_until", monitor.storage.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("brand"),
    )


def downgrade() -> None:
    op.drop_table("detection_state")
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("historical")
