"""Citizen-service response end to end: GraphQL with real tokens (an operator through the
login page, a department and a partner by client credentials) over the Binhai demo city plus
the four channels' cases as the sandbox makes them; Open311 over plain HTTP."""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import secrets
import sqlite3
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.apps.citizen_service as citizen_service
import hub.apps.live as live
from hub.app import create_app
from hub.apps import kit
from hub.apps.citizen_service.services import CitizenServiceCentre
from hub.apps.gov_services.services import GovernmentServices
from hub.auth.accounts import AccountStore
from hub.auth.open311_keys import new_open311_key
from hub.config import load_settings
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, register_client

REDIRECT = "http://127.0.0.1:9999/callback"
EARTH_R = 6_371_008.8


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore

    def gql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        return dict(answer.json())


def _sandbox_cases(demo_dir: Path) -> list[Record]:
    """The hotline, snap-and-send, mailbox and zero-distance cases, as the connectors store
    them (the sandbox generates them from the same seed and the same citizens)."""
    from simcity.sandbox.extra import service_cases

    citizens = [json.loads(line) for line in (demo_dir / "Citizen.jsonl").open()]
    out = []
    for records in service_cases(2019, citizens).values():
        for r in records:
            r = {k: v for k, v in r.items() if k != "updated_at"}
            r["attrs"] = {k: v for k, v in r["attrs"].items() if v is not None}
            out.append(Record.parse(r))
    return out


