"""access policies: every version of every policy document (draft, published, retired)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "policy_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("document", JsonType, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("author", sa.String(128), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("published_at", When, nullable=True),
        sa.UniqueConstraint("name", "version", name="uq_policy_versions_name_version"),
    )
    op.create_index("ix_policy_versions_status", "policy_versions", ["status"])


def downgrade() -> None:
    op.drop_index("ix_policy_versions_status", table_name="policy_versions")
    op.drop_table("policy_versions")
