"""hardening (step 9): telemetry clients bound to their devices, Open311 API keys, codes kept
after use (replay revokes what they issued), four-eyes approvals of policy versions, webhook
delivery ids seen (replay window), failed sign-in throttling

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as table:
        table.add_column(sa.Column("devices", JsonType, nullable=True))
        table.add_column(sa.Column("open311_key_hash", sa.String(64), nullable=True))
    op.create_index("ix_oauth_clients_open311_key_hash", "oauth_clients", ["open311_key_hash"])
    with op.batch_alter_table("oauth_codes") as table:
        table.add_column(sa.Column("used_at", When, nullable=True))
        table.add_column(sa.Column("issued_jtis", JsonType, nullable=True))
    with op.batch_alter_table("policy_versions") as table:
        table.add_column(sa.Column("approved_by", sa.String(128), nullable=True))
        table.add_column(sa.Column("approved_at", When, nullable=True))
    op.create_table(
        "webhook_deliveries",
        sa.Column("system", sa.String(64), primary_key=True),
        sa.Column("delivery_id", sa.String(128), primary_key=True),
        sa.Column("seen_at", When, nullable=False),
    )
    op.create_index("ix_webhook_deliveries_seen_at", "webhook_deliveries", ["seen_at"])
    op.create_table(
        "auth_failures",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("first_at", When, nullable=False),
        sa.Column("last_at", When, nullable=False),
        sa.Column("locked_until", When, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("auth_failures")
    op.drop_index("ix_webhook_deliveries_seen_at", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("policy_versions") as table:
        table.drop_column("approved_at")
        table.drop_column("approved_by")
    with op.batch_alter_table("oauth_codes") as table:
        table.drop_column("issued_jtis")
        table.drop_column("used_at")
    op.drop_index("ix_oauth_clients_open311_key_hash", "oauth_clients")
    with op.batch_alter_table("oauth_clients") as table:
        table.drop_column("open311_key_hash")
        table.drop_column("devices")
