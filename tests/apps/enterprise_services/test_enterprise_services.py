"""Enterprise services "双万双服" end to end: a firm's request filed, assigned to its
department, handled, resolved, visited, rated and closed through GraphQL with real tokens —
carried by the citizen-service centre's closed loop (the same ServiceCase, its timeline),
invalid steps refused, figures by department, and partners' views by policy.

Runs on a copy of the demo city's store (filing writes cases)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.policy_helpers import department_policy, publish_approved, publish_source

REQUEST = """key firm firmName uscc requestType department status statusLabel filedAt dueAt
  overdue result rating gridCell contactName contactPhone
  timeline { action fromStatus toStatus actor note }"""
FILE = (
    "mutation($i: FileEnterpriseRequestInput!) { fileEnterpriseRequest(input: $i) { "
    + REQUEST
    + " } }"
)


@pytest.fixture(scope="module")
def city(
    demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, TestClient, RecordStore]]:
    from hub.app import create_app
    from hub.config import load_settings

    folder: Path = tmp_path_factory.mktemp("enterprise-services")
    source = demo_store.engine.url.database
    assert source
    with sqlite3.connect(source) as src, sqlite3.connect(folder / "hub.db") as dst:
        src.backup(dst)
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    app = create_app(load_settings(data_dir=folder), store=store)
    with TestClient(app) as http:
        yield app, http, store
    store.close()


@pytest.fixture(scope="module")
def ops(city: tuple[Starlette, TestClient, RecordStore]) -> str:
    app, http, _ = city
    return person_token(http, app, "esr-ops", "operator", "graph:read")


@pytest.fixture(scope="module")
def dept(city: tuple[Starlette, TestClient, RecordStore]) -> str:
    app, http, _ = city
    client_id, secret = register_client(app, f"esr-dept-{time.monotonic_ns()}", role="department")
    # the industry bureau's app: it acts on the requests routed to its department only
    source = department_policy(client_id, "区工业和信息化局")
    publish_source(app.state.policy_workflow, source, "industry")
    return fetch_token(http, client_id, secret)


def answer(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    body = answer(http, tok, query, **variables)
    assert "errors" not in body, body
    return dict(body["data"])


def error(http: TestClient, tok: str, query: str, **variables: Any) -> str:
    body = answer(http, tok, query, **variables)
    assert body.get("errors"), body
    return str(body["errors"][0]["message"])


def step(http: TestClient, tok: str, name: str, key: str, args: str = "") -> dict[str, Any]:
    q = f'mutation {{ {name}(key: "{key}"{args}) {{ {REQUEST} }} }}'
    return dict(gql(http, tok, q)[name])


def file(http: TestClient, tok: str, firm: str, kind: str = "融资需求") -> dict[str, Any]:
    i = {
        "firm": firm,
        "requestType": kind,
        "description": "企业扩产需要流动资金贷款，请协调银行对接。",
        "contactName": "司马光明",
        "contactPhone": "13912345678",
    }
    return dict(gql(http, tok, FILE, i=i)["fileEnterpriseRequest"])


def test_a_request_goes_round_the_closed_loop(
    city: tuple[Starlette, TestClient, RecordStore], ops: str, dept: str
) -> None:
    _, http, store = city
    firm = store.get("Enterprise", "ENT-0000100")
    assert firm is not None
    got = file(http, ops, firm.key)
    key = got["key"]
    assert got["status"] == "filed" and got["department"] == "区金融工作局"
    assert got["firm"] == firm.key and got["uscc"] == firm.attrs["uscc"]
    assert got["gridCell"] == firm.attrs["grid_cell"]
    filed, due = datetime.fromisoformat(got["filedAt"]), datetime.fromisoformat(got["dueAt"])
    assert due - filed == timedelta(hours=120) and not got["overdue"]
    # steps out of order are refused, the request unchanged
    assert "needs it handling" in error(
        http, ops, f'mutation {{ resolveEnterpriseRequest(key: "{key}", result: "x") {{ key }} }}'
    )
    # the finance office's request is not the industry bureau's to act on: not found
    assert f"no ServiceCase with key '{key}'" == error(
        http, dept, f'mutation {{ startEnterpriseRequest(key: "{key}") {{ key }} }}'
    )
    assert step(http, ops, "assignEnterpriseRequest", key)["status"] == "dispatched"
    moved = step(http, ops, "transferEnterpriseRequest", key, ', department: "区工业和信息化局"')
    assert moved["department"] == "区工业和信息化局" and moved["status"] == "dispatched"
    assert "needs the operator role" in error(
        http, dept, f'mutation {{ assignEnterpriseRequest(key: "{key}") {{ key }} }}'
    )
    assert step(http, dept, "startEnterpriseRequest", key)["status"] == "handling"
    assert "rating" in error(
        http, ops, f'mutation {{ rateEnterpriseRequest(key: "{key}", rating: 5) {{ key }} }}'
    ) or "needs it visited" in error(
        http, ops, f'mutation {{ rateEnterpriseRequest(key: "{key}", rating: 5) {{ key }} }}'
    )
    done = step(http, dept, "resolveEnterpriseRequest", key, ', result: "已对接两家银行授信"')
    assert done["status"] == "resolved" and done["result"] == "已对接两家银行授信"
    step(http, ops, "returnVisitEnterpriseRequest", key)
    assert "a rating is 1 to 5" in error(
        http, ops, f'mutation {{ rateEnterpriseRequest(key: "{key}", rating: 6) {{ key }} }}'
    )
    rated = step(http, ops, "rateEnterpriseRequest", key, ", rating: 5")
    assert rated["status"] == "rated" and rated["rating"] == 5
    closed = step(http, ops, "closeEnterpriseRequest", key)
    assert closed["status"] == "closed"
    assert [e["action"] for e in closed["timeline"]] == [
        "file", "dispatch", "transfer", "start_handling", "resolve", "return_visit", "rate",
        "close",
    ]  # fmt: skip
    assert [e["toStatus"] for e in closed["timeline"]][-3:] == ["visited", "rated", "closed"]
    assert all(e["actor"] for e in closed["timeline"])
    assert "needs it" in error(
        http, ops, f'mutation {{ closeEnterpriseRequest(key: "{key}") {{ key }} }}'
    )
    # one door: the same case in the citizen-service centre, on the enterprise channel
    case = gql(http, ops, f'{{ serviceCase(id: "{key}") {{ channel status department }} }}')
    assert case["serviceCase"] == {
        "channel": "双万双服企业服务平台",
        "status": "CLOSED",
        "department": "区工业和信息化局",
    }
    assert store.get("ServiceCase", key) is not None


def test_bad_requests_are_refused(
    city: tuple[Starlette, TestClient, RecordStore], ops: str
) -> None:
    http = city[1]
    i = {"firm": "ENT-0000100", "requestType": "借钱", "description": "x"}
    assert "request type" in error(http, ops, FILE, i=i)
    i = {"firm": "ENT-NOPE", "requestType": "政策咨询", "description": "x"}
    assert "no firm" in error(http, ops, FILE, i=i)
    i = {"firm": "ENT-0000100", "requestType": "政策咨询", "description": "  "}
    assert "description" in error(http, ops, FILE, i=i)
    # a citizen's case is not an enterprise request
    other = "CASE-SS-T000001"
    city[2].upsert(
        [
            Record(
                kind="ServiceCase",
                key=other,
                source_system="snap-and-send",
                source_id=other,
                fetched_at=datetime.now(UTC),
                attrs={"channel": "随手拍", "status": "已立案", "content": "路灯不亮"},
            )
        ]
    )
    assert "no enterprise request" in error(
        http, ops, f'mutation {{ assignEnterpriseRequest(key: "{other}") {{ key }} }}'
    )


def test_figures_and_partners(
    city: tuple[Starlette, TestClient, RecordStore], ops: str, dept: str
) -> None:
    app, http, store = city
    keys = [file(http, ops, f"ENT-000020{n}", kind)["key"]
            for n, kind in enumerate(["政策咨询", "用地需求", "用工需求"])]  # fmt: skip
    step(http, ops, "assignEnterpriseRequest", keys[0])
    stats_q = """{ enterpriseRequestStats { totals { department total open resolved overdue
      rated averageRating } byDepartment { department total open resolved overdue rated
      averageRating } byType { requestType requests } } }"""
    stats = gql(http, ops, stats_q)["enterpriseRequestStats"]
    ours = [
        r
        for r in store.page("ServiceCase", limit=100_000)
        if r.attrs.get("channel") == "双万双服企业服务平台"
    ]
    assert stats["totals"]["total"] == len(ours) >= 4
    for name in ("total", "open", "resolved", "overdue", "rated"):
        assert sum(x[name] for x in stats["byDepartment"]) == stats["totals"][name]
    by = {x["department"]: x for x in stats["byDepartment"]}
    assert by["区规划和自然资源局"]["open"] >= 1 and by["区人社局"]["total"] >= 1
    assert sum(t["requests"] for t in stats["byType"]) == len(ours)
    listed = gql(
        http, ops, "{ enterpriseRequests(first: 100) { totalCount edges { node { key } } } }"
    )
    assert listed["enterpriseRequests"]["totalCount"] == len(ours)
    # a partner: the contact's name and phone masked
    client_id, secret = register_client(app, f"esr-partner-{time.monotonic_ns()}")
    partner = fetch_token(http, client_id, secret)
    seen = gql(http, partner, f'{{ enterpriseRequest(key: "{keys[0]}") {{ {REQUEST} }} }}')
    node = seen["enterpriseRequest"]
    assert node["contactName"] != "司马光明" and node["contactName"].startswith("司")
    assert node["contactPhone"] == "139****5678"
    # a counts-only partner: counts and figures, never a row
    client_id, secret = register_client(app, f"esr-counts-{time.monotonic_ns()}")
    workflow = app.state.policy_workflow
    draft = workflow.draft(
        f'name = "esr-counts-{client_id}"\nsubject = "client:{client_id}"\n'
        'clearance = "internal"\n[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counts = fetch_token(http, client_id, secret)
    # counts only, k = 5 (policies/README.md, "Counts-only figures"): the module's few
    # requests are too few to be counted — the list's total and the figures are refused
    assert len(ours) < 5
    listed_q = "{ enterpriseRequests(first: 100) { totalCount edges { node { key } } } }"
    for q in (listed_q, stats_q):
        assert "too few to be counted" in error(http, counts, q)
    assert gql(http, counts, f'{{ enterpriseRequest(key: "{keys[0]}") {{ key }} }}') == {
        "enterpriseRequest": None
    }
