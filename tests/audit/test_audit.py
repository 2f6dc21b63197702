"""The audit log: hash chain, tamper detection (cityhub audit verify), one entry per GraphQL
read with types, ids and masked fields, and never a personal value in clear."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import text
from starlette.testclient import TestClient

from hub.app import create_app
from hub.audit import AuditLog, ChainBroken
from hub.audit.checkpoint import (
    CheckpointError,
    read_checkpoints,
    verify_checkpoints,
    write_checkpoint,
)
from hub.audit.signer import AuditSigner
from hub.config import load_settings
from hub.store import RecordStore
from tests.auth_helpers import authorize
from tests.hub.city import small_city


@pytest.fixture
def log(store: RecordStore) -> AuditLog:
    return AuditLog(store.engine)


def fill(log: AuditLog, n: int) -> None:
    for i in range(n):
        log.append("graphql.read", principal=f"client:c{i}", ids={"GridCell": [f"BH-T-{i:03d}"]})


def test_chain_verifies_and_links(log: AuditLog) -> None:
    fill(log, 5)
    assert log.verify() == 5
    entries, more, total = log.page(first=2)
    assert [e.seq for e in entries] == [5, 4] and more and total == 5
    older, _, _ = log.page(first=10, after=4)
    assert [e.seq for e in older] == [3, 2, 1]


def test_an_edited_entry_is_named(log: AuditLog, store: RecordStore) -> None:
    fill(log, 5)
    with store.engine.begin() as conn:
        row = conn.execute(text("SELECT entry FROM audit_log WHERE seq = 3")).scalar_one()
        forged = row if isinstance(row, str) else __import__("json").dumps(row)
        forged = forged.replace("client:c2", "client:someone-else")
        conn.execute(text("UPDATE audit_log SET entry = :e WHERE seq = 3"), {"e": forged})
    with pytest.raises(ChainBroken) as broken:
        log.verify()
    assert broken.value.seq == 3 and "edited" in str(broken.value)


def test_an_edited_column_is_named(log: AuditLog, store: RecordStore) -> None:
    fill(log, 3)
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET principal = 'client:x' WHERE seq = 2"))
    with pytest.raises(ChainBroken) as broken:
        log.verify()
    assert broken.value.seq == 2


def test_a_deleted_entry_is_named(log: AuditLog, store: RecordStore) -> None:
    fill(log, 5)
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    with pytest.raises(ChainBroken) as broken:
        log.verify()
    assert broken.value.seq == 2 and "missing" in str(broken.value)


def test_a_rehashed_forgery_breaks_the_next_link(log: AuditLog, store: RecordStore) -> None:
    """Even recomputing the edited entry's own hash does not help: the next entry names it."""
    from hub.audit.log import chain_hash

    fill(log, 4)
    with store.engine.begin() as conn:
        row = conn.execute(text("SELECT entry, prev_hash FROM audit_log WHERE seq = 2")).one()
        entry = row.entry if isinstance(row.entry, dict) else __import__("json").loads(row.entry)
        entry["ids"] = {}
        conn.execute(
            text("UPDATE audit_log SET entry = :e, hash = :h WHERE seq = 2"),
            {"e": __import__("json").dumps(entry), "h": chain_hash(row.prev_hash, entry)},
        )
    with pytest.raises(ChainBroken) as broken:
        log.verify()
    assert broken.value.seq == 3