@pytest.fixture(scope="module")
def hub(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    # A copy of the demo city, so cases filed and inspectors moved here stay here.
    folder = tmp_path_factory.mktemp("citizen")
    source = sqlite3.connect(demo_store.engine.url.database)
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.upsert(_sandbox_cases(demo_dir))
    app = create_app(
        load_settings(data_dir=folder), store=store, apps=[live.APP, citizen_service.APP]
    )
    with TestClient(app) as http:
        yield Hub(app, http, store)


def person_token(h: Hub, username: str, role: str) -> str:
    """A person's token through the real login page (authorization code + PKCE)."""
    accounts = AccountStore(h.store.engine)
    if accounts.client("ops-desk") is None:
        accounts.create_client(
            "ops-desk",
            client_id="ops-desk",
            public=True,
            redirect_uris=[REDIRECT],
            scopes=["graph:read"],
            role="department",
        )
    if accounts.user(username) is None:
        accounts.create_user(username, f"{username}-pw-123", role)
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    params = {
        "response_type": "code",
        "client_id": "ops-desk",
        "redirect_uri": REDIRECT,
        "scope": "graph:read",
        "state": "s",
        "code_challenge": challenge.rstrip(b"=").decode(),
        "code_challenge_method": "S256",
    }
    page = h.http.get("/oauth/authorize", params=params)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = h.http.post(
        "/oauth/authorize",
        data=hidden | {"username": username, "password": f"{username}-pw-123", "decision": "allow"},
        follow_redirects=False,
    )
    assert done.status_code == 302, done.text
    code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    answer = h.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ops-desk",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def client_token(h: Hub, name: str, role: str = "partner") -> str:
    client_id, secret = register_client(h.app, name, role=role)
    return fetch_token(h.http, client_id, secret)


@pytest.fixture(scope="module")
def operator(hub: Hub) -> str:
    return person_token(hub, "olga", "operator")


CASE_FIELDS = """id trackingNumber status statusLabel category subcategory subcategoryName
  classifiedBy department gridCell street reporterName reporterPhone reporters dueAt overdue
  inspector inspectorDistanceM mergedInto duplicates result rating
  history { actor action fromStatus toStatus note }"""
FILE = f"mutation($input: FileCaseInput!) {{ fileCase(input: $input) {{ {CASE_FIELDS} }} }}"


def _cell_point(h: Hub, cell: str) -> tuple[float, float]:
    """A point well inside a grid cell (its inspector's home position is inside it)."""
    record = h.store.get("GridCell", cell)
    assert record is not None
    inspector = h.store.get("Inspector", record.attrs["inspector"])
    assert inspector is not None
    lon, lat = inspector.geometry["coordinates"]  # type: ignore[index]
    return float(lon), float(lat)


def _gql_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean!"
    return "Int!" if isinstance(value, int) else "String!"


def _haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_R * math.asin(math.sqrt(a))


def _brute_force_nearest(h: Hub, lon: float, lat: float, category: str) -> tuple[str, float]:
    best: tuple[float, str] | None = None
    after = None
    while True:
        chunk = h.store.page("Inspector", after=after, limit=1000)
        for r in chunk:
            a = r.attrs
            if not a.get("on_duty") or category not in (a.get("duty_categories") or []):
                continue
            x, y = r.geometry["coordinates"]  # type: ignore[index]
            d = _haversine(lon, lat, x, y)
            if best is None or (d, r.key) < best:
                best = (d, r.key)
        if len(chunk) < 1000:
            break
        after = chunk[-1].key
    assert best is not None
    return best[1], best[0]


def test_operator_moves_a_snap_report_through_the_whole_loop(hub: Hub, operator: str) -> None:
    lon, lat = _cell_point(hub, "BH-TAIDA-010")
    filed = hub.gql(
        operator,
        FILE,
        input={
            "channel": "SNAP",
            "description": "小区门口的井盖丢了，晚上很危险",
            "lon": lon + 0.0004,
            "lat": lat,
            "reporterName": "王小明",
            "reporterPhone": "13812345678",
            "mediaUrls": ["https://ssp.binhai.sim/p/test.jpg"],
        },
    )
    assert "errors" not in filed, filed
    case = filed["data"]["fileCase"]
    assert case["status"] == "FILED"
    # located in its cell, classified by keyword, department from the catalog
    assert case["gridCell"] == "BH-TAIDA-010" and case["street"] == "泰达街道"
    assert case["subcategory"] == "C08-01" and case["subcategoryName"] == "井盖缺失破损"
    assert case["classifiedBy"] == "keywords: 井盖"
    assert case["department"] == "区城市管理委员会"
    # operators see the citizen's phone masked too (personal data, not revealed to them)
    assert case["reporterPhone"] == "138****5678"
    case_id = case["id"]

    def step(mutation: str, **args: Any) -> dict[str, Any]:
        params = "".join(f", {k}: ${k}" for k in args)
        decl = "".join(f", ${k}: {_gql_type(v)}" for k, v in args.items())
        query = (
            f"mutation($id: ID!{decl}) {{ {mutation}(caseId: $id{params}) {{ {CASE_FIELDS} }} }}"
        )
        answer = hub.gql(operator, query, id=case_id, **args)
        assert "errors" not in answer, answer
        return dict(answer["data"][mutation])

    verifying = step("verifyCase")
    assert verifying["status"] == "VERIFYING"
    expected, metres = _brute_force_nearest(hub, lon + 0.0004, lat, "C08")
    assert verifying["inspector"] == expected
    assert verifying["inspectorDistanceM"] == pytest.approx(metres, abs=0.5)
    assert step("dispatchCase")["status"] == "DISPATCHED"
    transferred = step("transferCase", department="区交通运输局", note="井盖属道路设施")
    assert transferred["department"] == "区交通运输局"
    returned = step("returnMisroutedCase", note="小区内井盖归物业与城管")
    assert returned["status"] == "RETURNED"
    again = step("dispatchCase", department="区城市管理委员会")
    assert again["status"] == "DISPATCHED" and again["department"] == "区城市管理委员会"
    assert step("startHandlingCase")["status"] == "HANDLING"
    resolved = step("resolveCase", result="已补装井盖")
    assert resolved["status"] == "RESOLVED" and resolved["result"] == "已补装井盖"
    assert step("returnVisitCase", note="市民确认已修好")["status"] == "VISITED"
    assert step("rateCase", rating=5)["rating"] == 5
    closed = step("closeCase")
    assert closed["status"] == "CLOSED"
    assert [e["toStatus"] for e in closed["history"]] == [
        "filed", "verifying", "dispatched", "dispatched", "returned", "dispatched",
        "handling", "resolved", "visited", "rated", "closed",
    ]  # fmt: skip
    assert {e["actor"] for e in closed["history"]} == {"user:olga"}
    assert closed["overdue"] is False

    # the same queries list it with the source systems' cases
    listed = hub.gql(
        operator,
        "query($f: CaseFilterInput) { serviceCases(filter: $f, first: 5) "
        "{ totalCount edges { node { id sourceSystem status } } } }",
        f={"gridCell": "BH-TAIDA-010", "status": ["CLOSED"]},
    )["data"]["serviceCases"]
    assert case_id in [e["node"]["id"] for e in listed["edges"]]
    everything = hub.gql(operator, "{ serviceCases(first: 1) { totalCount } }")
    assert everything["data"]["serviceCases"]["totalCount"] >= 5500


def test_invalid_transitions_are_refused_clearly(hub: Hub, operator: str) -> None:
    lon, lat = _cell_point(hub, "BH-XINGANG-002")
    case = hub.gql(
        operator,
        FILE,
        input={"channel": "HOTLINE", "description": "路灯不亮已经三天了", "lon": lon, "lat": lat},
    )["data"]["fileCase"]
    refused = hub.gql(
        operator,
        'mutation($id: ID!) { resolveCase(caseId: $id, result: "x") { id } }',
        id=case["id"],
    )
    assert "is filed" in refused["errors"][0]["message"]
    assert "needs it handling" in refused["errors"][0]["message"]
    # the rule's error class says the code (hub.apps.kit), no resolver translates it
    assert refused["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    straight = hub.gql(
        operator, "mutation($id: ID!) { dispatchCase(caseId: $id) { id } }", id=case["id"]
    )
    assert "verifies it on site first" in straight["errors"][0]["message"]
    bad_rating = hub.gql(operator, 'mutation { rateCase(caseId: "nope", rating: 9) { id } }')
    assert "no ServiceCase with key 'nope'" in bad_rating["errors"][0]["message"]
    unknown = hub.gql(operator, 'query { caseProgress(trackingNumber: "BH-0000-NONE") { status } }')
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    # nothing changed
    still = hub.gql(operator, "query($id: ID!) { serviceCase(id: $id) { status } }", id=case["id"])
    assert still["data"]["serviceCase"]["status"] == "FILED"
    # and a partner cannot change cases at all
    partner = client_token(hub, "partner-writes")
    denied = hub.gql(
        partner, "mutation($id: ID!) { verifyCase(caseId: $id) { id } }", id=case["id"]
    )
    assert "operator" in denied["errors"][0]["message"]
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    vague = hub.gql(
        operator,
        FILE,
        input={"channel": "HOTLINE", "description": "今天天气很好", "lon": lon, "lat": lat},
    )
    assert "matches no duty" in vague["errors"][0]["message"]
    assert vague["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    outside = hub.gql(
        operator,
        FILE,
        input={"channel": "HOTLINE", "description": "路灯不亮", "lon": 116.4, "lat": 39.9},
    )
    assert "outside the district" in outside["errors"][0]["message"]


def test_duplicates_merge_into_the_earlier_case_keeping_reporters(hub: Hub, operator: str) -> None:
    lon, lat = _cell_point(hub, "BH-HANGU-005")
    first = hub.gql(
        operator,
        FILE,
        input={"channel": "HOTLINE", "description": "路边垃圾满溢发臭", "lon": lon, "lat": lat,
               "reporterPhone": "13900000001"},
    )["data"]["fileCase"]  # fmt: skip
    second = hub.gql(
        operator,
        FILE,
        input={"channel": "SNAP", "description": "垃圾箱满了没人清", "lon": lon + 0.0005,
               "lat": lat + 0.0003, "reporterPhone": "13900000002"},
    )["data"]["fileCase"]  # fmt: skip
    assert first["subcategory"] == second["subcategory"] == "C01-14"
    assert second["status"] == "MERGED" and second["mergedInto"] == first["id"]
    original = hub.gql(
        operator,
        f"query($id: ID!) {{ serviceCase(id: $id) {{ {CASE_FIELDS} }} }}",
        id=first["id"],
    )["data"]["serviceCase"]
    assert original["duplicates"] == [second["id"]] and original["reporters"] == 2
    # far away, or another duty: no merge
    far = hub.gql(
        operator,
        FILE,
        input={"channel": "SNAP", "description": "垃圾满溢", "lon": lon + 0.02, "lat": lat},
    )["data"]["fileCase"]
    assert far["status"] == "FILED"
    # the second reporter follows the merged case through the first's progress
    progress = hub.gql(
        operator,
        "query($n: String!) { caseProgress(trackingNumber: $n) "
        "{ status mergedIntoTracking steps { status note } } }",
        n=second["trackingNumber"],
    )["data"]["caseProgress"]
    assert progress["status"] == "FILED"
    # the first case's tracking number is its own reporter's: never handed to the second
    assert progress["mergedIntoTracking"] is None
    assert first["trackingNumber"] not in json.dumps(progress)


def test_nearest_on_duty_inspector_with_the_duty(hub: Hub, operator: str) -> None:
    lon, lat = _cell_point(hub, "BH-DAGU-003")
    home = hub.store.get("GridCell", "BH-DAGU-003").attrs["inspector"]  # type: ignore[union-attr]
    # the cell's own inspector goes off duty right at the spot: not chosen
    moved = hub.gql(
        operator,
        "mutation($id: ID!, $lon: Float!, $lat: Float!) "
        "{ moveInspector(inspectorId: $id, lon: $lon, lat: $lat, onDuty: false) { id onDuty } }",
        id=home,
        lon=lon,
        lat=lat,
    )
    assert moved["data"]["moveInspector"] == {"id": home, "onDuty": False}
    # another inspector, on duty and nearby, who does not cover emergencies (C05)
    near = hub.store.get("Inspector", "INS-BH-DAGU-004")
    assert near is not None
    hub.store.upsert(
        [
            near.model_copy(
                update={
                    "attrs": near.attrs | {"duty_categories": ["C01", "C04"], "on_duty": True},
                    "geometry": {"type": "Point", "coordinates": [lon + 0.001, lat]},
                    "ingested_at": None,
                }
            )
        ]
    )
    # a third moves in with the duty, a bit further away
    third = "INS-BH-DAGU-005"
    hub.gql(
        operator,
        "mutation($id: ID!, $lon: Float!, $lat: Float!) "
        "{ moveInspector(inspectorId: $id, lon: $lon, lat: $lat, onDuty: true) { id } }",
        id=third,
        lon=lon - 0.003,
        lat=lat,
    )
    case = hub.gql(
        operator,
        FILE,
        input={"channel": "HOTLINE", "description": "路面塌陷出现大坑", "lon": lon, "lat": lat},
    )["data"]["fileCase"]
    assert case["category"] == "C05"
    verified = hub.gql(
        operator,
        "mutation($id: ID!) { verifyCase(caseId: $id) { inspector inspectorDistanceM } }",
        id=case["id"],
    )["data"]["verifyCase"]
    expected, metres = _brute_force_nearest(hub, lon, lat, "C05")
    assert expected == third
    assert verified["inspector"] == third
    assert verified["inspectorDistanceM"] == pytest.approx(metres, abs=0.5)


def test_overdue_flag_and_statistics(hub: Hub, operator: str) -> None:
    lon, lat = _cell_point(hub, "BH-ZHONGTANG-001")
    late = hub.gql(
        operator,
        FILE,
        input={
            "channel": "ZERO_DISTANCE",
            "description": "燃气管道泄漏，有煤气味",
            "lon": lon,
            "lat": lat,
            "reportedAt": (datetime.now(UTC) - timedelta(hours=3)).isoformat(),
        },
    )["data"]["fileCase"]
    assert late["subcategory"] == "C05-03"  # two-hour limit
    assert late["overdue"] is True
    due = datetime.fromisoformat(late["dueAt"])
    assert due < datetime.now(UTC)
    overdue = hub.gql(
        operator,
        "query($f: CaseFilterInput) { serviceCases(filter: $f) { totalCount edges "
        "{ node { id overdue } } } }",
        f={"overdue": True, "gridCell": "BH-ZHONGTANG-001", "sourceSystem": "cityhub"},
    )["data"]["serviceCases"]
    assert [e["node"]["id"] for e in overdue["edges"]] == [late["id"]]
    stats = hub.gql(
        operator,
        "{ serviceCaseStats { total merged sla { resolvedOnTime resolvedLate openOnTime "
        "openOverdue onTimeRate } byChannel { key total } byCategory { key label total } "
        "byDepartment { key total } byGridCell { key total overdue } } }",
    )["data"]["serviceCaseStats"]
    sla = stats["sla"]
    assert stats["total"] == sum(sla[k] for k in sla if k != "onTimeRate")
    assert {b["key"] for b in stats["byChannel"]} >= {
        "12345便民服务热线",
        "随手拍",
        "区长信箱",
        "政民零距离",
    }
    assert sum(b["total"] for b in stats["byCategory"]) == stats["total"]
    assert len(stats["byCategory"]) == 13
    assert stats["merged"] >= 1
    cell = next(b for b in stats["byGridCell"] if b["key"] == "BH-ZHONGTANG-001")
    assert cell["overdue"] >= 1


def test_service_circle(hub: Hub, operator: str) -> None:
    circle = hub.gql(
        operator,
        "{ serviceCircle(samples: 5000) { speedKmh minutes detourFactor reachM samples covered "
        "share onDutyInspectors streets { street share } } }",
    )["data"]["serviceCircle"]
    assert circle["reachM"] == pytest.approx(15 * 1000 / 60 * 15 / 1.3, abs=0.1)
    assert circle["samples"] == 5000
    assert circle["share"] == pytest.approx(circle["covered"] / 5000, abs=1e-4)
    assert 0.2 < circle["share"] < 1.0
    assert len(circle["streets"]) == 21
    slower = hub.gql(operator, "{ serviceCircle(samples: 5000, speedKmh: 5) { share } }")["data"][
        "serviceCircle"
    ]
    assert slower["share"] < circle["share"]


def test_partner_sees_masked_phone_and_cannot_see_tracking_numbers(hub: Hub, operator: str) -> None:
    partner = client_token(hub, "partner-reads")
    listed = hub.gql(
        partner,
        "{ serviceCases(first: 3, filter: {channel: MAILBOX}) { edges { node "
        "{ id reporterName reporterPhone channel } } } }",
    )
    nodes = [e["node"] for e in listed["data"]["serviceCases"]["edges"]]
    assert len(nodes) == 3
    raw = {r.key: r for r in hub.store.get_many("ServiceCase", [n["id"] for n in nodes]).values()}
    for node in nodes:
        phone = raw[node["id"]].attrs["reporter_phone"]
        assert node["reporterPhone"] == phone[:3] + "****" + phone[-4:]
        assert node["reporterName"] != raw[node["id"]].attrs["reporter"]
    refused = hub.gql(partner, "{ serviceCases(first: 1) { edges { node { trackingNumber } } } }")
    assert "trackingNumber" in refused["errors"][0]["message"]


def test_citizen_follows_a_report_by_tracking_number(hub: Hub, operator: str) -> None:
    lon, lat = _cell_point(hub, "BH-XINCHENG-001")
    case = hub.gql(
        operator,
        FILE,
        input={"channel": "SNAP", "description": "楼下烧烤店油烟太大", "lon": lon, "lat": lat,
               "reporterName": "赵六", "reporterPhone": "13700001111"},
    )["data"]["fileCase"]  # fmt: skip
    hub.gql(operator, "mutation($id: ID!) { verifyCase(caseId: $id) { id } }", id=case["id"])
    app_token = client_token(hub, "binhai-app")  # the 滨海掌上行 app asks for the citizen
    query = (
        "query($n: String!) { caseProgress(trackingNumber: $n) { trackingNumber status "
        "statusLabel categoryName steps { status label note } result } }"
    )
    progress = hub.gql(app_token, query, n=case["trackingNumber"])
    assert "errors" not in progress, progress
    view = progress["data"]["caseProgress"]
    assert view["status"] == "VERIFYING" and view["statusLabel"] == "核查中"
    assert [s["status"] for s in view["steps"]] == ["filed", "verifying"]
    text = json.dumps(progress, ensure_ascii=False)
    assert "赵六" not in text and "13700001111" not in text and "INS-" not in text
    guessed = hub.gql(app_token, query, n=case["id"] + "-00000000")
    assert "no case with this tracking number" in guessed["errors"][0]["message"]


def test_every_transition_is_published(hub: Hub, operator: str) -> None:
    published: list[dict[str, Any]] = []
    live_bus = hub.app.state.hub.live
    original = live_bus.publish_case

    async def capture(update: dict[str, Any]) -> None:
        published.append(update)
        await original(update)

    live_bus.publish_case = capture
    try:
        lon, lat = _cell_point(hub, "BH-GULIN-002")
        case = hub.gql(
            operator,
            FILE,
            input={"channel": "GRID", "description": "共享单车乱停放堵住盲道", "lon": lon,
                   "lat": lat},
        )["data"]["fileCase"]  # fmt: skip
        # a grid inspector's own report goes straight to the department
        hub.gql(operator, "mutation($id: ID!) { dispatchCase(caseId: $id) { id } }", id=case["id"])
    finally:
        live_bus.publish_case = original
    mine = [u for u in published if u["case_id"] == case["id"]]
    assert [(u["previous_status"], u["status"]) for u in mine] == [
        (None, "filed"),
        ("filed", "dispatched"),
    ]
    for u in mine:
        assert set(u) >= {"case_id", "status", "previous_status", "at", "actor", "note",
                          "category", "channel", "grid_cell", "street"}  # fmt: skip
        assert u["actor"] == "user:olga" and u["grid_cell"] == "BH-GULIN-002"
        datetime.fromisoformat(u["at"])


# -- Open311 GeoReport v2 ---------------------------------------------------------------


def test_open311_services_post_and_get_back_in_json_and_xml(hub: Hub) -> None:
    token = client_token(hub, "open311-app")
    auth = bearer(token)
    services = hub.http.get("/open311/v2/services.json", headers=auth)
    assert services.status_code == 200
    listed = services.json()
    assert len(listed) == 124
    assert {"service_code", "service_name", "metadata", "type", "keywords", "group"} <= set(
        listed[0]
    )
    as_xml = ET.fromstring(hub.http.get("/open311/v2/services.xml", headers=auth).content)
    assert as_xml.tag == "services" and len(as_xml.findall("service")) == 124
    definition = hub.http.get("/open311/v2/services/C08-02.json", headers=auth).json()
    assert definition == {"service_code": "C08-02", "attributes": []}

    lon, lat = _cell_point(hub, "BH-TAIDA-020")
    posted = hub.http.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "C08-02",
            "lat": str(lat),
            "long": str(lon),
            "description": "小区路灯坏了一排",
            "first_name": "小红",
            "last_name": "李",
            "phone": "13611112222",
            "email": "li@example.cn",
            "media_url": "https://ssp.binhai.sim/p/lamp.jpg",
        },
        headers=auth,
    )
    assert posted.status_code == 201, posted.text
    request_id = posted.json()[0]["service_request_id"]
    assert "跟踪号" in posted.json()[0]["service_notice"]

    got = hub.http.get(f"/open311/v2/requests/{request_id}.json", headers=auth)
    assert got.status_code == 200
    row = got.json()[0]
    assert row["service_request_id"] == request_id and row["status"] == "open"
    assert row["service_code"] == "C08-02" and row["agency_responsible"] == "区城市管理委员会"
    assert row["lat"] == pytest.approx(lat) and row["long"] == pytest.approx(lon)
    assert row["media_url"] == "https://ssp.binhai.sim/p/lamp.jpg"
    for secret in ("13611112222", "li@example.cn", "李小红"):
        assert secret not in got.text

    xml = hub.http.get(f"/open311/v2/requests/{request_id}.xml", headers=auth)
    assert xml.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(xml.content)
    assert root.tag == "service_requests"
    request = root.find("request")
    assert request is not None
    assert request.findtext("service_request_id") == request_id
    assert request.findtext("status") == "open"
    assert float(request.findtext("lat") or 0) == pytest.approx(lat)
    assert "13611112222" not in xml.text

    # the spec's api_key is the client's Open311 key (never its token); filters narrow the list
    keyed, _ = register_client(hub.app, "open311-keyed")
    key = new_open311_key()
    AccountStore(hub.store.engine).set_open311_key(keyed, key)
    listed_requests = hub.http.get(
        "/open311/v2/requests.json",
        params={"api_key": key, "service_code": "C08-02", "status": "open"},
    )
    assert listed_requests.status_code == 200
    ids = [r["service_request_id"] for r in listed_requests.json()]
    assert request_id in ids
    assert all(r["service_code"] == "C08-02" for r in listed_requests.json())
    by_id = hub.http.get(
        "/open311/v2/requests.xml", params={"service_request_id": request_id}, headers=auth
    )
    assert [e.findtext("service_request_id") for e in ET.fromstring(by_id.content)] == [request_id]
    old = hub.http.get(
        "/open311/v2/requests.json",
        params={"start_date": "2026-03-01T00:00:00+08:00", "end_date": "2026-03-08T00:00:00+08:00"},
        headers=auth,
    )
    assert old.status_code == 200 and old.json()
    assert all(r["requested_datetime"] < "2026-03-08" for r in old.json())
    assert request_id not in [r["service_request_id"] for r in old.json()]


