"""The knowledge graph and the search index follow the change feed: what the follower makes of
each batch of written records is what a full rebuild (``cityhub index``) makes of the store,
on every graph backend, and a new firm is found within seconds of its write."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub import feed
from hub.graph import Entity, GraphStore, Member, Relation, SqliteGraph, build_graph, open_graph
from hub.graph.sqlite_graph import edges, entities, members, pending
from hub.indexing import IndexFollower, rebuild, reindex_search
from hub.search import SEARCHABLE_KINDS, SearchIndex, open_search
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


HOTLINE = "service-hotline"  # a push-mode system: signed webhook deliveries
HOTLINE_SECRET = "hotline-webhook-secret"
ENTITY = """query($id: String!) { entity360(id: $id) {
  type label sources { system kind key } relations(first: 20) { rel other { type label } } } }"""
SEARCH = """query($q: String!) { search(query: $q, first: 5) {
  totalCount edges { node { kind key title entity { type } } } } }"""


def test_a_synced_firm_and_a_pushed_case_are_found_over_graphql_without_reindexing(
    tmp_path: Path,
) -> None:
    from starlette.testclient import TestClient

    from connectors.transports.webhook import sign
    from hub.app import create_app
    from hub.config import load_settings
    from tests.auth_helpers import authorize

    endpoints = tmp_path / "endpoints.json"
    endpoints.write_text(
        json.dumps({"systems": {HOTLINE: {"url": "http://127.0.0.1:9", "secret": HOTLINE_SECRET}}})
    )
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert(BUILT)
    settings = load_settings(data_dir=tmp_path, sources=endpoints)
    # the graph and the index as `cityhub index` last left them
    graph = open_graph(settings.graph_store_url)
    search = open_search(settings.search_store_url)
    rebuild(store, graph, search, secret=settings.effective_secret())
    app = create_app(settings, store=store, graph=graph, search=search)

    def gql(http: TestClient, query: str, **variables: object) -> dict[str, Any]:
        body = http.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in body, body
        return body["data"]

    def within(seconds: float, found: Callable[[], bool]) -> float:
        started = time.perf_counter()
        while not found():
            assert time.perf_counter() - started < seconds, f"not found within {seconds} s"
            time.sleep(0.05)
        return time.perf_counter() - started

    with TestClient(app) as http:
        authorize(http, app)
        before = gql(http, SEARCH, q="新港渣土运输")["search"]["edges"]
        assert "ENT-3" not in {e["node"]["key"] for e in before}
        # a sync of the market registry stores the new firm (the store write a sync makes)
        store.ingest(
            [r.model_dump(mode="json") for r in BATCHES[0]], source_system="market-registry"
        )
        firm = f"Firm:{XINGANG}"

        def firm_found() -> bool:
            body = http.post("/graphql", json={"query": ENTITY, "variables": {"id": firm}}).json()
            return "errors" not in body

        firm_s = within(10, firm_found)
        entity = gql(http, ENTITY, id=firm)["entity360"]
        assert entity["label"] == "天津新港渣土运输有限公司"
        # its record, and the cases about it: filed in the same sync, and filed before it
        assert {s["key"] for s in entity["sources"]} == {"ENT-3", "CASE-2", "CASE-0"}
        assert {(r["rel"], r["other"]["type"]) for r in entity["relations"]} >= {
            ("OWNS_VEHICLE", "Vehicle"),
            ("CONCERNS", "ServiceCase"),
            ("LOCATED_IN", "GridCell"),
        }
        hits = gql(http, SEARCH, q="新港渣土运输")["search"]
        assert hits["edges"][0]["node"]["key"] == "ENT-3"
        assert hits["edges"][0]["node"]["entity"]["type"] == "Firm"
        # a case pushed by the hotline's webhook
        event = {
            "eventType": "upsert", "caseKey": "RX-FOLLOW-1", "workOrderNo": "RX-FOLLOW-1",
            "channel": "hotline", "content": "海河大桥桥下油污漂浮", "lng": 117.70, "lat": 39.02,
            "reportedAt": "2026-11-25T08:00:00+08:00", "updatedAt": "2026-11-25T08:00:00+08:00",
        }  # fmt: skip
        delivery = {"delivery": "follow-1", "sequence": 1, "events": [event], "final": True}
        body = json.dumps(delivery, ensure_ascii=False).encode()
        pushed = http.post(f"/webhooks/{HOTLINE}", content=body, headers=sign(HOTLINE_SECRET, body))
        assert pushed.status_code == 202, pushed.text
        case_s = within(10, lambda: gql(http, SEARCH, q="桥下油污")["search"]["totalCount"] == 1)
        case = gql(http, SEARCH, q="桥下油污")["search"]["edges"][0]["node"]
        assert case["kind"] == "ServiceCase"
        assert gql(http, ENTITY, id=f"ServiceCase:{case['key']}")["entity360"]["type"] == (
            "ServiceCase"
        )
    print(f"firm in entity360 after {firm_s * 1000:.0f} ms, pushed case searchable after "
          f"{case_s * 1000:.0f} ms")  # fmt: skip


def test_two_workers_applying_the_same_feed_at_once_end_in_the_rebuilt_graph(
    store: RecordStore, tmp_path: Path
) -> None:
    """Every worker follows the feed and writes the shared graph and index (no lease): the
    updates are computed from the store's rows, so racing workers converge on its state."""
    import threading

    shared = f"sqlite:///{tmp_path / 'shared-graph.db'}"
    store.upsert(BUILT)
    build_graph(store, open_graph(shared), secret=SECRET)
    start = feed.head(store.engine)
    for batch in BATCHES:
        store.upsert(batch)
    entries = feed.read_after(store.engine, start)
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        graph = open_graph(shared)
        index = open_search(f"sqlite:///{tmp_path / 'shared-search.db'}")
        follower = IndexFollower(store, graph, index, secret=SECRET)
        # batches of 3 entries, in feed order, as a FeedFollower hands them over; a batch
        # that meets the other worker's lock is taken again, as the feed retries a handler
        for at in range(0, len(entries), 3):
            refs = [(e.kind, e.key) for e in entries[at : at + 3] if e.kind and e.key]
            for attempt in range(20):
                try:
                    follower.apply(refs)
                    break
                except Exception as exc:  # retried, then reported
                    if attempt == 19:
                        failures.append(exc)
                    time.sleep(0.05 * (n + 1))
        graph.close()
        index.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
    rebuilt = open_graph(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    build_graph(store, rebuilt, secret=SECRET)
    assert snapshot(open_graph(shared)) == snapshot(rebuilt)
    index = open_search(f"sqlite:///{tmp_path / 'shared-search.db'}")
    written = [(k, r.key) for k in SEARCHABLE_KINDS for r in store.scan(k) if (k, r.key) in {
        (e.kind, e.key) for e in entries
    }]  # fmt: skip
    assert index.count() == len(written) and [h.key for h in index.search("渣土运输").hits] == [
        "ENT-3"
    ]
    assert index.search("泄漏").total == 1


def test_writes_made_while_no_worker_ran_are_applied_when_one_starts(
    store: RecordStore, tmp_path: Path, search: SearchIndex
) -> None:
    graph = open_graph(f"sqlite:///{tmp_path / 'graph.db'}")
    store.upsert(BUILT)
    rebuild(store, graph, search, secret=SECRET)
    assert graph.position() == feed.head(store.engine)
    # `cityhub sync` with the hub down
    store.upsert(BATCHES[0])
    assert graph.entity(f"Firm:{XINGANG}") is None
    # a worker starts: its feed follower begins at the head, the graph's follower where the
    # graph was left
    follower = feed.FeedFollower(store.engine)
    IndexFollower(store, graph, search, secret=SECRET).follow(follower)
    asyncio.run(follower.caught_up())
    assert graph.entity(f"Firm:{XINGANG}") is not None
    assert [h.key for h in search.search("渣土运输").hits] == ["ENT-3"]
    assert graph.position() == feed.head(store.engine)
    graph.close()
