"""A hub over a small two-street city, with real tokens for partners, departments and a
steward (authorization code + PKCE through the login form)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.accounts import AccountStore
from hub.config import load_settings
from hub.graph import open_graph
from hub.indexing import rebuild
from hub.policy.workflow import PolicyWorkflow
from hub.search import open_search
from hub.store import RecordStore
from schema.record import Record
from tests import auth_helpers
from tests.auth_helpers import fetch_token, register_client
from tests.hub.city import WHEN, small_city, square
from tests.policy_helpers import publish_approved

REDIRECT = "http://127.0.0.1:9999/callback"
EAST = "东区街道"


def two_streets() -> list[Record]:
    """The five-cell test city plus two cells (and inspectors) on another street."""
    out = small_city()
    for i in range(2):
        code = f"BH-E-{i:03d}"
        out.append(
            Record(
                kind="GridCell",
                key=code,
                source_system="grid-management",
                source_id=f"e{i}",
                fetched_at=WHEN,
                attrs={
                    "code": code,
                    "name": f"东区街道第{i + 1}网格",
                    "street": EAST,
                    "area_km2": 2.0,
                    "population": 500,
                    "inspector": f"INS-E-{i:03d}",
                },
                geometry=square(117.8 + i * 0.01, 39.1),
                datum="GCJ-02",
            )
        )
        out.append(
            Record(
                kind="Inspector",
                key=f"INS-E-{i:03d}",
                source_system="grid-management",
                source_id=f"ie{i}",
                fetched_at=WHEN,
                attrs={
                    "name": "司马东来",
                    "phone": "13998765432",
                    "resident_id": "120116198502021234",
                    "grid_cell": code,
                    "street": EAST,
                    "duty_categories": ["C03"],
                    "on_duty": True,
                },
                geometry={"type": "Point", "coordinates": [117.805 + i * 0.01, 39.105]},
                datum="GCJ-02",
            )
        )
    return out


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    accounts: AccountStore
    workflow: PolicyWorkflow

    def token(self, name: str, **options: Any) -> str:
        """A real token for a new confidential client (role partner unless given)."""
        client_id, secret = register_client(self.app, name, **options)
        return fetch_token(self.http, client_id, secret)

    def gql(
        self, token: str, query: str, headers: dict[str, str] | None = None, **variables: Any
    ) -> dict[str, Any]:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}", **(headers or {})},
        )
        return dict(response.json())

    def publish(self, source: str, reason: str = "test") -> int:
        draft = self.workflow.draft(source, author="user:test", reason=reason)
        publish_approved(
            self.workflow, draft.name, draft.version, author="user:test", reason=reason
        )
        return draft.version


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    yield from hub_over(tmp_path_factory.mktemp("policy"), two_streets())


def hub_over(folder: Path, city: list[Record]) -> Iterator[Hub]:
    """A hub over ``city`` (graph and search built), served by a TestClient."""
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.upsert(city)
    settings = load_settings(data_dir=folder, graphql_max_depth=8)
    graph = open_graph(settings.graph_store_url)
    search = open_search(settings.search_store_url)
    rebuild(store, graph, search, secret=settings.effective_secret())
    app = create_app(settings, store=store, graph=graph, search=search)
    with TestClient(app) as http:
        yield Hub(app, http, AccountStore(store.engine), app.state.policy_workflow)


def person_token(hub: Hub, username: str, role: str, scope: str) -> str:
    """A person's token through the real login page (authorization code + PKCE)."""
    return auth_helpers.person_token(hub.http, hub.app, username, role, scope)
