"""A policy published outside a running hub (the CLI, another worker without a shared fan-out)
takes effect in the running hub within its poll interval, without a restart."""

from __future__ import annotations

import time
from pathlib import Path

from starlette.testclient import TestClient

from hub.app import create_app
from hub.audit import AuditLog
from hub.config import load_settings
from hub.policy.engine import PolicyEngine
from hub.policy.workflow import PolicyWorkflow
from hub.store import RecordStore
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.policy.conftest import two_streets
from tests.policy_helpers import publish_approved

PHONES = "{ inspectors(first: 1) { edges { node { phone } } } }"


def _phone(http: TestClient, token: str) -> str:
    data = http.post("/graphql", json={"query": PHONES}, headers=bearer(token)).json()
    assert "errors" not in data, data
    return str(data["data"]["inspectors"]["edges"][0]["node"]["phone"])


def test_a_policy_published_elsewhere_is_picked_up_by_polling(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    store = RecordStore.from_url(url)
    store.migrate()
    store.upsert(two_streets())
    app = create_app(load_settings(data_dir=tmp_path, policy_poll_s=0.2), store=store)
    with TestClient(app) as http:
        client_id, secret = register_client(app, "water-bureau", role="partner")
        token = fetch_token(http, client_id, secret)
        assert "****" in _phone(http, token)  # the partner default masks phones

        # as `cityhub policy publish` does it: its own connection to the store
        other = RecordStore.from_url(url)
        flow = PolicyWorkflow(other, PolicyEngine(other.engine), AuditLog(other.engine))
        draft = flow.draft(
            f'name = "water-bureau"\nsubject = "client:{client_id}"\n'
            'clearance = "sensitive"\n[types."*"]\nfields = ["*"]\n'
            '[types.Inspector]\nfields = ["*"]\nreveal = ["phone"]\n',
            author="user:stella",
            reason="the bureau calls inspectors during floods",
        )
        # a new policy widens access: a second steward approves it (four eyes)
        publish_approved(
            flow, draft.name, draft.version, author="user:stella", reason="flood season"
        )
        deadline = time.monotonic() + 10
        while "****" in _phone(http, token):
            assert time.monotonic() < deadline, "the running hub never took the new policy"
            time.sleep(0.1)
        assert _phone(http, token).isdigit()

        masked = flow.draft(
            f'name = "water-bureau"\nsubject = "client:{client_id}"\n'
            'clearance = "sensitive"\n[types."*"]\nfields = ["*"]\n',
            author="user:stella",
            reason="season over",
        )
        flow.publish(masked.name, masked.version, author="user:stella", reason="season over")
        deadline = time.monotonic() + 10
        while "****" not in _phone(http, token):
            assert time.monotonic() < deadline, "the running hub never took the rollback"
            time.sleep(0.1)
        other.close()
