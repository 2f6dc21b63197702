"""The enterprise-service platform's own requests enter the loop on sync: the sandbox's
platform (its REST API, dated by a clock started now) is synced into a copy of the demo
city's store by the hub's sync engine, and the enterprise-service queries over GraphQL show
its 500 requests with the loop state read from the platform's words, their department and
deadline; the loop's steps work on them like on requests filed at the hub."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connectors.binhai import binhai_area, build_connector
from connectors.transports.localserver import LocalServer
from connectors.validate import RecordValidator
from hub.ingest.sync import SyncEngine
from hub.store import RecordStore
from simcity.clock import SimClock
from simcity.sandbox import protocols
from simcity.sandbox.dataset import SystemData, build, read_city
from tests.auth_helpers import bearer, person_token
from tests.demo_copy import copy_of

SYSTEM = "enterprise-service"
NODE = """key firm firmName uscc requestType department status statusLabel filedAt dueAt
  overdue resolvedAt gridCell timeline { action toStatus }"""
LIST = f"{{ enterpriseRequests(first: 1000) {{ totalCount edges {{ node {{ {NODE} }} }} }} }}"
# the platform's words, read as the loop's states
READ_AS = {"已受理": "filed", "办理中": "handling", "已办结": "resolved", "已评价": "rated"}


async def _sync(platform: SystemData, store: RecordStore) -> dict[str, Any]:
    server = await LocalServer(protocols.rest_app(platform, lambda: False)).start()
    try:
        connector = build_connector(SYSTEM, {"url": server.url})
        report = await SyncEngine(store, RecordValidator(binhai_area())).sync(connector)
    finally:
        await server.stop()
    return dict(vars(report))


@pytest.fixture(scope="module")
def city(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, TestClient, RecordStore, SystemData, dict[str, Any]]]:
    from hub.app import create_app
    from hub.config import load_settings

    folder = tmp_path_factory.mktemp("platform-requests")
    store = copy_of(demo_store, folder)
    # the platform as the running sandbox serves it: dated from a clock started now
    platform = build(2019, read_city(demo_dir), SimClock().shift)[SYSTEM]
    report = asyncio.run(_sync(platform, store))
    app = create_app(load_settings(data_dir=folder), store=store)
    with TestClient(app) as http:
        yield app, http, store, platform, report
    store.close()


def gql(http: TestClient, token: str, query: str) -> dict[str, Any]:
    response = http.post("/graphql", json={"query": query}, headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return dict(body["data"])


@pytest.fixture(scope="module")
def ops(city: tuple[Starlette, TestClient, RecordStore, SystemData, dict[str, Any]]) -> str:
    app, http, *_ = city
    return person_token(http, app, "platform-ops", "operator", "graph:read")


def _rows(platform: SystemData) -> dict[str, dict[str, Any]]:
    return {str(r["id"]): r for r in platform.streams["api/requests"]}


def test_the_platforms_requests_are_in_the_loop_after_a_sync(
    city: tuple[Starlette, TestClient, RecordStore, SystemData, dict[str, Any]], ops: str
) -> None:
    _, http, _, platform, report = city
    rows = _rows(platform)
    assert report["status"] == "ok" and report["fetched"] == len(rows) == 500
    assert report["quarantined"] == 0
    listed = gql(http, ops, LIST)["enterpriseRequests"]
    nodes = {e["node"]["key"]: e["node"] for e in listed["edges"]}
    assert set(rows) <= set(nodes) and listed["totalCount"] >= 500
    now = datetime.now(UTC)
    states: Counter[str] = Counter()
    for key, row in rows.items():
        node = nodes[key]
        # the loop's state from the platform's word; its department, deadline and firm
        assert node["statusLabel"] == row["status"]
        assert node["status"] == READ_AS[row["status"]]
        assert node["department"] == row["assignedDepartment"]
        assert datetime.fromisoformat(node["dueAt"]) == datetime.fromisoformat(row["deadline"])
        assert datetime.fromisoformat(node["filedAt"]) == datetime.fromisoformat(row["submittedAt"])
        assert node["firm"] == row["enterpriseId"] and node["requestType"] == row["requestType"]
        assert node["gridCell"] == row["gridCell"]
        # overdue by the centre's rule: an open request past its deadline now
        if node["status"] in ("filed", "handling"):
            assert node["overdue"] == (datetime.fromisoformat(row["deadline"]) < now)
        states[node["status"]] += 1
        states["overdue open" if node["overdue"] and not node["resolvedAt"] else "other"] += 1
    assert states["filed"] and states["handling"] and states["resolved"] and states["rated"]
    assert 0 < states["overdue open"] < states["filed"] + states["handling"]
    # the figures count them, by the platform's departments
    stats = gql(
        http, ops, "{ enterpriseRequestStats { totals { total open overdue } "
        "byDepartment { department total } byType { requestType requests } } }"
    )["enterpriseRequestStats"]  # fmt: skip
    assert stats["totals"]["total"] == listed["totalCount"]
    assert stats["totals"]["open"] >= states["filed"] + states["handling"]
    by_department = {x["department"]: x["total"] for x in stats["byDepartment"]}
    for department, n in Counter(r["assignedDepartment"] for r in rows.values()).items():
        assert by_department[department] >= n
    assert sum(t["requests"] for t in stats["byType"]) == listed["totalCount"]


def test_a_platform_request_takes_the_loops_steps(
    city: tuple[Starlette, TestClient, RecordStore, SystemData, dict[str, Any]], ops: str
) -> None:
    _, http, store, platform, _ = city
    rows = _rows(platform)
    accepted = next(k for k, r in sorted(rows.items()) if r["status"] == "已受理")
    handling = next(k for k, r in sorted(rows.items()) if r["status"] == "办理中")

    def step(name: str, key: str, args: str = "") -> dict[str, Any]:
        q = f'mutation {{ {name}(key: "{key}"{args}) {{ {NODE} }} }}'
        return dict(gql(http, ops, q)[name])

    assigned = step("assignEnterpriseRequest", accepted)
    assert assigned["status"] == "dispatched"
    assert assigned["department"] == rows[accepted]["assignedDepartment"]
    assert step("startEnterpriseRequest", accepted)["status"] == "handling"
    done = step("resolveEnterpriseRequest", handling, ', result: "已协调落实"')
    assert done["status"] == "resolved" and done["resolvedAt"]
    assert [e["action"] for e in done["timeline"]] == ["resolve"]
    # the same case in the citizen-service centre, on the platform's channel
    stored = store.get("ServiceCase", accepted)
    assert stored is not None and stored.source_system == SYSTEM
    assert stored.attrs["loop_status"] == "handling"
    assert stored.attrs["channel"] == "双万双服企业服务平台"
