"""RecordStore: the one interface to the records table, the same on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from hub import feed
from hub.store.engine import create_store_engine, ping
from hub.store.errors import VersionConflict
from hub.store.tables import RecordRow, RejectedRow
from schema.record import Record, RecordError

# Upserts go in slices so one statement stays under SQLite's bound-parameter limit.
_BATCH = 500
# feed entries read per query when catching up on a kind's changes
_FEED_CHUNK = 5000


@dataclass
class IngestReport:
    accepted: int = 0
    rejected: int = 0
    errors: list[str] = field(default_factory=list)


def _dumps(item: Any) -> str:
    return json.dumps(item, ensure_ascii=False, default=str)


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset: everything is written in UTC and read back as UTC.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


# A row of select(RecordRow) on a Connection carries RecordRow's columns by name; SQLAlchemy's
# types describe a Session's result (the entity), hence arg-type ignores where rows come in.
def _to_record(row: RecordRow) -> Record:
    return Record.model_construct(
        kind=row.kind,
        key=row.key,
        source_system=row.source_system,
        source_id=row.source_id,
        fetched_at=_utc(row.fetched_at),
        ingested_at=_utc(row.ingested_at),
        attrs=row.attrs,
        geometry=row.geometry,
        datum=row.datum,
        version=row.version,
    )


class RecordStore:
    """Records with provenance. Backed by whatever SQLAlchemy engine the URL names."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> RecordStore:
        return cls(create_store_engine(url))

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def ping(self) -> None:
        ping(self.engine)

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from hub.store.migrate import upgrade

        upgrade(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    # -- writing -------------------------------------------------------------------------

    def upsert(self, records: Iterable[Record]) -> int:
        """Insert or replace records by (kind, key); returns how many were written."""
        now = datetime.now(UTC)
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        # One row per (kind, key), the last given winning, in key order: concurrent writers
        # then take row locks in the same order (no deadlock between workers on PostgreSQL),
        # and no statement touches a row twice.
        latest = {(r.kind, r.key): r for r in records}
        written = 0
        batch: list[dict[str, Any]] = []
        with self.engine.begin() as conn:
            for _, record in sorted(latest.items(), key=lambda item: item[0]):
                batch.append(self._row(record, now))
                if len(batch) >= _BATCH:
                    written += self._write(conn, insert, batch)
                    batch = []
            if batch:
                written += self._write(conn, insert, batch)
            # last, so the feed's lock (PostgreSQL) is held for the commit only
            feed.append_many(
                conn, ({"topic": "record", "kind": k, "key": key} for k, key in sorted(latest))
            )
        return written

    @staticmethod
    def _row(record: Record, now: datetime) -> dict[str, Any]:
        return {
            "kind": record.kind,
            "key": record.key,
            "source_system": record.source_system,
            "source_id": record.source_id,
            "fetched_at": _utc(record.fetched_at),
            "ingested_at": _utc(record.ingested_at or now),
            "attrs": record.attrs,
            "geometry": record.geometry,
            "datum": record.datum,
        }

    @staticmethod
    def _write(conn: Any, insert: Any, rows: list[dict[str, Any]]) -> int:
        stmt = insert(RecordRow).values(rows)
        updated: dict[str, Any] = {c: stmt.excluded[c] for c in rows[0] if c not in ("kind", "key")}
        updated["version"] = RecordRow.version + 1  # every write of a row is a new version
        conn.execute(stmt.on_conflict_do_update(index_elements=["kind", "key"], set_=updated))
        return len(rows)

    def write_versioned(
        self,
        records: Sequence[Record],
        *,
        events: Sequence[dict[str, Any]] = (),
        within: Sequence[Callable[[Connection], None]] = (),
    ) -> list[Record]:
        """Write each record only if the stored row is still the version it carries (the
        version it was read at; ``None``: the row must not exist yet) — all of them in one
        transaction, or none and :class:`VersionConflict`. Returns them as stored, each with
        its new version, in the order given (each (kind, key) once). ``events`` are feed
        entries (``hub.feed.append_many``'s dicts: a workflow step's) appended in the same
        transaction, after the records' own; ``within``: more writes of that transaction (a
        filing's idempotency key and answer), run after the records (one that raises rolls
        the whole write back).

        The check is in the write itself (``UPDATE ... WHERE version = :expected``, an insert
        that does nothing on an existing key), so of two workers' read-modify-writes of one
        row exactly one succeeds: on PostgreSQL the second UPDATE waits for the first's row
        lock and re-checks the condition against the committed row; SQLite runs one writer
        at a time."""
        now = datetime.now(UTC)
        insert = postgresql.insert if self.dialect == "postgresql" else sqlite.insert
        stored: dict[tuple[str, str], Record] = {}
        with self.engine.begin() as conn:
            # key order, as in ``upsert``: two multi-row writes lock rows in the same order
            for record in sorted(records, key=lambda r: (r.kind, r.key)):
                row = self._row(record, now)
                stmt: Any
                if record.version is None:
                    stmt = insert(RecordRow).values({**row, "version": 1})
                    stmt = stmt.on_conflict_do_nothing()
                else:
                    stmt = (
                        update(RecordRow)
                        .where(
                            RecordRow.kind == record.kind,
                            RecordRow.key == record.key,
                            RecordRow.version == record.version,
                        )
                        .values(
                            {c: v for c, v in row.items() if c not in ("kind", "key")}
                            | {"version": RecordRow.version + 1}
                        )
                    )
                # RETURNING says whether the row was written (psycopg's rowcount of an
                # INSERT ... ON CONFLICT DO NOTHING is -1)
                written = conn.execute(stmt.returning(RecordRow.version)).scalar()
                if written is None:
                    now_at = conn.execute(
                        select(RecordRow.version).where(
                            RecordRow.kind == record.kind, RecordRow.key == record.key
                        )
                    ).scalar()
                    raise VersionConflict(record.kind, record.key, record.version, now_at)
                stored[(record.kind, record.key)] = record.model_copy(
                    update={"ingested_at": row["ingested_at"], "version": written}
                )
            for write in within:
                write(conn)
            # last, as in ``upsert``: the feed's lock (PostgreSQL) is held for the commit only
            feed.append_many(
                conn,
                [
                    *({"topic": "record", "kind": kind, "key": key} for kind, key in stored),
                    *events,
                ],
            )
        return [stored[(r.kind, r.key)] for r in records]

    def ingest(self, items: Iterable[Any], *, source_system: str) -> IngestReport:
        """Validate raw items (JSON text or decoded objects) and store the good ones.

        A malformed item is kept verbatim in ``rejected_records`` with its reason, so a bad
        line never costs the good ones around it, nor itself.
        """
        report = IngestReport()
        good: list[Record] = []
        rejected: list[dict[str, Any]] = []
        now = datetime.now(UTC)
        for number, item in enumerate(items, start=1):
            raw = (
                item if isinstance(item, str) else json.dumps(item, ensure_ascii=False, default=str)
            )
            try:
                data = json.loads(item) if isinstance(item, str) else item
                good.append(Record.parse(data))
            except json.JSONDecodeError as exc:
                reason = f"item {number}: not valid JSON ({exc})"
            except RecordError as exc:
                reason = f"item {number}: {exc}"
            else:
                continue
            report.errors.append(reason)
            rejected.append(
                {"source_system": source_system, "raw": raw, "reason": reason, "received_at": now}
            )
        report.accepted = self.upsert(good)
        report.rejected = len(rejected)
        if rejected:
            with self.engine.begin() as conn:
                conn.execute(RejectedRow.__table__.insert(), rejected)
        return report

    # -- reading -------------------------------------------------------------------------

    def get(self, kind: str, key: str) -> Record | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(RecordRow).where(RecordRow.kind == kind, RecordRow.key == key)
            ).first()
        return _to_record(row) if row else None  # type: ignore[arg-type]

    def get_many(self, kind: str, keys: Sequence[str]) -> dict[str, Record]:
        found: dict[str, Record] = {}
        wanted = list(dict.fromkeys(keys))
        with self.engine.connect() as conn:
            for start in range(0, len(wanted), _BATCH):
                rows = conn.execute(
                    select(RecordRow).where(
                        RecordRow.kind == kind, RecordRow.key.in_(wanted[start : start + _BATCH])
                    )
                )
                for row in rows:
                    found[row.key] = _to_record(row)  # type: ignore[arg-type]
        return found

    def page(
        self,
        kind: str,
        *,
        after: str | None = None,
        before: str | None = None,
        limit: int = 100,
        from_end: bool = False,
    ) -> list[Record]:
        """Records of a kind in key order, between the cursors (keyset pagination).

        ``from_end`` takes the last ``limit`` of the range instead of the first.
        """
        query = select(RecordRow).where(RecordRow.kind == kind)
        if after is not None:
            query = query.where(RecordRow.key > after)
        if before is not None:
            query = query.where(RecordRow.key < before)
        order = RecordRow.key.desc() if from_end else RecordRow.key.asc()
        with self.engine.connect() as conn:
            rows = list(conn.execute(query.order_by(order).limit(limit)))
        if from_end:
            rows.reverse()
        return [_to_record(row) for row in rows]  # type: ignore[arg-type]

    def changed_since(self, kind: str, seq: int | None) -> tuple[list[Record], int]:
        """Records of ``kind`` written (by any worker) after position ``seq`` of the change
        feed (every record of the kind when None), as stored now, in the order they were
        written; and the position to pass next. By the feed's sequence, never by time: rows
        commit out of timestamp order, and a catch-up by time skipped them for good."""
        # the head first: everything up to it has committed (the feed's sequence order is
        # commit order), so what is read after it is at least that new
        top = feed.head(self.engine)
        if seq is None:
            return list(self.scan(kind)), top
        keys: dict[str, None] = {}
        while True:
            entries = feed.read_after(
                self.engine, seq, limit=_FEED_CHUNK, topics=["record"], kinds=[kind]
            )
            for entry in entries:
                keys.pop(entry.key or "", None)  # written again: ordered by its last write
                keys[entry.key or ""] = None
            if len(entries) < _FEED_CHUNK:
                break
            seq = entries[-1].seq
        found = self.get_many(kind, list(keys))
        position = max(top, seq, entries[-1].seq if entries else 0)
        return [found[k] for k in keys if k in found], position

    def scan(self, kind: str, *, chunk: int = 1000) -> Iterator[Record]:
        """Every stored record of ``kind`` in key order, read ``chunk`` rows at a time."""
        after: str | None = None
        while True:
            rows = self.page(kind, after=after, limit=chunk)
            yield from rows
            if len(rows) < chunk:
                return
            after = rows[-1].key

    def any_from(self, kind: str, key: str, *, forward: bool) -> bool:
        """Whether any record of kind has a key at or past ``key`` (forward) or at or before it."""
        query = select(RecordRow.key).where(
            RecordRow.kind == kind, RecordRow.key >= key if forward else RecordRow.key <= key
        )
        with self.engine.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def count(self, kind: str | None = None) -> int:
        query = select(func.count()).select_from(RecordRow)
        if kind is not None:
            query = query.where(RecordRow.kind == kind)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def counts(self) -> dict[str, int]:
        query = select(RecordRow.kind, func.count()).group_by(RecordRow.kind)
        with self.engine.connect() as conn:
            return {kind: int(n) for kind, n in conn.execute(query)}

    def rejected(self, source_system: str | None = None) -> list[tuple[str, str]]:
        """(raw, reason) of rejected input, oldest first."""
        query = select(RejectedRow.raw, RejectedRow.reason).order_by(RejectedRow.id)
        if source_system is not None:
            query = query.where(RejectedRow.source_system == source_system)
        with self.engine.connect() as conn:
            return [(raw, reason) for raw, reason in conn.execute(query)]
