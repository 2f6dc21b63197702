"""Economy one-map end to end: the statistics bureau's indicators (as the sandbox makes them,
plus a few made here) through GraphQL with real tokens — aggregates by grid cell, park and
industry that add up to the district total and equal an independent sum over the store;
trends in period order; firms on the map; a counts-only partner gets figures and no rows.

Runs on a copy of the demo city's store with the economic-statistics records added."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.store import RecordStore
from schema.record import Record
from tests.apps.workers import Worker, workers
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.demo_copy import copy_of, extra_records
from tests.policy_helpers import publish_approved

FIGS = "key name firms output10kCny revenue10kCny taxPaid10kCny employees"
AGG = (
    "query($by: EconomyGrouping!, $p: String) { economyAggregates(groupBy: $by, period: $p) "
    f"{{ period grouping total {{ {FIGS} }} groups {{ {FIGS} }} }} }}"
)


@pytest.fixture(scope="module")
def city(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, TestClient, RecordStore]]:
    from hub.app import create_app
    from hub.config import load_settings

    folder: Path = tmp_path_factory.mktemp("economy")
    store = copy_of(demo_store, folder)
    store.upsert(extra_records(demo_dir, "economic-stats"))
    # an earlier year for two firms, so the district trend has two periods
    firms = store.page("Enterprise", limit=2)
    store.upsert(
        Record(
            kind="EconomicIndicator",
            key=f"ECO-T-2024-{f.key}",
            source_system="economic-stats",
            source_id=f"TJ2024{f.key}",
            fetched_at=datetime(2025, 3, 1, tzinfo=UTC),
            attrs={
                "subject_type": "firm",
                "subject_name": f.attrs["name"],
                "uscc": None,
                "industry": f.attrs["industry"],
                "park": None,
                "period": "2024",
                "revenue_10k_cny": 100.0,
                "tax_paid_10k_cny": 5.0,
                "output_10k_cny": 80.0,
                "employees": 10,
            },
        )
        for f in firms
    )
    app = create_app(load_settings(data_dir=folder), store=store)
    with TestClient(app) as http:
        yield app, http, store
    store.close()


@pytest.fixture(scope="module")
def ops(city: tuple[Starlette, TestClient, RecordStore]) -> str:
    app, http, _ = city
    return person_token(http, app, "eco-ops", "operator", "graph:read")


def gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    body = response.json()
    assert response.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


def test_aggregates_add_up_and_equal_an_independent_sum(
    city: tuple[Starlette, TestClient, RecordStore], ops: str
) -> None:
    _, http, store = city
    rows = [r.attrs for r in store.page("EconomicIndicator", limit=100_000)
            if r.attrs["subject_type"] == "firm" and r.attrs["period"] == "2025"]  # fmt: skip
    assert len(rows) == store.count("Enterprise") == 3707
    oracle = {
        "output10kCny": sum(a["output_10k_cny"] for a in rows),
        "revenue10kCny": sum(a["revenue_10k_cny"] for a in rows),
        "taxPaid10kCny": sum(a["tax_paid_10k_cny"] for a in rows),
        "employees": sum(a["employees"] for a in rows),
    }
    industries = {a["industry"] for a in rows}
    for by in ("CELL", "PARK", "INDUSTRY"):
        agg = gql(http, ops, AGG, by=by)["economyAggregates"]
        assert agg["period"] == "2025" and agg["grouping"] == by
        total = agg["total"]
        assert total["firms"] == len(rows)
        assert total["employees"] == oracle["employees"]
        for name in ("output10kCny", "revenue10kCny", "taxPaid10kCny"):
            assert total[name] == pytest.approx(oracle[name], abs=0.1)
            assert sum(g[name] for g in agg["groups"]) == pytest.approx(total[name], abs=1.0)
        assert sum(g["firms"] for g in agg["groups"]) == total["firms"]
        assert sum(g["employees"] for g in agg["groups"]) == total["employees"]
        keys = [g["key"] for g in agg["groups"]]
        assert len(set(keys)) == len(keys)
        if by == "INDUSTRY":
            assert set(keys) == industries
        if by == "CELL":
            assert len(keys) > 100  # firms spread over many of the 743 cells
        if by == "PARK":
            assert keys[-1] is None and any(k for k in keys)  # firms outside the parks, last
    # an independent sum for one industry
    some = sorted(industries)[0]
    agg = gql(http, ops, AGG, by="INDUSTRY")["economyAggregates"]
    group = next(g for g in agg["groups"] if g["key"] == some)
    assert group["taxPaid10kCny"] == pytest.approx(
        sum(a["tax_paid_10k_cny"] for a in rows if a["industry"] == some), abs=0.1
    )
    assert gql(http, ops, AGG, by="PARK", p="2024")["economyAggregates"]["total"]["firms"] == 2


def test_trends_are_in_period_order(
    city: tuple[Starlette, TestClient, RecordStore], ops: str
) -> None:
    _, http, store = city
    q = (
        "query($park: String) { economyTrend(park: $park) "
        "{ period figures { firms taxPaid10kCny } } }"
    )
    district = gql(http, ops, q)["economyTrend"]
    assert [p["period"] for p in district] == ["2024", "2025"]
    assert district[0]["figures"] == {"firms": 2, "taxPaid10kCny": 10.0}
    park = store.page("IndustrialPark", limit=1)[0]
    series = gql(http, ops, q, park=park.key)["economyTrend"]
    assert [p["period"] for p in series] == ["2025Q1", "2025Q2", "2025Q3", "2025Q4"]
    reported = store.get("EconomicIndicator", f"ECO-{park.key}-2025Q3")
    assert reported is not None
    assert series[2]["figures"]["taxPaid10kCny"] == pytest.approx(
        reported.attrs["tax_paid_10k_cny"], abs=0.05
    )


def test_firms_on_the_map_and_a_counts_only_partner(
    city: tuple[Starlette, TestClient, RecordStore], ops: str
) -> None:
    app, http, _ = city
    q = """query($industry: String, $size: String) { economyFirms(first: 1000,
      industry: $industry, size: $size) { totalCount edges { node { key name industry park
      gridCell size period output10kCny lon lat geometry } } } }"""
    page = gql(http, ops, q)["economyFirms"]
    assert page["totalCount"] == 3707 and len(page["edges"]) == 1000
    nodes = [e["node"] for e in page["edges"]]
    assert all(n["geometry"]["type"] == "Point" and n["lon"] and n["gridCell"] for n in nodes)
    assert {n["size"] for n in nodes} <= {"large", "medium", "small", "micro"}
    assert any(n["park"] for n in nodes)
    one = nodes[0]
    only = gql(http, ops, q, industry=one["industry"], size=one["size"])["economyFirms"]
    assert all(
        e["node"]["industry"] == one["industry"] and e["node"]["size"] == one["size"]
        for e in only["edges"]
    )
    client_id, secret = register_client(app, f"eco-counts-{time.monotonic_ns()}")
    workflow = app.state.policy_workflow
    draft = workflow.draft(
        f'name = "eco-counts-{client_id}"\nsubject = "client:{client_id}"\n'
        'clearance = "internal"\n[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counts = fetch_token(http, client_id, secret)
    seen = gql(http, counts, q)["economyFirms"]
    assert seen == {"totalCount": 3707, "edges": []}
    assert gql(http, counts, AGG, by="PARK") == gql(http, ops, AGG, by="PARK")


@pytest.fixture()
def two(
    city: tuple[Starlette, TestClient, RecordStore], tmp_path: Path
) -> Iterator[tuple[Worker, Worker]]:
    """Two workers on one copy of the city's store."""
    from hub.apps import economy

    with workers(city[2], tmp_path, [economy.APP]) as made:
        yield made


