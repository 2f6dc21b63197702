"""one source of truth (step 10): the change feed (an ordered outbox every worker follows),
record versions for optimistic concurrency, the live state of devices (latest + history), and
idempotency keys so a client's retry never writes twice

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)
# BIGINT on PostgreSQL; SQLite needs INTEGER PRIMARY KEY for its rowid sequence
Seq = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "change_feed",
        sa.Column("seq", Seq, primary_key=True, autoincrement=True),
        sa.Column("at", When, nullable=False),
        sa.Column("topic", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(64), nullable=True),
        sa.Column("key", sa.String(128), nullable=True),
        sa.Column("op", sa.String(32), nullable=False),
        sa.Column("payload", JsonType, nullable=True),
    )
    op.create_index("ix_change_feed_topic_seq", "change_feed", ["topic", "seq"])
    with op.batch_alter_table("records") as table:
        table.add_column(sa.Column("version", sa.Integer, nullable=False, server_default="1"))
    op.create_table(
        "device_state",
        sa.Column("device_id", sa.String(128), primary_key=True),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("state", JsonType, nullable=False),
        sa.Column("geometry", JsonType, nullable=True),
        sa.Column("updated_at", When, nullable=False),
    )
    op.create_index("ix_device_state_kind", "device_state", ["kind", "device_id"])
    op.create_table(
        "device_readings",
        sa.Column("id", Seq, primary_key=True, autoincrement=True),
        sa.Column("device_id", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("at", When, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("values", JsonType, nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=True),
    )
    op.create_index("ix_device_readings_device_at", "device_readings", ["device_id", "at"])
    op.create_index(
        "ux_device_readings_idempotency",
        "device_readings",
        ["device_id", "idempotency_key"],
        unique=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        # time-ordered appends: a BRIN index on time is tiny and serves range scans
        op.execute("CREATE INDEX ix_device_readings_at_brin ON device_readings USING brin (at)")
    op.create_table(
        "idempotency_keys",
        sa.Column("scope", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("principal", sa.String(128), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("result", JsonType, nullable=True),
    )
    op.create_index("ix_idempotency_keys_created_at", "idempotency_keys", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_created_at", "idempotency_keys")
    op.drop_table("idempotency_keys")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_device_readings_at_brin")
    op.drop_index("ux_device_readings_idempotency", "device_readings")
    op.drop_index("ix_device_readings_device_at", "device_readings")
    op.drop_table("device_readings")
    op.drop_index("ix_device_state_kind", "device_state")
    op.drop_table("device_state")
    with op.batch_alter_table("records") as table:
        table.drop_column("version")
    op.drop_index("ix_change_feed_topic_seq", "change_feed")
    op.drop_table("change_feed")
