"""Checkpoints of the audit chain's head, signed with the audit key and kept outside the
database.

The hash chain shows any entry edited, inserted or deleted *inside* the chain; a checkpoint —
the head's sequence number and hash, signed with the hub's Ed25519 audit key
(``hub.audit.signer``) — closes the rest:

* rewriting entries and recomputing the chain: the checkpointed hashes differ, and new
  checkpoints cannot be signed without the audit key (anyone verifies with the public key,
  ``cityhub audit verify --public-key FILE``);
* deleting checkpoint lines, or the whole file: every checkpoint written is itself recorded
  in the chain as an ``audit.checkpoint`` entry with its seq and hash, so the chain says which
  checkpoints must exist and verify fails when one is missing;
* cutting the chain's tail and the file's together: each line is also exported outside the
  hub (``hub.audit.export``), and verify checks the chain against that copy (``--witness``).

The hub writes one a minute while entries arrive and one at shutdown; ``cityhub audit
checkpoint`` writes one on demand. Lines of the old HMAC format are not trusted (reported).
"""

from __future__ import annotations

import fcntl
import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from hub.audit.log import AuditLog, ChainBroken
from hub.audit.signer import AuditSigner, AuditVerifier
from hub.audit.tables import AuditRow
from hub.private_files import PRIVATE_FILE, private_dir

CHECKPOINT_ACTION = "audit.checkpoint"


class CheckpointError(Exception):
    """A checkpoint file line is unreadable or its signature is wrong."""


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    at: str
    kid: str

    def body(self) -> str:
        return json.dumps(
            {"at": self.at, "hash": self.hash, "kid": self.kid, "seq": self.seq}, sort_keys=True
        )

    def line(self, signer: AuditSigner) -> str:
        return json.dumps(
            {"checkpoint": json.loads(self.body()), "sig": signer.sign(self.body().encode())},
            sort_keys=True,
        )


@dataclass
class Checkpoints:
    """The signed checkpoints of a file, and how many old HMAC lines it holds (untrusted)."""

    points: list[Checkpoint] = field(default_factory=list)
    legacy: int = 0


def _head(log: AuditLog) -> tuple[int, str, str, dict[str, object]]:
    with log.engine.connect() as conn:
        row = conn.execute(
            select(AuditRow.seq, AuditRow.hash, AuditRow.action, AuditRow.entry)
            .order_by(AuditRow.seq.desc())
            .limit(1)
        ).first()
    if row is None:
        return 0, "", "", {}
    return int(row.seq), str(row.hash), str(row.action), dict(row.entry)


def write_checkpoint(log: AuditLog, path: Path, signer: AuditSigner) -> Checkpoint | None:
    """Sign the chain's head, append it to ``path`` and record it in the chain; None for an
    empty log. When nothing but the last checkpoint's own record came since, that checkpoint
    is returned and nothing is written."""
    private_dir(path.parent)
    # O_APPEND: concurrent writers never interleave within a line; the lock makes workers
    # take turns, so one head is checkpointed once
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, PRIVATE_FILE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        seq, head, action, entry = _head(log)
        if seq == 0:
            return None
        if action == CHECKPOINT_ACTION:
            detail = entry.get("detail")
            if isinstance(detail, dict):
                return Checkpoint(
                    int(detail["seq"]), str(detail["hash"]), str(detail["at"]), str(detail["kid"])
                )
        point = Checkpoint(seq, head, datetime.now(UTC).isoformat(), signer.kid)
        os.write(fd, (point.line(signer) + "\n").encode())
        os.fsync(fd)
        # the line first: a record without its line would be a false alarm at verify
        log.append(
            CHECKPOINT_ACTION,
            principal="hub",
            detail={"seq": point.seq, "hash": point.hash, "at": point.at, "kid": point.kid},
        )
        return point
    finally:
        os.close(fd)


def parse_line(text: str, verifier: AuditVerifier, where: str) -> Checkpoint | None:
    """A signed line's checkpoint; None for an old HMAC line. CheckpointError when the line
    is unreadable, signed by a key not given, or its signature does not match."""
    try:
        data = json.loads(text)
        if "mac" in data and "sig" not in data:
            return None
        point = Checkpoint(**data["checkpoint"])
        signature = str(data["sig"])
    except (ValueError, KeyError, TypeError):
        raise CheckpointError(f"{where}: not a checkpoint line") from None
    if point.kid not in verifier.keys:
        raise CheckpointError(f"{where}: signed by audit key {point.kid}, not a key given")
    if not verifier.verify(point.kid, point.body().encode(), signature):
        raise CheckpointError(f"{where}: signature does not match (forged?)")
    return point


def read_checkpoints(path: Path, verifier: AuditVerifier) -> Checkpoints:
    found = Checkpoints()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        point = parse_line(line, verifier, f"{path}:{number}")
        if point is None:
            found.legacy += 1
        else:
            found.points.append(point)
    return found


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


def recorded_checkpoints(log: AuditLog) -> list[tuple[int, int, str]]:
    """(entry, checkpointed seq, hash) of every checkpoint the chain says was written."""
    with log.engine.connect() as conn:
        rows = conn.execute(
            select(AuditRow.seq, AuditRow.entry)
            .where(AuditRow.action == CHECKPOINT_ACTION)
            .order_by(AuditRow.seq)
        )
        out = []
        for seq, entry in rows:
            detail = (entry or {}).get("detail") or {}
            out.append((int(seq), int(detail.get("seq", 0)), str(detail.get("hash", ""))))
    return out


def verify_complete(log: AuditLog, points: list[Checkpoint], path: Path) -> int:
    """Every checkpoint the chain records must be in ``points``: lines deleted from the file,
    or the file removed, show here. Returns how many the chain records."""
    have = {(p.seq, p.hash) for p in points}
    recorded = recorded_checkpoints(log)
    for entry, seq, digest in recorded:
        if (seq, digest) not in have:
            raise ChainBroken(
                entry,
                f"records a checkpoint of entry {seq} that {path} does not hold "
                "(checkpoint lines or the file deleted?)",
            )
    return len(recorded)
