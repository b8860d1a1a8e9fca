"""alert deliveries: one row per alert revision and recipient; alert revisions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import monitor.storage.tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC_TIME = monitor.storage.tables.UTCDateTime()


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), server_default="1", nullable=False))
        batch_op.add_column(sa.Column("metric", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("released_at", UTC_TIME, nullable=True))
        batch_op.add_column(sa.Column("updated_at", UTC_TIME, nullable=True))

    op.create_table(
        "alert_deliveries",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("alert_id", BIG_ID, nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("target", sa.String(length=255), nullable=False),
        sa.Column("unit", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC_TIME, nullable=False),
        sa.Column("lease_until", UTC_TIME, nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("sent_at", UTC_TIME, nullable=True),
        sa.ForeignKeyConstraint(["alert_id"], ["alerts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "alert_id", "revision", "channel", "target", name="uq_alert_deliveries_target"
        ),
    )
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_alert_deliveries_alert_id", ["alert_id"], unique=False)
        batch_op.create_index(
            "ix_alert_deliveries_due", ["status", "next_attempt_at"], unique=False
        )
        batch_op.create_index("ix_alert_deliveries_unit", ["unit", "target"], unique=False)

    # Alerts already sent before this revision keep their state: nothing is re-sent.
    op.execute("UPDATE alerts SET released_at = sent_at WHERE status = 'sent'")


def downgrade() -> None:
    with op.batch_alter_table("alert_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_alert_deliveries_unit")
        batch_op.drop_index("ix_alert_deliveries_due")
        batch_op.drop_index("ix_alert_deliveries_alert_id")
    op.drop_table("alert_deliveries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("released_at")
        batch_op.drop_column("metric")
        batch_op.drop_column("revision")
