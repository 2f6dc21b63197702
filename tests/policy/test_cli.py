"""``cityhub policy``: load the seeds, draft, validate, dry-run, publish, roll back, approve."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.auth.accounts import AccountStore
from hub.cli import app
from hub.store import RecordStore
from tests.hub.city import small_city


def test_policy_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CITYHUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYHUB_DATABASE_URL", raising=False)
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'cityhub.db'}")
    store.migrate()
    store.upsert(small_city())
    AccountStore(store.engine).create_user("sam", "steward-pw-123", "steward")
    AccountStore(store.engine).create_user("sue", "steward-pw-456", "steward")
    AccountStore(store.engine).create_client("p", client_id="p1", scopes=["graph:read"])
    store.close()
    run = CliRunner().invoke
    loaded = run(app, ["policy", "load"])
    assert loaded.exit_code == 0 and "loaded 6 policies" in loaded.output
    doc = tmp_path / "partner.toml"
    doc.write_text('name = "partner"\nsubject = "role:partner"\n[types.GridCell]\n')
    refused = run(app, ["policy", "draft", str(doc), "--steward", "p1", "--reason", "x"])
    assert refused.exit_code != 0 and "not a steward" in str(refused.exception)
    drafted = run(app, ["policy", "draft", str(doc), "--steward", "sam", "--reason", "narrow"])
    assert drafted.exit_code == 0 and "partner v2 drafted" in drafted.output
    assert run(app, ["policy", "validate", "partner", "2"]).exit_code == 0
    dry = run(app, ["policy", "dry-run", "partner", "2", "--steward", "sam", "--json"])
    report = json.loads(dry.output)
    lost = {c["type"]: c for c in report["changes"] if c["principal"] == "client:p1"}
    assert lost["Inspector"]["access_before"] == "rows"
    assert lost["Inspector"]["access_after"] == "none"
    assert lost["Inspector"]["rows_before"] == 5 and lost["Inspector"]["rows_after"] == 0
    args = ["--steward", "sam", "--reason", "go"]
    assert run(app, ["policy", "publish", "partner", "2", *args]).exit_code == 0
    back = run(app, ["policy", "rollback", "partner", *args])
    # back to the wider seed: it widens access, so a second steward approves it
    assert back.exit_code == 0 and "partner v3 widens access" in back.output
    approve = ["policy", "approve", "partner", "3", "--steward", "sue", "--reason", "agreed"]
    approved = run(app, approve, input="steward-pw-456\n")
    assert approved.exit_code == 0 and "partner v3 approved by user:sue" in approved.output
    shown = run(app, ["policy", "show", "partner"])
    assert 'subject = "role:partner"' in shown.output and '[types."*"]' in shown.output
    listed = run(app, ["policy", "list", "partner"])
    assert listed.output.count("retired") == 2 and "published" in listed.output
