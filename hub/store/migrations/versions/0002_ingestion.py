"""ingestion: connector state and runs, record lineage, quarantine by connector and run

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JsonType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("started_at", When, nullable=False),
        sa.Column("finished_at", When, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("fetched", sa.Integer, nullable=False, server_default="0"),
        sa.Column("inserted", sa.Integer, nullable=False, server_default="0"),
        sa.Column("updated", sa.Integer, nullable=False, server_default="0"),
        sa.Column("unchanged", sa.Integer, nullable=False, server_default="0"),
        sa.Column("duplicates", sa.Integer, nullable=False, server_default="0"),
        sa.Column("quarantined", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_index("ix_sync_runs_connector", "sync_runs", ["connector", "id"])
    op.create_table(
        "connector_state",
        sa.Column("connector", sa.String(64), primary_key=True),
        sa.Column("cursor", JsonType, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_run_id", sa.Integer, nullable=True),
        sa.Column("last_attempt_at", When, nullable=True),
        sa.Column("last_success_at", When, nullable=True),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=True),
        sa.Column("duration_ms", sa.Float, nullable=True),
    )
    op.create_table(
        "record_lineage",
        sa.Column("kind", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(128), primary_key=True),
        sa.Column("connector", sa.String(64), nullable=False),
        sa.Column("source_id", sa.String(128), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("first_run_id", sa.Integer, nullable=False),
        sa.Column("last_run_id", sa.Integer, nullable=False),
        sa.Column("changed_at", When, nullable=False),
    )
    op.create_index("ix_record_lineage_connector", "record_lineage", ["connector"])
    with op.batch_alter_table("rejected_records") as batch:
        batch.add_column(sa.Column("connector", sa.String(64), nullable=True))
        batch.add_column(sa.Column("run_id", sa.Integer, nullable=True))
        batch.add_column(sa.Column("kind", sa.String(64), nullable=True))
        batch.add_column(sa.Column("raw_hash", sa.String(64), nullable=True))
    op.create_index(
        "ix_rejected_records_connector_hash", "rejected_records", ["connector", "raw_hash"]
    )


def downgrade() -> None:
    op.drop_index("ix_rejected_records_connector_hash", "rejected_records")
    with op.batch_alter_table("rejected_records") as batch:
        batch.drop_column("raw_hash")
        batch.drop_column("kind")
        batch.drop_column("run_id")
        batch.drop_column("connector")
    op.drop_index("ix_record_lineage_connector", "record_lineage")
    op.drop_table("record_lineage")
    op.drop_table("connector_state")
    op.drop_index("ix_sync_runs_connector", "sync_runs")
    op.drop_table("sync_runs")
