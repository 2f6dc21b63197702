"""Append-only, hash-chained audit entries in the store.

Each entry is canonical JSON (sorted keys, no whitespace) including its sequence number and
time; its hash is SHA-256 over the previous entry's hash and that JSON. ``verify`` recomputes
the chain and names the first entry that was edited, deleted, reordered or inserted. Entries
hold names of types and fields, ids and principals — never field values, so personal data
cannot reach the log unmasked.
"""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError

from hub.audit.tables import AuditRow

GENESIS = "0" * 64
MAX_IDS = 1000  # ids listed per type in one entry; the count is always exact


class ChainBroken(Exception):
    def __init__(self, seq: int, reason: str) -> None:
        super().__init__(f"audit entry {seq}: {reason}")
        self.seq = seq
        self.reason = reason


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: datetime
    action: str
    principal: str | None
    client_id: str | None
    purpose: str | None
    entry: dict[str, Any]
    hash: str


def canonical(entry: dict[str, Any]) -> str:
    return json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, entry: dict[str, Any]) -> str:
    return hashlib.sha256((prev_hash + canonical(entry)).encode()).hexdigest()


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


class AuditLog:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()

    def append(
        self,
        action: str,
        *,
        principal: str | None = None,
        client_id: str | None = None,
        purpose: str | None = None,
        types: list[str] | None = None,
        ids: dict[str, list[str]] | None = None,
        fields_masked: list[str] | None = None,
        detail: dict[str, Any] | None = None,
    ) -> AuditEntry:
        ids = ids or {}
        body: dict[str, Any] = {
            "action": action,
            "principal": principal,
            "client_id": client_id,
            "purpose": purpose,
            "types": sorted(types or ids.keys()),
            "ids": {t: sorted(v)[:MAX_IDS] for t, v in sorted(ids.items())},
            "counts": {t: len(v) for t, v in sorted(ids.items())},
            "fields_masked": sorted(fields_masked or []),
            "detail": detail or {},
        }
        # One writer per process; across processes the primary key on seq makes a racing
        # writer retry on the new head, so the chain never forks.
        with self._lock:
            for _ in range(20):
                try:
                    return self._append_once(body)
                except IntegrityError:
                    continue
        raise RuntimeError("audit log: could not append after 20 attempts")

    def _append_once(self, body: dict[str, Any]) -> AuditEntry:
        with self.engine.begin() as conn:
            head = conn.execute(
                select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
            ).first()
            seq, prev = (head.seq + 1, head.hash) if head else (1, GENESIS)
            at = datetime.now(UTC)
            entry = {"seq": seq, "at": at.isoformat(), **body}
            digest = chain_hash(prev, entry)
            conn.execute(
                AuditRow.__table__.insert().values(
                    seq=seq,
                    at=at,
                    action=body["action"],
                    principal=body["principal"],
                    client_id=body["client_id"],
                    purpose=body["purpose"],
                    entry=entry,
                    prev_hash=prev,
                    hash=digest,
                )
            )
        return AuditEntry(
            seq,
            at,
            body["action"],
            body["principal"],
            body["client_id"],
            body["purpose"],
            entry,
            digest,
        )

    def verify(self) -> int:
        """The number of entries, all intact; ChainBroken names the first that is not."""
        prev = GENESIS
        expected_seq = 1
        count = 0
        with self.engine.connect() as conn:
            rows = conn.execute(select(AuditRow).order_by(AuditRow.seq)).yield_per(1000)
            for row in rows:
                if row.seq != expected_seq:
                    raise ChainBroken(expected_seq, "missing (deleted?)")
                entry = dict(row.entry)
                if row.prev_hash != prev:
                    raise ChainBroken(row.seq, "does not follow the previous entry")
                if chain_hash(prev, entry) != row.hash:
                    raise ChainBroken(row.seq, "content does not match its hash (edited?)")
                if (
                    entry.get("seq") != row.seq
                    or entry.get("action") != row.action
                    or entry.get("principal") != row.principal
                    or entry.get("client_id") != row.client_id
                    or entry.get("purpose") != row.purpose
                    or entry.get("at") != _utc(row.at).isoformat()
                ):
                    raise ChainBroken(row.seq, "columns differ from the hashed entry (edited?)")
                prev = row.hash
                expected_seq += 1
                count += 1
        return count

    def head(self) -> tuple[int, str]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(AuditRow.seq, AuditRow.hash).order_by(AuditRow.seq.desc()).limit(1)
            ).first()
        return (row.seq, row.hash) if row else (0, GENESIS)

    def page(
        self,
        *,
        first: int = 50,
        after: int | None = None,
        action: str | None = None,
        principal: str | None = None,
    ) -> tuple[list[AuditEntry], bool, int]:
        """Newest first: entries, whether more follow, and the total matching."""
        filters = []
        if action:
            filters.append(AuditRow.action == action)
        if principal:
            filters.append(AuditRow.principal == principal)
        where = [*filters, AuditRow.seq < after] if after is not None else filters
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(AuditRow).where(*where).order_by(AuditRow.seq.desc()).limit(first + 1)
            ).all()
            total = conn.execute(select(func.count()).select_from(AuditRow).where(*filters))
            count = int(total.scalar_one())
        entries = [
            AuditEntry(
                r.seq,
                _utc(r.at),
                r.action,
                r.principal,
                r.client_id,
                r.purpose,
                dict(r.entry),
                r.hash,
            )
            for r in rows[:first]
        ]
        return entries, len(rows) > first, count
