"""Step 9, item 13: audit anchoring. With write access to the data folder an attacker rewrote
an entry, recomputed the chain and re-signed the checkpoints with the default secret; deleting
checkpoint lines or the whole file also passed `cityhub audit verify`. Each test names its
attack."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select, update
from typer.testing import CliRunner

from hub.audit import AuditLog
from hub.audit.anchor import AuditAnchor
from hub.audit.checkpoint import Checkpoint, parse_line
from hub.audit.log import chain_hash
from hub.audit.signer import AuditSigner, AuditVerifier
from hub.audit.tables import AuditRow
from hub.cli import CliError, app
from hub.config import Settings, load_settings
from hub.store import RecordStore


@dataclass
class Folder:
    """A hub's data folder with an audit chain, checkpointed, and the pinned public key."""

    settings: Settings
    store: RecordStore
    log: AuditLog
    public_key: Path  # kept apart from the hub (outside the data folder)

    def fill(self, n: int) -> None:
        for i in range(n):
            self.log.append("graphql.read", principal=f"client:c{i}", ids={"GridCell": [f"G{i}"]})

    def anchor(self) -> AuditAnchor:
        return AuditAnchor.from_settings(self.settings, self.log)


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Folder]:
    settings = load_settings(data_dir=tmp_path / "var")
    settings.secure_data_dir()
    store = RecordStore.from_url(settings.store_url)
    store.migrate()
    log = AuditLog(store.engine)
    pem = tmp_path / "outside" / "audit-public.pem"
    pem.parent.mkdir()
    pem.write_text(AuditSigner.load_or_create(settings.audit_key_path, settings.kek()).public_pem())
    f = Folder(settings, store, log, pem)
    f.fill(3)
    f.anchor().checkpoint()  # entry 3 checkpointed; entry 4 records it
    f.fill(3)
    f.anchor().checkpoint()  # entry 7 checkpointed; entry 8 records it
    yield f
    store.close()


def verify(f: Folder, *args: str) -> tuple[int, str]:
    """`cityhub audit verify` over the folder: (exit status, what it printed)."""
    env = {"CITYHUB_DATA_DIR": str(f.settings.data_dir)}
    result = CliRunner().invoke(app, ["audit", "verify", *args], env=env)
    if isinstance(result.exception, CliError):
        return 2, str(result.exception)
    assert result.exception is None, result.exception
    return result.exit_code, result.output


def rewrite_chain(f: Folder, seq: int, principal: str) -> None:
    """The attacker edits entry ``seq`` and recomputes every hash after it, fixing the
    checkpoint records' hashes too, so that the chain alone verifies again."""
    with f.store.engine.begin() as conn:
        rows = conn.execute(select(AuditRow).order_by(AuditRow.seq)).all()
        prev = rows[seq - 2].hash if seq > 1 else "0" * 64
        new_hash: dict[int, str] = {}
        for row in rows[seq - 1 :]:
            entry = dict(row.entry)
            if row.seq == seq:
                entry["principal"] = principal
            if row.action == "audit.checkpoint":
                detail = dict(entry["detail"])
                detail["hash"] = new_hash.get(int(detail["seq"]), detail["hash"])
                entry["detail"] = detail
            digest = chain_hash(prev, entry)
            new_hash[row.seq] = digest
            conn.execute(
                update(AuditRow)
                .where(AuditRow.seq == row.seq)
                .values(entry=entry, principal=entry["principal"], prev_hash=prev, hash=digest)
            )
            prev = digest
    assert f.log.verify() == len(rows)  # the chain alone no longer shows it


def checkpoint_records(f: Folder) -> list[dict[str, object]]:
    with f.store.engine.connect() as conn:
        rows = conn.execute(
            select(AuditRow.entry).where(AuditRow.action == "audit.checkpoint")
        ).scalars()
        return [dict(entry["detail"]) for entry in rows]


def test_an_intact_chain_verifies_with_the_pinned_public_key(folder: Folder) -> None:
    """Baseline of the attacks below: the hub's own checkpoints verify with the public key
    alone (no secret needed), and every checkpoint the chain records is present."""
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 0, said
    assert "8 entries; 2 checkpoints match (2 recorded in the chain, all present)" in said


def test_a_rewritten_and_re_signed_chain_fails_verify(folder: Folder) -> None:
    """Attack: rewrite an entry, recompute the chain, and re-sign the checkpoints — with the
    old default secret (the old HMAC format), or with an Ed25519 key of the attacker's own,
    even one put in place of the data folder's audit key. Verification with the public key
    kept apart from the hub fails each time."""
    rewrite_chain(folder, 2, "client:someone-else")
    path = folder.settings.audit_checkpoint_path
    # checkpoints left as they were: the checkpointed hash differs
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 2 and "audit entry 3: hash differs from its checkpoint" in said
    # re-signed with the old default secret, as the old hub did: not trusted, so missing
    lines = []
    for detail in checkpoint_records(folder):
        body = json.dumps({"at": detail["at"], "hash": detail["hash"], "seq": detail["seq"]})
        mac = hmac.new(b"dev-only-change-me", body.encode(), hashlib.sha256).hexdigest()
        lines.append(json.dumps({"checkpoint": json.loads(body), "mac": mac}))
    path.write_text("\n".join(lines) + "\n")
    for pinned in ((), ("--public-key", str(folder.public_key))):
        status, said = verify(folder, *pinned)
        assert status == 2 and "records a checkpoint of entry 3" in said, said

    # re-signed with an Ed25519 key of the attacker's own
    def re_sign(forger: AuditSigner) -> None:
        path.write_text(
            "".join(
                Checkpoint(int(str(d["seq"])), str(d["hash"]), str(d["at"]), forger.kid).line(
                    forger
                )
                + "\n"
                for d in checkpoint_records(folder)
            )
        )

    forger = AuditSigner(Ed25519PrivateKey.generate())
    re_sign(forger)
    status, said = verify(folder)  # the folder's audit key is still the hub's: refused
    assert status == 2 and f"signed by audit key {forger.kid}, not a key given" in said
    # ... and with that key put in place of the folder's audit key: the pinned key refuses
    folder.settings.audit_key_path.unlink()
    forger = AuditSigner.load_or_create(folder.settings.audit_key_path, folder.settings.kek())
    re_sign(forger)
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 2 and f"signed by audit key {forger.kid}, not a key given" in said


