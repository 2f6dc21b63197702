"""Sync connectors into the store.

* **Idempotent**: each record's content (source ids, attributes, geometry — not the fetch
  time) is hashed; a record whose hash is unchanged is not written, so a second sync of an
  unchanged source writes nothing and ``ingested_at`` stays as it was.
* **Lineage**: ``record_lineage`` says which connector and which run first wrote and last
  changed each record; ``sync_runs`` holds every run's counts.
* **Quarantine**: a row that cannot become a valid record (missing required field, bad
  credit code, coordinates outside the district, malformed value) goes to
  ``rejected_records`` verbatim with the reason, connector and run — once per distinct row.
* **Isolation**: a source that is down (or fails in any way) fails only its own run, with a
  clear status in ``connector_state``; the other connectors go on.
* **Incremental**: each stream's cursor (updated-at, file hashes, delivery sequence) is kept
  in ``connector_state`` and handed back to the transport on the next run.
* **Deadlines**: every call to a source (the health check, each page) has an overall deadline,
  and each run one more: a source that trickles a byte at a time (under any read timeout)
  fails its own run as ``down``, never holds the others (each runs under its own deadlines).
* **No run left "running"**: a run holds a lease (``run:<id>`` in ``sync_lease``) renewed
  while it goes on; at the start of every run, runs still "running" whose lease ran out (their
  process was killed) are marked failed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from connectors.connector import Connector
from connectors.errors import ConnectorError, MappingError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.validate import RecordValidator
from hub import feed
from hub.ingest.lease import Lease, live_names
from hub.ingest.merge import merge, merged_kinds, owned, workflows
from hub.ingest.tables import connector_state, quarantine, record_lineage, sync_lease, sync_runs
from hub.store import RecordStore
from hub.store.records import _to_record as to_record  # a row read in this transaction
from hub.store.tables import RecordRow
from schema.record import Record

_BATCH = 500
CALL_TIMEOUT_S = 120.0  # one call to a source (one page): above transports' own 60 s waits
RUN_TIMEOUT_S = 1800.0  # one connector's whole run
RUN_LEASE_S = 30.0  # a run's lease; renewed every third of it while the run goes on
ABANDONED = "abandoned: the process running it stopped before it finished"

Progress = Callable[[str, int], None]
"""progress(connector id, rows read so far)"""


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def content_hash(record: Record) -> str:
    body = _dumps(
        [record.source_system, record.source_id, record.attrs, record.geometry, record.datum]
    )
    return hashlib.sha256(body.encode()).hexdigest()


@dataclass
class RunReport:
    connector: str
    run_id: int = 0
    status: str = "running"  # ok / down / failed
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    quarantined: int = 0
    latency_ms: float | None = None
    duration_ms: float = 0.0
    error: str | None = None
    reasons: list[str] = field(default_factory=list)  # the first few quarantine reasons

    @property
    def changed(self) -> int:
        return self.inserted + self.updated

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class _Reject:
    raw: str
    reason: str
    kind: str | None


class SyncEngine:
    def __init__(
        self,
        store: RecordStore,
        validator: RecordValidator | None = None,
        *,
        concurrency: int = 4,
        call_timeout_s: float = CALL_TIMEOUT_S,
        run_timeout_s: float = RUN_TIMEOUT_S,
        run_lease_s: float = RUN_LEASE_S,
    ) -> None:
        self.store = store
        self.validator = validator or RecordValidator()
        self.concurrency = concurrency
        self.call_timeout_s = call_timeout_s
        self.run_timeout_s = run_timeout_s
        self.run_lease_s = run_lease_s
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._write_lock = asyncio.Lock()

    # -- running -------------------------------------------------------------------------

    async def sync_all(
        self,
        connectors: Sequence[Connector],
        progress: Progress | None = None,
        done: Callable[[RunReport], None] | None = None,
    ) -> list[RunReport]:
        gate = asyncio.Semaphore(self.concurrency)
        # Connectors on one MQTT broker go one after another: a pull holds a subscription for
        # every retained state, and the in-process broker copes badly with parallel sessions.
        brokers: dict[str, asyncio.Lock] = {}

        async def one(connector: Connector) -> RunReport:
            broker = brokers.setdefault(connector.transport.describe().split()[0], asyncio.Lock())
            serial = broker if connector.transport.protocol == "mqtt" else contextlib.nullcontext()
            async with serial, gate:
                report = await self.sync(connector, progress)
            if done is not None:
                done(report)
            return report

        return list(await asyncio.gather(*(one(c) for c in connectors)))

    async def sync(self, connector: Connector, progress: Progress | None = None) -> RunReport:
        """One run of one connector. Never raises for a source's failure: see the report."""
        start = time.perf_counter()
        report = RunReport(connector.id)
        report.run_id = await asyncio.to_thread(self._start_run, connector.id)
        lease = Lease(self.store.engine, f"run:{report.run_id}", self.holder)
        renewing = asyncio.create_task(lease.renew_every(self.run_lease_s / 3, self.run_lease_s))
        try:
            state = await asyncio.to_thread(self.state, connector.id)
            cursors: dict[str, Any] = dict((state or {}).get("cursor") or {})
            await self._run(connector, report, cursors, progress)
        finally:
            renewing.cancel()
        report.duration_ms = round((time.perf_counter() - start) * 1000, 1)
        await asyncio.to_thread(self._finish_run, report, cursors)
        return report

    async def _run(
        self,
        connector: Connector,
        report: RunReport,
        cursors: dict[str, Any],
        progress: Progress | None,
    ) -> None:
        # wait_for, not asyncio.timeout: on Python 3.11 a timeout that fires as the awaited
        # call completes leaves its cancellation pending, to hit the next await instead
        began = time.monotonic()
        try:
            await asyncio.wait_for(
                self._steps(connector, report, cursors, progress), self.run_timeout_s
            )
            report.status = "ok"
        except TimeoutError as exc:
            if time.monotonic() - began < self.run_timeout_s:  # a transport's own timeout
                report.status, report.error = "failed", f"TimeoutError: {exc}"
            else:
                report.status = "down"
                report.error = f"the run passed its {self.run_timeout_s:g} s deadline"
        except SourceUnavailable as exc:
            report.status, report.error = "down", str(exc)
        except ConnectorError as exc:
            report.status, report.error = "failed", str(exc)
        except Exception as exc:  # a connector bug must not stop the others
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"

    async def _steps(
        self,
        connector: Connector,
        report: RunReport,
        cursors: dict[str, Any],
        progress: Progress | None,
    ) -> None:
        call_s = self.call_timeout_s
        health = await connector.health(min(5.0, call_s))
        report.latency_ms = health.latency_ms
        if health.status == "down":
            raise SourceUnavailable(health.error or "down")
        described = connector.descriptor.as_record(datetime.now(UTC), connector.kinds)
        await self._store(report, connector.id, [described], [])
        for mapping in connector.mappings:
            name = f"{mapping.kind}:{mapping.stream}"
            cursor = cursors.get(name)
            pages = aiter(connector.pull(mapping, cursor))
            while True:
                try:
                    page = await asyncio.wait_for(anext(pages), call_s)
                except StopAsyncIteration:
                    break
                except TimeoutError:
                    raise SourceUnavailable(
                        f"{mapping.stream}: no page within the {call_s:g} s deadline"
                    ) from None
                await self._take(report, connector.id, mapping, page.rows)
                cursor = page.cursor if page.cursor is not None else cursor
                if progress is not None:
                    progress(connector.id, report.fetched)
            cursors[name] = cursor

    async def push(
        self,
        connector: Connector,
        rows: Sequence[Any],
        stream: str | None = None,
        cursor: Any = None,
    ) -> RunReport:
        """Rows a source pushed (a signed webhook delivery): mapped, validated, stored or
        quarantined exactly as a pull's, recorded as a run of their own. ``stream`` names the
        mapping when the connector has several; ``cursor`` (a standing subscription's
        delivery sequence) is kept as the stream's cursor when the rows are stored."""
        start = time.perf_counter()
        report = RunReport(connector.id)
        mappings = [m for m in connector.mappings if stream in (None, m.stream)]
        if not mappings or (stream is None and len(mappings) > 1):
            raise ConnectorError(
                f"{connector.id}: name the stream, one of "
                + ", ".join(m.stream for m in connector.mappings)
            )
        report.run_id = await asyncio.to_thread(self._start_run, connector.id)
        state = await asyncio.to_thread(self.state, connector.id)
        try:
            await self._take(report, connector.id, mappings[0], rows)
            report.status = "ok"
        except Exception as exc:  # recorded on the run; the sender gets an error answer
            report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
        report.duration_ms = round((time.perf_counter() - start) * 1000, 1)
        cursors = dict((state or {}).get("cursor") or {})
        if cursor is not None and report.status == "ok":
            cursors[f"{mappings[0].kind}:{mappings[0].stream}"] = cursor
        await asyncio.to_thread(self._finish_run, report, cursors)
        return report

    async def _take(
        self, report: RunReport, connector: str, mapping: KindMapping, rows: Sequence[Any]
    ) -> None:
        """One page of source rows: mapped and validated, stored, the bad ones quarantined."""
        fetched_at = datetime.now(UTC)
        records: list[Record] = []
        rejects: list[_Reject] = []
        updated: dict[tuple[str, str], datetime] = {}  # each row's update time in its source
        for row in rows:
            try:
                record = mapping.to_record(row, connector, fetched_at)
            except MappingError as exc:
                rejects.append(_Reject(_dumps(row), str(exc), mapping.kind))
                continue
            reason = self.validator.reason(record)
            if reason is not None:
                rejects.append(_Reject(_dumps(row), reason, mapping.kind))
            else:
                records.append(record)
                if (at := mapping.row_time(row)) is not None:
                    updated[(record.kind, record.key)] = at
        report.fetched += len(rows)
        await self._store(report, connector, records, rejects, updated)

    async def _store(
        self,
        report: RunReport,
        connector: str,
        records: list[Record],
        rejects: list[_Reject],
        updated: Mapping[tuple[str, str], datetime] | None = None,
    ) -> None:
        async with self._write_lock:
            await asyncio.to_thread(self._apply, report, connector, records, rejects, updated or {})

    # -- writing -------------------------------------------------------------------------

    def _insert(self) -> Any:
        return postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert

    def _start_run(self, connector: str) -> int:
        """A new run, holding its lease from the start (so no live run is ever without one);
        runs whose lease ran out while "running" are marked failed first."""
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            self._fail_abandoned(conn, now)
            run_id = int(
                conn.execute(
                    insert(sync_runs)
                    .values(connector=connector, started_at=now, status="running")
                    .returning(sync_runs.c.id)
                ).scalar_one()
            )
            conn.execute(
                insert(sync_lease).values(
                    name=f"run:{run_id}",
                    holder=self.holder,
                    expires_at=now + timedelta(seconds=self.run_lease_s),
                )
            )
            return run_id

    @staticmethod
    def _fail_abandoned(conn: Connection, now: datetime) -> list[int]:
        running = list(
            conn.execute(select(sync_runs.c.id).where(sync_runs.c.status == "running")).scalars()
        )
        alive = live_names(conn, [f"run:{i}" for i in running], now)
        gone = [i for i in running if f"run:{i}" not in alive]
        if gone:
            conn.execute(
                update(sync_runs)
                .where(sync_runs.c.id.in_(gone), sync_runs.c.status == "running")
                .values(status="failed", finished_at=now, error=ABANDONED)
            )
            conn.execute(
                delete(sync_lease).where(sync_lease.c.name.in_([f"run:{i}" for i in gone]))
            )
        return gone

    def fail_abandoned(self) -> list[int]:
        """Mark failed the runs left "running" by a process that stopped (at start-up)."""
        with self.store.engine.begin() as conn:
            return self._fail_abandoned(conn, datetime.now(UTC))

    def _apply(
        self,
        report: RunReport,
        connector: str,
        records: list[Record],
        rejects: list[_Reject],
        updated: Mapping[tuple[str, str], datetime],
    ) -> None:
        latest: dict[tuple[str, str], Record] = {}
        for record in records:
            if (record.kind, record.key) in latest:
                report.duplicates += 1
            latest[(record.kind, record.key)] = record
        now = datetime.now(UTC)
        digests = {ident: content_hash(record) for ident, record in latest.items()}
        kinds = merged_kinds()
        with self.store.engine.begin() as conn:
            if self.store.dialect == "sqlite" and any(kind in kinds for kind, _ in latest):
                # the write lock before the merge reads the cases (SQLite's driver begins only
                # at the first write): a step cannot commit between the read and the write
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            known = self._known_hashes(conn, latest)
            # the stored workflow objects this page changes (the hub may have acted on them;
            # one with no lineage was stored another way, e.g. the demo's load)
            changing = (i for i in latest if i[0] in kinds and known.get(i, ("",))[0] != digests[i])
            acted = self._acted_on(conn, sorted(changing))
            rows: list[dict[str, Any]] = []
            lineage: list[dict[str, Any]] = []
            # key order: concurrent writers take row locks in one order (no deadlocks)
            for ident, record in sorted(latest.items(), key=lambda item: item[0]):
                digest = digests[ident]
                before = known.get(ident)
                if before is not None and before[0] == digest:
                    report.unchanged += 1
                    continue
                if before is None:
                    report.inserted += 1
                else:
                    report.updated += 1
                if ident in acted:  # the hub acts on it: its steps' work is kept
                    record = merge(acted[ident], record, updated.get(ident), now)
                rows.append(_record_row(record, now))
                lineage.append(
                    {
                        "kind": record.kind,
                        "key": record.key,
                        "connector": connector,
                        "source_id": record.source_id,
                        "content_hash": digest,
                        "first_run_id": before[1] if before else report.run_id,
                        "last_run_id": report.run_id,
                        "changed_at": now,
                    }
                )
            insert_ = self._insert()
            for start in range(0, len(rows), _BATCH):
                chunk = rows[start : start + _BATCH]
                stmt = insert_(RecordRow).values(chunk)
                written = {c: stmt.excluded[c] for c in chunk[0] if c not in ("kind", "key")}
                # every write of a row is a new version: a step read before it is stale
                written["version"] = RecordRow.version + 1
                conn.execute(
                    stmt.on_conflict_do_update(index_elements=["kind", "key"], set_=written)
                )
                lchunk = lineage[start : start + _BATCH]
                lstmt = insert_(record_lineage).values(lchunk)
                conn.execute(
                    lstmt.on_conflict_do_update(
                        index_elements=["kind", "key"],
                        set_={c: lstmt.excluded[c] for c in lchunk[0] if c not in ("kind", "key")},
                    )
                )
            self._quarantine(conn, report, connector, rejects, now)
            # the records this run changed, on the change feed (the graph, search and every
            # worker's read models follow it); last, so the feed's lock is held for the commit
            feed.append_many(
                conn, ({"topic": "record", "kind": r["kind"], "key": r["key"]} for r in rows)
            )

    def _acted_on(
        self, conn: Connection, wanted: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], Record]:
        """The stored workflow objects among ``wanted`` the hub has acted on, read in the
        write's transaction (on PostgreSQL locked: a step racing the sync waits, then finds
        its version stale, and a step before it is what the merge reads)."""
        found: dict[tuple[str, str], Record] = {}
        by_kind: dict[str, list[str]] = {}
        for kind, key in wanted:
            by_kind.setdefault(kind, []).append(key)
        for kind, keys in by_kind.items():
            for start in range(0, len(keys), _BATCH):
                query = select(RecordRow).where(
                    RecordRow.kind == kind, RecordRow.key.in_(keys[start : start + _BATCH])
                )
                if self.store.dialect == "postgresql":
                    query = query.with_for_update()
                for row in conn.execute(query):
                    record = to_record(row)  # type: ignore[arg-type]
                    workflow = workflows()[kind]
                    if owned(workflow, record.attrs):
                        found[(kind, record.key)] = record
        return found

    @staticmethod
    def _known_hashes(
        conn: Connection, wanted: Iterable[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[str, int]]:
        by_kind: dict[str, list[str]] = {}
        for kind, key in wanted:
            by_kind.setdefault(kind, []).append(key)
        found: dict[tuple[str, str], tuple[str, int]] = {}
        for kind, keys in by_kind.items():
            for start in range(0, len(keys), _BATCH):
                query = select(
                    record_lineage.c.key,
                    record_lineage.c.content_hash,
                    record_lineage.c.first_run_id,
                ).where(
                    record_lineage.c.kind == kind,
                    record_lineage.c.key.in_(keys[start : start + _BATCH]),
                )
                for key, digest, first in conn.execute(query):
                    found[(kind, key)] = (digest, first)
        return found

    @staticmethod
    def _quarantine(
        conn: Connection,
        report: RunReport,
        connector: str,
        rejects: list[_Reject],
        now: datetime,
    ) -> None:
        if not rejects:
            return
        fresh: dict[str, _Reject] = {}
        for reject in rejects:
            digest = hashlib.sha256(f"{reject.reason}\n{reject.raw}".encode()).hexdigest()
            fresh.setdefault(digest, reject)
        seen = set(
            conn.execute(
                select(quarantine.c.raw_hash).where(
                    quarantine.c.connector == connector,
                    quarantine.c.raw_hash.in_(list(fresh)),
                )
            ).scalars()
        )
        new = [
            {
                "source_system": connector,
                "connector": connector,
                "run_id": report.run_id,
                "kind": reject.kind,
                "raw": reject.raw,
                "reason": reject.reason,
                "raw_hash": digest,
                "received_at": now,
            }
            for digest, reject in fresh.items()
            if digest not in seen
        ]
        report.quarantined += len(rejects)
        for reject in rejects:
            if len(report.reasons) < 5:
                report.reasons.append(reject.reason)
        if new:
            conn.execute(insert(quarantine), new)

    def _finish_run(self, report: RunReport, cursors: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            conn.execute(delete(sync_lease).where(sync_lease.c.name == f"run:{report.run_id}"))
            conn.execute(
                update(sync_runs)
                .where(sync_runs.c.id == report.run_id)
                .values(
                    finished_at=now,
                    status=report.status,
                    fetched=report.fetched,
                    inserted=report.inserted,
                    updated=report.updated,
                    unchanged=report.unchanged,
                    duplicates=report.duplicates,
                    quarantined=report.quarantined,
                    latency_ms=report.latency_ms,
                    duration_ms=report.duration_ms,
                    error=report.error,
                )
            )
            values: dict[str, Any] = {
                "cursor": cursors,
                "status": report.status,
                "last_run_id": report.run_id,
                "last_attempt_at": now,
                "last_error": report.error,
                "latency_ms": report.latency_ms,
                "duration_ms": report.duration_ms,
            }
            if report.status == "ok":
                values["last_success_at"] = now
            stmt = self._insert()(connector_state).values(connector=report.connector, **values)
            conn.execute(stmt.on_conflict_do_update(index_elements=["connector"], set_=values))

    # -- reading -------------------------------------------------------------------------

    def state(self, connector: str) -> dict[str, Any] | None:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(connector_state).where(connector_state.c.connector == connector)
            ).first()
        return dict(row._mapping) if row else None


def _record_row(record: Record, now: datetime) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "key": record.key,
        "source_system": record.source_system,
        "source_id": record.source_id,
        "fetched_at": record.fetched_at.astimezone(UTC),
        "ingested_at": now,
        "attrs": record.attrs,
        "geometry": record.geometry,
        "datum": record.datum,
    }
