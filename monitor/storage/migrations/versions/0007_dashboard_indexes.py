"""dashboard indexes: per-source and per-language mentions over time

The dashboard lists the sources and languages seen lately and the newest mention of every
(source, brand) with one index seek per value instead of reading every recent mention.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = {
    "ix_mentions_source_brand_created": ["source", "brand", "created_at"],
    "ix_mentions_language_brand_created": ["language", "brand", "created_at"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "mentions", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="mentions")
