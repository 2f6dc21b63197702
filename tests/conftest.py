"""Shared fixtures: stores on every backend the hub supports, and a demo city."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from hub.store import RecordStore

POSTGRES_URL = os.environ.get("CITYHUB_TEST_POSTGRES_URL", "")
# The tests' readings carry fixed times (after the demo city's data, 2026-05-31): no limit on
# how far behind the clock a reading may be, or they would fail a month after they were
# written. tests/hub/test_device_state.py sets the window it tests explicitly.
os.environ.setdefault("CITYHUB_TELEMETRY_MAX_BEHIND_S", "0")


def _postgres_database() -> Iterator[str]:
    """A fresh database on the test server, dropped afterwards."""
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CITYHUB_TEST_POSTGRES_URL is unset: run the suite with scripts/test.sh")
        pytest.skip("CITYHUB_TEST_POSTGRES_URL is unset (scripts/test.sh starts PostgreSQL)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hub.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def store(store_url: str) -> Iterator[RecordStore]:
    store = RecordStore.from_url(store_url)
    store.migrate()
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Binhai demo city, generated once per test session (seed 2019, scale 1)."""
    from simcity.binhai.generate import generate

    folder = tmp_path_factory.mktemp("binhai")
    generate(folder, seed=2019, scale=1)
    return folder


@pytest.fixture(scope="session")
def demo_store(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordStore]:
    """A SQLite store with the whole demo city loaded."""
    from rich.progress import Progress

    from hub.demo import load

    store = RecordStore.from_url(f"sqlite:///{tmp_path_factory.mktemp('hub') / 'hub.db'}")
    store.migrate()
    with Progress(disable=True) as progress:
        report = load(store, demo_dir, progress)
    assert report.rejected == 0, report.errors[:3]
    yield store
    store.close()


@pytest.fixture(scope="session")
def demo_app(demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The hub app over the demo city, with its knowledge graph and search index built."""
    from hub.app import create_app
    from hub.config import load_settings
    from hub.graph import open_graph
    from hub.indexing import rebuild
    from hub.search import open_search

    folder = tmp_path_factory.mktemp("derived")
    settings = load_settings(data_dir=folder)
    graph = open_graph(settings.graph_store_url)
    search = open_search(settings.search_store_url)
    rebuild(demo_store, graph, search, secret=settings.effective_secret())
    return create_app(settings, store=demo_store, graph=graph, search=search)
