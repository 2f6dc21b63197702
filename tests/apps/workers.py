"""Hub workers of one deployment for the apps' tests: each on its own connections to one
copy of a store (as processes of their own would be), with an operator's token, and a way to
wait until a worker's feed follower has taken every write committed so far."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.apps import App
from hub.store import RecordStore
from tests.auth_helpers import bearer, person_token


@dataclass
class Worker:
    app: Starlette
    http: TestClient
    store: RecordStore
    ops: str

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(self.ops)
        )
        body = answer.json()
        assert answer.status_code == 200 and "errors" not in body, body
        return dict(body["data"])

    def caught_up(self) -> None:
        """Wait until this worker's feed follower has taken every write committed so far."""
        self.http.portal.call(self.app.state.hub.feed.caught_up)


@contextmanager
def workers(
    source: RecordStore,
    folder: Path,
    apps: list[App],
    prepare: Callable[[RecordStore], object] | None = None,
) -> Iterator[tuple[Worker, Worker]]:
    """Two workers serving ``apps`` on a copy of ``source`` (a SQLite store) in ``folder``;
    ``prepare`` writes to the copy before they start."""
    from hub.app import create_app
    from hub.config import load_settings

    database = source.engine.url.database
    assert database
    with sqlite3.connect(database) as src, sqlite3.connect(folder / "hub.db") as dst:
        src.backup(dst)
    made: list[Worker] = []
    try:
        for _ in range(2):
            store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
            if prepare is not None and not made:
                prepare(store)
            app = create_app(load_settings(data_dir=folder), store=store, apps=apps)
            http = TestClient(app).__enter__()
            made.append(
                Worker(app, http, store, person_token(http, app, "ops", "operator", "graph:read"))
            )
        yield made[0], made[1]
    finally:
        for w in made:
            w.http.__exit__(None, None, None)
            w.store.close()