def test_deleted_checkpoint_lines_fail_verify(folder: Folder) -> None:
    """Attack: delete checkpoint lines (the newest, or any) so that a later rewrite of the
    entries they covered goes unseen. The chain records each checkpoint written, so verify
    names the one missing."""
    path = folder.settings.audit_checkpoint_path
    first, second = path.read_text().splitlines()
    path.write_text(first + "\n")
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 2
    assert "audit entry 8: records a checkpoint of entry 7" in said and "does not hold" in said
    path.write_text(second + "\n")
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 2 and "audit entry 4: records a checkpoint of entry 3" in said


def test_a_deleted_checkpoint_file_fails_verify(folder: Folder) -> None:
    """Attack: delete the whole checkpoint file (the old verify then said "no checkpoints"
    and passed). The chain says two checkpoints must exist: verify fails."""
    folder.settings.audit_checkpoint_path.unlink()
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 2 and "audit entry 4: records a checkpoint of entry 3" in said


def test_a_cut_tail_of_chain_and_file_is_caught_by_the_exported_copy(
    folder: Folder, tmp_path: Path
) -> None:
    """Attack: cut the newest entries and the checkpoint lines that cover them, together, so
    that the folder is consistent again. The checkpoints were exported to a file outside the
    folder (CITYHUB_AUDIT_EXPORT): verify against that copy names the entry cut."""
    outside = tmp_path / "witness" / "checkpoints.jsonl"
    settings = load_settings(data_dir=folder.settings.data_dir, audit_export=str(outside))
    AuditAnchor.from_settings(settings, folder.log).checkpoint()  # exports lines 1 and 2
    folder.fill(2)
    AuditAnchor.from_settings(settings, folder.log).checkpoint()  # entry 10, exported too
    assert len(outside.read_text().splitlines()) == 3
    path = folder.settings.audit_checkpoint_path
    with folder.store.engine.begin() as conn:
        conn.execute(AuditRow.__table__.delete().where(AuditRow.seq >= 6))
    path.write_text(path.read_text().splitlines()[0] + "\n")
    status, said = verify(folder, "--public-key", str(folder.public_key))
    assert status == 0, said  # the folder alone is consistent: this is what the copy is for
    status, said = verify(folder, "--public-key", str(folder.public_key), "--witness", str(outside))
    assert status == 2 and "audit entry 7: checkpointed at" in said and "missing" in said


class Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[str]] = []
    failing = False

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if type(self).failing:
            self.send_response(503)
        else:
            type(self).received.append(body)
            self.send_response(201)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_checkpoints_exported_to_an_http_endpoint_verify_with_the_public_key(
    folder: Folder,
) -> None:
    """Attack: everything in the folder can be rewritten together. Each signed checkpoint is
    POSTed to an endpoint outside (here a tiny server on 127.0.0.1); while it fails, the
    checkpoint is still written and the hub goes on, and the line is sent at the next try.
    What the endpoint received verifies with the public key alone."""
    Collector.received = []
    Collector.failing = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/anchor"
        settings = load_settings(data_dir=folder.settings.data_dir, audit_export=url)
        anchor = AuditAnchor.from_settings(settings, folder.log)
        folder.fill(1)
        point = anchor.checkpoint()  # the endpoint refuses: written, not exported, no error
        assert point is not None and point.seq == 9
        assert Collector.received == []
        Collector.failing = False
        folder.fill(1)
        anchor.checkpoint()  # now all four lines go out, in order
        received = list(Collector.received)
    finally:
        server.shutdown()
        server.server_close()
    assert received == folder.settings.audit_checkpoint_path.read_text().splitlines()
    pinned = AuditVerifier.from_pem_files([folder.public_key])
    points = [parse_line(line, pinned, "received") for line in received]
    assert [p.seq for p in points if p] == [3, 7, 9, 11]
    witness = folder.settings.data_dir.parent / "received.jsonl"
    witness.write_text("\n".join(received) + "\n")
    status, said = verify(folder, "--public-key", str(folder.public_key), "--witness", str(witness))
    assert status == 0 and "4 witnessed outside match" in said, said


def test_the_public_key_command_prints_the_key_checkpoints_name(folder: Folder) -> None:
    """Attack: a verifier handed a key other than the hub's. `cityhub audit public-key`
    prints the PEM whose id every checkpoint line names."""
    env = {"CITYHUB_DATA_DIR": str(folder.settings.data_dir)}
    result = CliRunner().invoke(app, ["audit", "public-key"], env=env)
    assert result.exit_code == 0, result.output
    assert folder.public_key.read_text() in result.output
    kid = next(iter(AuditVerifier.from_pem_files([folder.public_key]).keys))
    line = folder.settings.audit_checkpoint_path.read_text().splitlines()[0]
    assert json.loads(line)["checkpoint"]["kid"] == kid
    assert (folder.settings.audit_key_path.stat().st_mode & 0o777) == 0o600
    assert b'"d"' not in folder.settings.audit_key_path.read_bytes()  # sealed