def test_open311_errors_in_the_spec_format(hub: Hub) -> None:
    anonymous = hub.http.get("/open311/v2/services.json")
    assert anonymous.status_code == 401
    assert anonymous.json()[0]["code"] == 401 and anonymous.json()[0]["description"]
    assert "www-authenticate" in anonymous.headers
    auth = bearer(client_token(hub, "open311-errors"))
    unknown = hub.http.get("/open311/v2/services/C99-99.xml", headers=auth)
    assert unknown.status_code == 404
    error = ET.fromstring(unknown.content).find("error")
    assert error is not None and error.findtext("code") == "404"
    missing = hub.http.get("/open311/v2/requests/CASE-NOPE.json", headers=auth)
    assert missing.status_code == 404
    no_place = hub.http.post(
        "/open311/v2/requests.json",
        data={"service_code": "C08-02", "description": "路灯"},
        headers=auth,
    )
    assert no_place.status_code == 400 and "location" in no_place.json()[0]["description"]
    bad_code = hub.http.post(
        "/open311/v2/requests.json",
        data={"service_code": "C08-99", "description": "x", "lat": "39.0", "long": "117.7"},
        headers=auth,
    )
    assert bad_code.status_code == 400 and "C08-99" in bad_code.json()[0]["description"]
    as_json = hub.http.post(
        "/open311/v2/requests.json", json={"service_code": "C08-02"}, headers=auth
    )
    assert as_json.status_code == 415
    bad_date = hub.http.get(
        "/open311/v2/requests.json", params={"start_date": "yesterday"}, headers=auth
    )
    assert bad_date.status_code == 400
    assert hub.http.get("/open311/v2/services.csv", headers=auth).status_code == 404


def test_another_apps_service_is_reached_by_its_type(hub: Hub) -> None:
    services = hub.app.state.hub
    centre = kit.service(services, CitizenServiceCentre)
    assert centre is services.apps["citizen_service"]
    # this hub runs without the government-services app: a clear error, never a silent None
    with pytest.raises(kit.AppNotInstalled, match="GovernmentServices"):
        kit.service(services, GovernmentServices)
