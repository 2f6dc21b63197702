"""Tables of ingestion (migrations 0002, 0005): runs, connector state, lineage, quarantine,
and the lease that lets one hub worker at a time run the scheduled syncs."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects.postgresql import JSONB

JsonType = JSON().with_variant(JSONB(), "postgresql")
metadata = MetaData()
When = DateTime(timezone=True)

sync_runs = Table(
    "sync_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("connector", String(64), nullable=False),
    Column("started_at", When, nullable=False),
    Column("finished_at", When),
    Column("status", String(16), nullable=False),
    Column("fetched", Integer, nullable=False, default=0),
    Column("inserted", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("duplicates", Integer, nullable=False, default=0),
    Column("quarantined", Integer, nullable=False, default=0),
    Column("latency_ms", Float),
    Column("duration_ms", Float),
    Column("error", Text),
)

connector_state = Table(
    "connector_state",
    metadata,
    Column("connector", String(64), primary_key=True),
    Column("cursor", JsonType),
    Column("status", String(16), nullable=False),
    Column("last_run_id", Integer),
    Column("last_attempt_at", When),
    Column("last_success_at", When),
    Column("last_error", Text),
    Column("latency_ms", Float),
    Column("duration_ms", Float),
)

record_lineage = Table(
    "record_lineage",
    metadata,
    Column("kind", String(64), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("connector", String(64), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("first_run_id", Integer, nullable=False),
    Column("last_run_id", Integer, nullable=False),
    Column("changed_at", When, nullable=False),
)

quarantine = Table(
    "rejected_records",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source_system", String(64), nullable=False),
    Column("raw", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("received_at", When, nullable=False),
    Column("connector", String(64)),
    Column("run_id", Integer),
    Column("kind", String(64)),
    Column("raw_hash", String(64)),
)

sync_lease = Table(
    "sync_lease",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", When, nullable=False),
)

# (migration 0006) webhook delivery ids already taken, per system: a replay inside the
# signature's time window is refused; rows older than the window are pruned
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("system", String(64), primary_key=True),
    Column("delivery_id", String(128), primary_key=True),
    Column("seen_at", When, nullable=False, index=True),
)
