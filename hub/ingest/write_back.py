"""Write-back: the hub tells the source systems that take it (``ConnectorSpec.write_back``: the
hotline, the mailbox) each status change its workflow steps make on their cases.

One worker at a time does it (lease ``write-back``). It follows the change feed's step entries
(``*.step``) of the workflow kinds the hub may own (:func:`hub.ingest.merge.workflows`): a
step that changed the state of a case that came from such a system puts the case's status,
in the source's own words (the workflow's labels), the step's time and the step's public note
(what a tracking number's holder is told: never the staff's note, nothing personal) in that
system's queue; a later step of the same case replaces it (the source wants the case's status,
not every hop). Each system's feed position and queue are kept in ``connector_state`` under
``<system>:write-back``, so a restart resumes where it stood, and ``cityhub sources`` shows it.

A system that is down (unreachable, 5xx) is tried again after a growing pause (``first_s``,
doubling, at most ``max_s``), up to ``attempts`` times; every failed attempt is an error entry
in the system's runs (``sync_runs``, status ``down``) and the queue's ``last_error``. A system
that refuses a change (4xx) is not asked again; that is on record too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite

from connectors.errors import ConnectorError, SourceUnavailable
from hub import feed
from hub.ingest.lease import Lease
from hub.ingest.merge import workflows
from hub.ingest.sources import SourcesUnavailable, SourceSystems
from hub.ingest.tables import connector_state, sync_runs
from hub.store import RecordStore
from hub.workflow import Workflow
from schema.record import Record

log = logging.getLogger(__name__)

LEASE = "write-back"
STEP_TOPICS = tuple(t for t in feed.TOPICS if t.endswith(".step"))
_BATCH = 1000
SAVE_POSITION_S = 5.0  # how often a queue's feed position alone is written


def state_name(system: str) -> str:
    """The ``connector_state`` row of a system's write-back queue."""
    return f"{system}:write-back"


@dataclass
class Queue:
    """One system's write-back: the feed position taken up to, the changes not yet told
    (by the case's source id), and how the last attempt went."""

    system: str
    seq: int
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: str = "ok"
    last_error: str | None = None
    last_attempt_at: datetime | None = None
    last_success_at: datetime | None = None
    errors: list[str] = field(default_factory=list)  # this pass's, for the runs' log
    stored: str | None = None  # what the store holds of it (None: nothing yet)
    stored_seq: int = 0

    def said(self) -> str:
        """What of the queue must reach the store at once when it changes."""
        return json.dumps([self.pending, self.status, self.last_error], sort_keys=True)

    def unsaved(self, position_too: bool) -> bool:
        return self.said() != self.stored or (position_too and self.seq != self.stored_seq)