def test_concurrent_writers_never_fork_the_chain(store: RecordStore) -> None:
    writers = [AuditLog(store.engine) for _ in range(3)]  # as separate workers would

    def write(log: AuditLog) -> None:
        for _ in range(10):
            log.append("graphql.read", principal="client:busy")

    threads = [threading.Thread(target=write, args=(w,)) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert AuditLog(store.engine).verify() == 30


def test_cli_verify_exits_2_naming_the_entry(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env["CITYHUB_DATA_DIR"] = str(tmp_path)
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'cityhub.db'}")
    store.migrate()
    fill(AuditLog(store.engine), 3)

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", "audit", "verify"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    ok = verify()
    assert ok.returncode == 0 and "3 entries" in ok.stdout
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    store.close()
    bad = verify()
    assert bad.returncode == 2
    assert (
        bad.stderr.strip() == "cityhub: error: audit log broken: audit entry 2: missing (deleted?)"
    )


def test_graphql_reads_are_recorded_masked(tmp_path: Path) -> None:
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert(small_city())
    app = create_app(load_settings(data_dir=tmp_path), store=store)
    query = """query Cells { gridCells(first: 3) { edges { node { code
        inspector { name phone } } } } }"""
    with TestClient(app) as http:
        authorize(http, app, "reader")
        body = http.post("/graphql", json={"query": query}, headers={"Cityhub-Purpose": "flood"})
        assert body.json()["data"]["gridCells"]["edges"][0]["node"]["inspector"]["phone"]
    log = AuditLog(store.engine)
    assert log.verify() >= 1
    entry = log.page(first=1, action="graphql.read")[0][0]
    assert entry.principal and entry.principal.startswith("client:reader-")
    assert entry.purpose == "flood"
    assert entry.entry["ids"]["GridCell"] == ["BH-T-000", "BH-T-001", "BH-T-002"]
    assert entry.entry["counts"]["Inspector"] == 3
    assert entry.entry["fields_masked"] == ["Inspector.name", "Inspector.phone"]
    assert entry.entry["detail"]["operation"] == "Cells"
    with store.engine.connect() as conn:
        dump = " ".join(str(r) for r in conn.execute(text("SELECT * FROM audit_log")).all())
    assert "13812345678" not in dump and "欧阳明华" not in dump and "明华" not in dump
    store.close()


def test_deleting_the_newest_entries_is_caught_by_a_checkpoint(
    log: AuditLog, store: RecordStore, tmp_path: Path
) -> None:
    fill(log, 5)
    path = tmp_path / "witness" / "audit-checkpoints.jsonl"
    signer = AuditSigner(Ed25519PrivateKey.generate())
    first = write_checkpoint(log, path, signer)
    assert first is not None and first.seq == 5
    # an unchanged head (only the checkpoint's own record since): no new line
    assert write_checkpoint(log, path, signer) == first
    fill(log, 2)  # entry 6 records the first checkpoint; 7 and 8 are new
    assert write_checkpoint(log, path, signer).seq == 8  # type: ignore[union-attr]
    points = read_checkpoints(path, signer.verifier()).points
    assert [p.seq for p in points] == [5, 8]
    assert verify_checkpoints(log, points) == 2
    # the tail is cut: the chain alone still verifies, the checkpoint does not
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 7"))
    assert log.verify() == 6
    with pytest.raises(ChainBroken, match=r"audit entry 8: checkpointed at .* missing"):
        verify_checkpoints(log, points)


def test_a_rewritten_chain_and_a_forged_checkpoint_are_caught(
    log: AuditLog, store: RecordStore, tmp_path: Path
) -> None:
    fill(log, 3)
    path = tmp_path / "audit-checkpoints.jsonl"
    signer = AuditSigner(Ed25519PrivateKey.generate())
    write_checkpoint(log, path, signer)
    # whoever rewrites the whole chain consistently still differs from the checkpoint
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET hash = :h WHERE seq = 3"), {"h": "f" * 64})
    with pytest.raises(ChainBroken, match="audit entry 3: hash differs"):
        verify_checkpoints(log, read_checkpoints(path, signer.verifier()).points)
    # and a checkpoint signed with another audit key is not one the verifier trusts
    other = AuditSigner(Ed25519PrivateKey.generate())
    with pytest.raises(CheckpointError, match=r"signed by audit key .*, not a key given"):
        read_checkpoints(path, other.verifier())
    path.write_text(path.read_text().replace('"seq": 3', '"seq": 2'))
    with pytest.raises(CheckpointError, match=":1: signature does not match"):
        read_checkpoints(path, signer.verifier())


def test_cli_checkpoint_then_a_cut_tail_fails_verify(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env["CITYHUB_DATA_DIR"] = str(tmp_path)
    env["CITYHUB_AUDIT_CHECKPOINTS"] = str(tmp_path / "elsewhere" / "checkpoints.jsonl")
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'cityhub.db'}")
    store.migrate()
    fill(AuditLog(store.engine), 4)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "hub", "audit", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    made = cli("checkpoint")
    assert made.returncode == 0 and "entry 4" in made.stdout, made.stderr
    ok = cli("verify")
    # the checkpoint is itself entry 5 of the chain
    assert ok.returncode == 0 and "5 entries; 1 checkpoints match" in ok.stdout, ok.stderr
    with store.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 4"))
    store.close()
    cut = cli("verify")
    assert cut.returncode == 2
    assert "audit entry 4: checkpointed at" in cut.stderr and "missing" in cut.stderr
