"""`cityhub migrate`: the demo city moves between backends with every count equal, and back."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.config import load_settings
from hub.graph import open_graph
from hub.indexing import rebuild
from hub.migrate import migrate
from hub.search import open_search
from hub.store import RecordStore


@pytest.fixture(scope="module")
def demo_dir_full(demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder with the demo city's store, knowledge graph and search index."""
    folder = tmp_path_factory.mktemp("migrate-src")
    settings = load_settings(data_dir=folder)
    store = RecordStore.from_url(settings.store_url)
    report = migrate(
        {"store": str(demo_store.engine.url)}, {"store": settings.store_url}, ("store",)
    )
    assert report.equal
    graph = open_graph(settings.graph_store_url)
    search = open_search(settings.search_store_url)
    rebuild(store, graph, search, secret="test")
    for closable in (store, graph, search):
        closable.close()
    return folder


def embedded(folder: Path) -> dict[str, str]:
    return {
        "store": f"sqlite:///{folder / 'cityhub.db'}",
        "graph": f"sqlite:///{folder / 'graph.db'}",
        "search": f"sqlite:///{folder / 'search.db'}",
    }


def test_cli_round_trip_between_embedded_folders(demo_dir_full: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["migrate", "--from", str(demo_dir_full), "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "migrated" in result.output
    there = RecordStore.from_url(embedded(tmp_path)["store"])
    here = RecordStore.from_url(embedded(demo_dir_full)["store"])
    assert there.counts() == here.counts() and sum(here.counts().values()) > 10_000
    there.close()
    here.close()
    again = runner.invoke(app, ["migrate", "--from", str(demo_dir_full), "--to", str(tmp_path)])
    # the target is no longer empty: nothing is overwritten
    assert again.exit_code != 0 and "not empty" in str(again.exception)


def _servers() -> dict[str, str]:
    names = {
        "store": "CITYHUB_TEST_POSTGRES_URL",
        "graph": "CITYHUB_TEST_NEO4J_URL",
        "search": "CITYHUB_TEST_ELASTICSEARCH_URL",
    }
    missing = [v for v in names.values() if not os.environ.get(v)]
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"{', '.join(missing)} unset: run the suite with scripts/test.sh")
        pytest.skip(f"{', '.join(missing)} unset (scripts/test.sh starts the servers)")
    return {role: os.environ[v] for role, v in names.items()}


@pytest.fixture
def distributed() -> Iterator[dict[str, str]]:
    """A fresh PostgreSQL database, Neo4j graph and Elasticsearch index."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    servers = _servers()
    tag = uuid.uuid4().hex[:12]
    admin = create_engine(servers["store"], isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "m_{tag}"'))
    urls = {
        "store": make_url(servers["store"])
        .set(database=f"m_{tag}")
        .render_as_string(hide_password=False),
        "graph": f"{servers['graph']}?graph=m_{tag}",
        "search": f"{servers['search'].rstrip('/')}/m-{tag}?replicas=0",
    }
    yield urls
    graph = open_graph(urls["graph"])
    graph.drop()  # type: ignore[attr-defined]
    graph.close()
    search = open_search(urls["search"])
    search.drop()  # type: ignore[attr-defined]
    search.close()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "m_{tag}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.postgres
@pytest.mark.neo4j
@pytest.mark.elasticsearch
def test_demo_city_round_trip_through_postgres_neo4j_elasticsearch(
    demo_dir_full: Path, distributed: dict[str, str], tmp_path: Path
) -> None:
    there = migrate(embedded(demo_dir_full), distributed)
    assert there.equal, {k: (p.source, p.target) for k, p in there.parts.items() if not p.equal}
    back = migrate(distributed, embedded(tmp_path))
    assert back.equal, {k: (p.source, p.target) for k, p in back.parts.items() if not p.equal}
    assert back.parts["store"].target == there.parts["store"].source
    assert back.parts["graph"].target == there.parts["graph"].source
    assert back.parts["search"].target == there.parts["search"].source
    print({k: p.target for k, p in there.parts.items()})

    # the same answers on the distributed backends as on the embedded ones
    graph = open_graph(distributed["graph"])
    local = open_graph(embedded(demo_dir_full)["graph"])
    search = open_search(distributed["search"])
    local_search = open_search(embedded(demo_dir_full)["search"])
    try:
        first = local_search.search("融资租赁", limit=5)
        assert first.total > 0
        assert search.search("融资租赁", limit=5).total == first.total
        hit = first.hits[0]
        entity = local.entity_of(hit.kind, hit.key)
        assert entity is not None and graph.entity_of(hit.kind, hit.key) == entity
        assert set(graph.relations([entity.id])) == set(local.relations([entity.id]))
    finally:
        for closable in (graph, local, search, local_search):
            closable.close()


def test_a_target_that_is_no_store_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    """Neither a URL, a data folder nor a TOML file: exit 2 with the option's name (its hint
    was once handed to the error as its click context, which broke printing the error)."""
    result = CliRunner().invoke(app, ["migrate", "--to", str(tmp_path / "thing.xyz")])
    assert result.exit_code == 2, result.output
    assert "Invalid value for --to: not a URL, data folder or .toml file" in result.output
