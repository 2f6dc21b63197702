"""records with provenance, and the rejected-input table

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "records",
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attrs", JsonType, nullable=False),
        sa.Column("geometry", JsonType, nullable=True),
        sa.Column("datum", sa.String(16), nullable=True),
    )
    op.create_index("ix_records_source", "records", ["source_system", "source_id"])
    op.create_table(
        "rejected_records",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source_system", sa.String(64), nullable=False),
        sa.Column("raw", sa.Text, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_rejected_records_source_system", "rejected_records", ["source_system"]
    )


def downgrade() -> None:
    op.drop_index("ix_rejected_records_source_system", "rejected_records")
    op.drop_table("rejected_records")
    op.drop_index("ix_records_source", "records")
    op.drop_table("records")
