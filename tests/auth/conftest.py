"""A hub over the small test city, with its authorization server, for the auth tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.app import create_app
from hub.auth.accounts import AccountStore
from hub.config import load_settings
from hub.store import RecordStore
from tests.hub.city import small_city


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    accounts: AccountStore


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder: Path = tmp_path_factory.mktemp("auth")
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.upsert(small_city())
    app = create_app(load_settings(data_dir=folder, graphql_max_depth=6), store=store)
    with TestClient(app) as http:
        yield Hub(app, http, AccountStore(store.engine))
