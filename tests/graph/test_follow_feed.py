"""The knowledge graph and the search index follow the change feed: what the follower makes of
each batch of written records is what a full rebuild (``cityhub index``) makes of the store,
on every graph backend, and a new firm is found within seconds of its write."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub import feed
from hub.graph import Entity, GraphStore, Member, Relation, SqliteGraph, build_graph, open_graph
from hub.graph.sqlite_graph import edges, entities, members, pending
from hub.indexing import IndexFollower, reindex_search
from hub.search import SearchIndex, open_search
from hub.store import RecordStore
from schema.record import Record
from tests.graph.test_graph_conformance import neo4j_graph_url

SECRET = "test-secret"
WHEN = datetime(2026, 6, 1, tzinfo=UTC)
YINHAO = "91120116MA05BBJ537"  # valid credit codes (GB 32100)
YUANTIAN = "91110000600037341L"
XINGANG = "91120116MA05CCK58B"
HAIHE = "91120116MA05DDM16B"


def rec(kind: str, key: str, system: str, **attrs: object) -> Record:
    return Record(
        kind=kind, key=key, source_system=system, source_id=key, fetched_at=WHEN, attrs=attrs
    )


# What the store held when the graph was last built in full.
BUILT = [
    rec("GridCell", "C1", "grid", name="新港一号网格", street_key="S1"),
    rec("GridCell", "C2", "grid", name="大沽二号网格", street_key="S1"),
    rec("Street", "S1", "grid", name="新港街道"),
    rec(
        "Enterprise",
        "ENT-1",
        "market-registry",
        name="天津银昊融资租赁有限公司",
        uscc=YINHAO,
        address="天津市滨海新区新港街道亚洲路310号",
        grid_cell="C1",
    ),
    rec(
        "Enterprise",
        "ENT-2",
        "market-registry",
        name="天津远天石油化工有限公司",
        uscc=YUANTIAN,
        grid_cell="C2",
    ),
    rec("ServiceCase", "CASE-1", "hotline", description="亚洲路油罐异味", firm_uscc=YINHAO),
    # about a firm, and of a firm, the hub does not know yet: these relations wait
    rec("ServiceCase", "CASE-0", "hotline", description="工地扬尘", firm_uscc=XINGANG),
    rec("MuckTruck", "TRK-0", "muck-trucks", plate="津G·10001", company="ENT-3"),
]
# Then, batch by batch, as syncs and webhook pushes write them.
BATCHES = [
    [
        # a second registry's view of a known firm: by code, and by its registry reference
        rec(
            "FinanceFirm",
            "FIN-1",
            "finance-registry",
            name="天津市银昊融资租赁有限公司",
            uscc=YINHAO,
            enterprise="ENT-1",
        ),
        # no code: joins by its name and address
        rec(
            "HazchemFirm",
            "HCF-9",
            "hazchem-registry",
            name="银昊融资租赁（天津）有限公司",
            address="滨海新区新港街道亚洲路310号",
        ),
        # a firm new to the city, its truck and a case about it, in one sync
        rec(
            "Enterprise",
            "ENT-3",
            "market-registry",
            name="天津新港渣土运输有限公司",
            uscc=XINGANG,
            business_scope="建筑垃圾清运 土方运输",
            grid_cell="C2",
        ),
        rec("MuckTruck", "TRK-1", "muck-trucks", plate="津G·53486", company="ENT-3"),
        rec("ServiceCase", "CASE-2", "hotline", description="渣土车夜间抛洒", firm_uscc=XINGANG),
        # a complaint naming a firm by its trade name only
        rec("Complaint", "CMP-1", "complaints", respondent_name="银昊租赁", title="催收扰民"),
    ],
    [
        # a firm renamed and moved, and a case whose text changed
        rec(
            "Enterprise",
            "ENT-2",
            "market-registry",
            name="天津远天新材料有限公司",
            uscc=YUANTIAN,
            grid_cell="C1",
        ),
        rec("ServiceCase", "CASE-1", "hotline", description="亚洲路油罐泄漏", firm_uscc=YINHAO),
        # the same truck seen by another system: one vehicle
        rec("HazchemVehicle", "HV-7", "hazchem-registry", plate="津G53486"),
    ],
    [
        # a firm without a code, known so far only by itself, then registered with one
        rec("Enterprise", "LOOSE-1", "complaints", name="天津海河环保科技有限公司"),
    ],
    [
        rec(
            "Enterprise",
            "ENT-4",
            "market-registry",
            name="天津海河环保科技有限公司",
            uscc=HAIHE,
            grid_cell="C1",
        ),
    ],
]


Snapshot = tuple[set[Entity], set[Member], set[Relation], set[Relation]]


def snapshot(graph: GraphStore) -> Snapshot:
    if isinstance(graph, SqliteGraph):
        with graph.engine.connect() as conn:
            ents = {Entity(**r._mapping) for r in conn.execute(entities.select())}
            mems = {Member(**r._mapping) for r in conn.execute(members.select())}
            rels, waiting = (
                {
                    Relation(**{k: v for k, v in r._mapping.items() if k != "id"})
                    for r in conn.execute(table.select())
                }
                for table in (edges, pending)
            )
        return ents, mems, rels, waiting
    ents_l, mems_l, rels_l = graph.dump()  # type: ignore[attr-defined]
    return set(ents_l), set(mems_l), set(rels_l), set()


def open_pair(backend: str, tmp_path: Path) -> tuple[GraphStore, GraphStore]:
    if backend == "sqlite":
        return (
            open_graph(f"sqlite:///{tmp_path / 'followed.db'}"),
            open_graph(f"sqlite:///{tmp_path / 'rebuilt.db'}"),
        )
    return open_graph(neo4j_graph_url()), open_graph(neo4j_graph_url())


@pytest.fixture(params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def graphs(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[GraphStore, GraphStore]]:
    followed, rebuilt = open_pair(request.param, tmp_path)
    yield followed, rebuilt
    for g in (followed, rebuilt):
        if hasattr(g, "drop"):
            g.drop()
        g.close()


@pytest.fixture
def search(tmp_path: Path) -> Iterator[SearchIndex]:
    index = open_search(f"sqlite:///{tmp_path / 'search.db'}")
    yield index
    index.close()


def test_following_the_feed_ends_where_a_full_rebuild_does(
    store: RecordStore, graphs: tuple[GraphStore, GraphStore], search: SearchIndex
) -> None:
    followed, rebuilt = graphs
    store.upsert(BUILT)
    build_graph(store, followed, secret=SECRET)
    reindex_search(store, search)
    follower = IndexFollower(store, followed, search, secret=SECRET)
    position = feed.head(store.engine)
    for batch in BATCHES:
        store.upsert(batch)
        entries = feed.read_after(store.engine, position, topics=["record"])
        position = entries[-1].seq
        follower.apply((e.kind, e.key) for e in entries if e.kind and e.key)
        build_graph(store, rebuilt, secret=SECRET)
        assert snapshot(followed) == snapshot(rebuilt)
    # and what that graph says, read through the interface
    firm = followed.entity(f"Firm:{YINHAO}")
    assert firm is not None and firm.label == "天津银昊融资租赁有限公司"
    assert {m.key: m.method for m in followed.members(firm.id)} == {
        "ENT-1": "uscc",
        "FIN-1": "uscc",
        "HCF-9": "name_address",
    }
    assert followed.entity_of("Enterprise", "LOOSE-1") == followed.entity_of("Enterprise", "ENT-4")
    new_firm = f"Firm:{XINGANG}"
    about = {(r.rel, r.src, r.dst) for r in followed.relations([new_firm])}
    assert ("OWNS_VEHICLE", new_firm, "Vehicle:津G53486") in about
    assert ("CONCERNS", "ServiceCase:CASE-2", new_firm) in about
    # relations stated before the firm was known, made when it arrived
    assert ("CONCERNS", "ServiceCase:CASE-0", new_firm) in about
    assert ("OWNS_VEHICLE", new_firm, "Vehicle:津G10001") in about
    assert ("LOCATED_IN", new_firm, "GridCell:C2") in about
    assert {m.key for m in followed.members("Vehicle:津G53486")} == {"TRK-1", "HV-7"}
    moved = followed.entity(f"Firm:{YUANTIAN}")
    assert moved is not None and moved.label == "天津远天新材料有限公司"
    assert followed.path(f"Firm:{YUANTIAN}", "GridCell:C1", max_hops=1) is not None
    assert followed.path(f"Firm:{YUANTIAN}", "GridCell:C2", max_hops=1) is None
    # the search index holds the new and the changed documents, as a rebuild would
    assert [h.key for h in search.search("渣土运输").hits] == ["ENT-3"]
    assert [h.key for h in search.search("远天新材料").hits] == ["ENT-2"]
    assert search.search("异味").total == 0 and search.search("泄漏").total == 1


def test_applying_a_batch_twice_changes_nothing(
    store: RecordStore, graphs: tuple[GraphStore, GraphStore], search: SearchIndex
) -> None:
    followed, _ = graphs
    store.upsert(BUILT)
    build_graph(store, followed, secret=SECRET)
    follower = IndexFollower(store, followed, search, secret=SECRET)
    store.upsert(BATCHES[0])
    refs = [(r.kind, r.key) for r in BATCHES[0]]
    follower.apply(refs)
    once = snapshot(followed), search.count()
    # a second worker, with its own read model, applying the same entries
    IndexFollower(store, followed, search, secret=SECRET).apply(refs)
    follower.apply(refs)
    assert (snapshot(followed), search.count()) == once


def test_a_new_firm_is_found_within_seconds_through_the_feed(
    store: RecordStore, tmp_path: Path, search: SearchIndex
) -> None:
    graph = open_graph(f"sqlite:///{tmp_path / 'graph.db'}")
    store.upsert(BUILT)
    build_graph(store, graph, secret=SECRET)
    reindex_search(store, search)
    follower = feed.FeedFollower(store.engine)
    IndexFollower(store, graph, search, secret=SECRET).follow(follower)

    async def scenario() -> float:
        running = asyncio.create_task(follower.run())
        try:
            # a sync brings the firm: validated, stored, one feed entry per record
            report = store.ingest(
                [r.model_dump(mode="json") for r in BATCHES[0]], source_system="market-registry"
            )
            assert report.accepted == len(BATCHES[0])
            started = time.perf_counter()
            while graph.entity(f"Firm:{XINGANG}") is None or not search.search("新港渣土").total:
                assert time.perf_counter() - started < 5, "not found within 5 s"
                await asyncio.sleep(0.05)
            return time.perf_counter() - started
        finally:
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running

    seconds = asyncio.run(scenario())
    print(f"new firm in the graph and the search index {seconds * 1000:.0f} ms after its write")
    assert graph.entity_of("MuckTruck", "TRK-1") is not None
    graph.close()