class WriteBack:
    def __init__(
        self,
        store: RecordStore,
        sources: SourceSystems,
        *,
        first_s: float = 1.0,
        max_s: float = 300.0,
        attempts: int = 10,
        poll_s: float = 0.5,
        lease_s: float = 30.0,
    ) -> None:
        self.store = store
        self.sources = sources
        self.first_s = first_s
        self.max_s = max_s
        self.attempts = attempts
        self.poll_s = poll_s
        self.lease_s = lease_s
        self.lease = Lease(
            store.engine, LEASE, f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        )
        self._held_until = 0.0
        self._saved_at = 0.0
        # the queues as this worker holds them: read from the store when it takes the lease,
        # kept here while it holds it (nobody else writes them meanwhile)
        self._queues: dict[str, Queue] | None = None

    # -- running -------------------------------------------------------------------------

    async def run(self) -> None:
        """Tell the sources, in whichever worker holds the lease, until cancelled; then give
        the lease up, so another worker (or this one restarted) takes over at once."""
        try:
            while True:
                try:
                    if self.systems() and await self._hold():
                        await self.step()
                except SourcesUnavailable:
                    pass  # no endpoints file: nobody to tell (steps wait in the feed meanwhile)
                except Exception as exc:  # a store hiccup: the next pass resumes from the store
                    self._queues = None
                    log.warning("write-back: %s", str(exc).splitlines()[0][:200])
                await asyncio.sleep(self.poll_s)
        finally:
            if self._held_until:
                with contextlib.suppress(Exception):  # the store is away: the lease expires
                    self.lease.release()

    async def _hold(self) -> bool:
        now = time.monotonic()
        if self._held_until - now > self.lease_s / 2:
            return True  # renewed recently enough: no write every pass
        if await asyncio.to_thread(self.lease.take, self.lease_s):
            if not self._held_until:
                self._queues = None  # newly held: another worker may have moved them
            self._held_until = now + self.lease_s
            return True
        self._held_until, self._queues = 0.0, None
        return False

    def systems(self) -> list[str]:
        """The systems in the endpoints file that take write-backs."""
        from connectors.binhai import SPEC_BY_ID

        listed = self.sources.endpoints().get("systems", {})
        return [s for s, spec in SPEC_BY_ID.items() if spec.write_back and s in listed]

    async def step(self) -> int:
        """One pass: the feed's new steps queued, the due changes sent; how many were told."""
        queues = await asyncio.to_thread(self._take_steps, self.systems())
        told = 0
        for queue in queues.values():
            told += await self._send(queue)
        # the position alone is kept now and then (the feed moves with every reading): after
        # a restart a few seconds of steps are read again, and telling a status twice is
        # harmless; a change of the queue is kept at once
        now = time.monotonic()
        position_too = now - self._saved_at >= SAVE_POSITION_S
        if any(q.unsaved(position_too) for q in queues.values()):
            await asyncio.to_thread(self._save, queues)
            self._saved_at = now
        return told

    # -- the feed's steps into the queues --------------------------------------------------

    def _take_steps(self, systems: Sequence[str]) -> dict[str, Queue]:
        queues = self._queues
        if queues is None or set(queues) != set(systems):
            queues = self._queues = self._load(systems)
        low = min(q.seq for q in queues.values())
        top = feed.head(self.store.engine)
        kinds = workflows()
        entries = feed.read_after(
            self.store.engine, low, limit=_BATCH, topics=STEP_TOPICS, kinds=list(kinds)
        )
        # a short read means nothing more up to the head read before it (seq is commit order)
        seen = entries[-1].seq if entries else 0
        last = seen if len(entries) >= _BATCH else max(top, low, seen)
        keys: dict[str, list[str]] = {}
        for entry in entries:
            if entry.key:
                keys.setdefault(entry.kind or "", []).append(entry.key)
        records = {
            (kind, key): record
            for kind, wanted in keys.items()
            for key, record in self.store.get_many(kind, wanted).items()
        }
        for entry in entries:
            record = records.get((entry.kind or "", entry.key or ""))
            queue = queues.get(record.source_system) if record is not None else None
            if record is None or queue is None or entry.seq <= queue.seq:
                continue
            change = told(kinds[record.kind], record, entry.op)
            if change is not None:
                queue.pending[record.source_id] = change
        for queue in queues.values():
            queue.seq = max(queue.seq, last)
        return queues

    def _load(self, systems: Sequence[str]) -> dict[str, Queue]:
        names = {state_name(s): s for s in systems}
        with self.store.engine.connect() as conn:
            rows = {
                r.connector: r
                for r in conn.execute(
                    select(connector_state).where(connector_state.c.connector.in_(list(names)))
                )
            }
        head = feed.head(self.store.engine)  # a system told nothing before: from now on
        queues: dict[str, Queue] = {}
        for name, system in names.items():
            row = rows.get(name)
            kept: dict[str, Any] = dict(row.cursor or {}) if row is not None else {}
            queue = Queue(
                system,
                int(kept.get("seq", head)),
                dict(kept.get("pending") or {}),
                row.status if row is not None else "ok",
                row.last_error if row is not None else None,
                row.last_attempt_at if row is not None else None,
                row.last_success_at if row is not None else None,
            )
            if row is not None:
                queue.stored, queue.stored_seq = queue.said(), queue.seq
            queues[system] = queue
        return queues

    # -- telling the sources -----------------------------------------------------------------

    async def _send(self, queue: Queue) -> int:
        due = [(sid, c) for sid, c in queue.pending.items() if c["next_at"] <= time.time()]
        if not due:
            return 0
        connector = self.sources.connector(queue.system)
        told = 0
        for source_id, change in due:
            queue.last_attempt_at = datetime.now(UTC)
            body = {k: change[k] for k in ("status", "at", "note")}
            try:
                await connector.write_back(source_id, body)
            except SourceUnavailable as exc:
                change["attempts"] += 1
                self._failed(queue, source_id, change, str(exc))
                break  # the system is down: the rest wait for their own next try
            except ConnectorError as exc:  # refused: asking again would not help
                change["attempts"] = self.attempts
                self._failed(queue, source_id, change, f"refused: {exc}")
                continue
            del queue.pending[source_id]
            queue.status, queue.last_error = "ok", None
            queue.last_success_at = datetime.now(UTC)
            told += 1
        return told

    def _failed(self, queue: Queue, source_id: str, change: dict[str, Any], error: str) -> None:
        n = int(change["attempts"])
        what = f"write-back of {change['key']} ({change['status']}), attempt {n}: {error}"
        if n >= self.attempts:
            del queue.pending[source_id]
            what += "; given up"
        else:
            change["next_at"] = time.time() + min(self.max_s, self.first_s * 2 ** (n - 1))
        queue.status, queue.last_error = "down", what[:1000]
        queue.errors.append(queue.last_error)
        log.warning("%s: %s", queue.system, what)

    def _save(self, queues: Mapping[str, Queue]) -> None:
        insert_ = postgresql.insert if self.store.dialect == "postgresql" else sqlite.insert
        now = datetime.now(UTC)
        with self.store.engine.begin() as conn:
            for queue in queues.values():
                values: dict[str, Any] = {
                    "cursor": {"seq": queue.seq, "pending": queue.pending},
                    "status": queue.status,
                    "last_attempt_at": queue.last_attempt_at,
                    "last_success_at": queue.last_success_at,
                    "last_error": queue.last_error,
                }
                queue.stored, queue.stored_seq = queue.said(), queue.seq
                stmt = insert_(connector_state).values(connector=state_name(queue.system), **values)
                conn.execute(stmt.on_conflict_do_update(index_elements=["connector"], set_=values))
                # each failed attempt on the system's record of runs (the sources' error log)
                if queue.errors:
                    conn.execute(
                        insert(sync_runs),
                        [
                            {
                                "connector": queue.system,
                                "started_at": now,
                                "finished_at": now,
                                "status": "down",
                                "error": error,
                            }
                            for error in queue.errors
                        ],
                    )
                queue.errors = []


def told(workflow: Workflow, record: Record, step: str) -> dict[str, Any] | None:
    """What the source is told of ``record`` after ``step``: its status now in the source's
    words, the time and public note of the step that last changed it; None after a step that
    leaves the state as it is (a duplicate merged into the case)."""
    declared = workflow.by_name.get(step)
    if declared is None or declared.to is None:
        return None
    moves = [
        e
        for e in record.attrs.get("history") or []
        if e.get("action") in workflow.by_name and e.get("from") != e.get("to")
    ]
    if not moves:
        return None
    event = moves[-1]
    public = workflow.told(event)
    return {
        "key": record.key,
        "status": workflow.labels[workflow.state_of(record.attrs)],
        "at": event.get("at"),
        "note": public.get("note"),
        "attempts": 0,
        "next_at": 0.0,
    }
