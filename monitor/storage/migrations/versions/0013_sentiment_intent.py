"""intent of each reading: complaint, question or other

Readings stored before it have none (NULL) until ``rescore`` reads them again with a model
that gives one.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 09:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sentiments") as batch:
        batch.add_column(sa.Column("intent", sa.String(length=12), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sentiments") as batch:
        batch.drop_column("intent")