FIRM_PARK = """query($park: String) { economyFirms(first: 1000, park: $park) {
  totalCount edges { node { key park lon lat } } } }"""


def test_another_worker_places_firms_in_a_new_and_a_renamed_park(
    two: tuple[Worker, Worker],
) -> None:
    """Parks written on worker A's store reach worker B's map by the feed: a new park around
    a firm outside every park takes it in, and a renamed park's group carries its new name."""
    a, b = two
    firms = [e["node"] for e in b.gql(FIRM_PARK)["economyFirms"]["edges"]]
    lone = next(n for n in firms if n["park"] is None)
    old = b.gql(AGG, by="PARK")["economyAggregates"]
    assert old == a.gql(AGG, by="PARK")["economyAggregates"]
    known = a.store.page("IndustrialPark", limit=1)[0]
    a.store.upsert([known.model_copy(update={"attrs": known.attrs | {"name": "测试更名园区"}})])
    lon, lat, d = lone["lon"], lone["lat"], 0.0003
    square = [[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d]]
    a.store.upsert(
        [
            Record(
                kind="IndustrialPark",
                key="PARK-T-NEW",
                source_system="economic-stats",
                source_id="PARK-T-NEW",
                fetched_at=datetime(2026, 6, 1, tzinfo=UTC),
                attrs={"name": "测试新园区"},
                geometry={"type": "Polygon", "coordinates": [[*square, square[0]]]},
                datum="GCJ-02",
            )
        ]
    )
    for w in (b, a):
        w.caught_up()
        inside = w.gql(FIRM_PARK, park="PARK-T-NEW")["economyFirms"]
        assert lone["key"] in {e["node"]["key"] for e in inside["edges"]}
        agg = w.gql(AGG, by="PARK")["economyAggregates"]
        groups = {g["key"]: g for g in agg["groups"]}
        assert groups["PARK-T-NEW"]["name"] == "测试新园区"
        assert groups["PARK-T-NEW"]["firms"] == inside["totalCount"]
        assert groups[known.key]["name"] == "测试更名园区"
        assert agg["total"] == old["total"]  # the same firms, grouped anew
