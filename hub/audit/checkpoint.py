"""Checkpoints of the audit chain's head, kept outside the database.

The hash chain shows any edited, inserted or deleted entry *inside* the chain, but someone
who can write the database could delete the newest entries and nothing in the database would
show it. A checkpoint — the head's sequence number and hash, HMAC-signed with the hub's
secret key — written to a file elsewhere (ideally append-only or write-once storage, set by
``CITYHUB_AUDIT_CHECKPOINTS``) closes that gap: ``verify`` checks that every checkpointed entry
is still in the chain with the same hash. The hub writes one a minute while entries arrive
and one at shutdown; ``cityhub audit checkpoint`` writes one on demand.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from hub.audit.log import AuditLog, ChainBroken
from hub.audit.tables import AuditRow


class CheckpointError(Exception):
    """A checkpoint file line is unreadable or its signature is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str

    def body(self) -> str:
        return json.dumps({"at": self.at, "hash": self.hash, "seq": self.seq}, sort_keys=True)


def _mac(secret: str, body: str) -> str:
    return hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()


def write_checkpoint(log: AuditLog, path: Path, secret: str) -> Checkpoint | None:
    """Append the chain's head to ``path`` unless it is there already; None for an empty log."""
    seq, head = log.head()
    if seq == 0:
        return None
    existing = read_checkpoints(path, secret) if path.exists() else []
    if existing and existing[-1].seq == seq and existing[-1].hash == head:
        return existing[-1]
    point = Checkpoint(seq, head, datetime.now(UTC).isoformat())
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"checkpoint": json.loads(point.body()), "mac": _mac(secret, point.body())})
    # O_APPEND: concurrent writers (several workers) never interleave within a line
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return point


def read_checkpoints(path: Path, secret: str) -> list[Checkpoint]:
    points: list[Checkpoint] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            point = Checkpoint(**data["checkpoint"])
            mac = str(data["mac"])
        except (ValueError, KeyError, TypeError):
            raise CheckpointError(f"{path}:{number}: not a checkpoint line") from None
        if not hmac.compare_digest(mac, _mac(secret, point.body())):
            raise CheckpointError(f"{path}:{number}: signature does not match (forged?)")
        points.append(point)
    return points


def verify_checkpoints(log: AuditLog, points: list[Checkpoint]) -> int:
    """Every checkpointed entry must still be in the chain with its hash; returns how many
    were checked. Raises ChainBroken for the first that is not (newest entries deleted, or
    the chain rewritten from some point on)."""
    if not points:
        return 0
    wanted = {p.seq: p.hash for p in points}
    with log.engine.connect() as conn:
        rows = conn.execute(select(AuditRow.seq, AuditRow.hash).where(AuditRow.seq.in_(wanted)))
        found = {int(seq): str(digest) for seq, digest in rows}
    for seq in sorted(wanted):
        if seq not in found:
            raise ChainBroken(seq, f"checkpointed at {wanted[seq][:12]}… but missing (deleted?)")
        if found[seq] != wanted[seq]:
            raise ChainBroken(seq, "hash differs from its checkpoint (chain rewritten?)")
    return len(wanted)
