"""SQLAlchemy tables of the store. Alembic migrations (hub/store/migrations) create them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from schema.record import Datum

JsonType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    # every mapping here is of one Table (DeclarativeBase types it as any FromClause)
    __table__: ClassVar[Table]


class RecordRow(Base):
    __tablename__ = "records"
    __table_args__ = (
        # The hub key is the identity; a source id is looked up, not enforced unique, since
        # entity resolution may map one source record's history onto a new key.
        Index("ix_records_source", "source_system", "source_id"),
    )

    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    source_system: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    fetched_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ingested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    attrs: Mapped[dict[str, Any]] = mapped_column(JsonType)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    datum: Mapped[Datum | None] = mapped_column(String(16), nullable=True)  # from a Record
    # (migration 0007) bumped by every write of the row: a workflow step names the version it
    # acts on, and a stale one is a conflict, not a lost update
    version: Mapped[int] = mapped_column(Integer, server_default="1", default=1)


class RejectedRow(Base):
    """Input that failed validation, kept verbatim so nothing a source sent is lost."""

    __tablename__ = "rejected_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source_system: Mapped[str] = mapped_column(String(64), index=True)
    raw: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


Seq = BigInteger().with_variant(Integer(), "sqlite")


class FeedRow(Base):
    """The change feed (migration 0007): every write appends here in its own transaction, in
    commit order; workers follow it by ``seq`` (never by time) to refresh their read models."""

    __tablename__ = "change_feed"
    __table_args__ = (Index("ix_change_feed_topic_seq", "topic", "seq"),)

    seq: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    topic: Mapped[str] = mapped_column(String(64))  # "record", "reading", "case.step", ...
    kind: Mapped[str | None] = mapped_column(String(64), nullable=True)
    key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    op: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)


class DeviceStateRow(Base):
    """The latest state of each device (tank, vehicle, station, pump, gate, camera), as the
    hub last accepted it (migration 0007)."""

    __tablename__ = "device_state"
    __table_args__ = (Index("ix_device_state_kind", "kind", "device_id"),)

    device_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[dict[str, Any]] = mapped_column(JsonType)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class DeviceReadingRow(Base):
    """Every accepted reading, as a time series (migration 0007; a BRIN index on ``at`` on
    PostgreSQL)."""

    __tablename__ = "device_readings"
    __table_args__ = (
        Index("ix_device_readings_device_at", "device_id", "at"),
        # only the readings sent with a readingId (migration 0008): the rest never conflict
        Index(
            "ux_device_readings_idempotency",
            "device_id",
            "idempotency_key",
            unique=True,
            sqlite_where=text("idempotency_key IS NOT NULL"),
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Seq, primary_key=True, autoincrement=True)
    device_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    values: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), nullable=True)


class IdempotencyRow(Base):
    """A write's idempotency key and its answer (migration 0007): a client's retry of the same
    key gets the first answer, never a second row."""

    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    principal: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonType, nullable=True)
