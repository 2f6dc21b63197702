"""readings' layout for ingest: the idempotency index of device_readings holds only the
readings sent with a readingId (partial); the others, nearly all, are no longer written into
a second index at every device's pages

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ux_device_readings_idempotency"
COLUMNS = ["device_id", "idempotency_key"]
KEYED = sa.text("idempotency_key IS NOT NULL")


def upgrade() -> None:
    op.drop_index(INDEX, "device_readings")
    op.create_index(
        INDEX,
        "device_readings",
        COLUMNS,
        unique=True,
        sqlite_where=KEYED,
        postgresql_where=KEYED,
    )


def downgrade() -> None:
    op.drop_index(INDEX, "device_readings")
    op.create_index(INDEX, "device_readings", COLUMNS, unique=True)
