"""Water supervision end to end on the demo city: rivers, stations, pumps and gates through
GraphQL with real tokens and policies; telemetry in through ``POST /telemetry`` with a real
``telemetry:write`` token, alarms out through the response, the store and the ``alarms``
subscription.

The tests share one hub (the demo city is session-wide): the figures are checked first, on
the state as loaded, and each later test uses stations and gauges of its own."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.testclient import TestClient
from websockets import Subprotocol

from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.live_server import served
from tests.policy_helpers import publish_approved

PROTOCOL = "graphql-transport-ws"
# Telemetry times: after the demo city's last readings (2026-05-31), after the hazchem tests'
# block, one block per test so the tests do not depend on their order.
T0 = 1_791_000_000.0
RIVER_NAMES = {
    "海河",
    "蓟运河",
    "永定新河",
    "潮白新河",
    "独流减河",
    "子牙新河",
    "北排河",
    "马厂减河",
    "青静黄排水渠",
    "八米河",
    "黑猪河",
    "沧浪渠",
}
# The oracle: GB 3838-2002 Table 1 limits of the four items the stations measure, by hand.
DO_FLOOR = [7.5, 6, 5, 3, 2]
CEILINGS = {
    "permanganate_index_mg_l": [2, 4, 6, 10, 15],
    "ammonia_nitrogen_mg_l": [0.15, 0.5, 1.0, 1.5, 2.0],
    "total_phosphorus_mg_l": [0.02, 0.1, 0.2, 0.3, 0.4],
}
ROMAN = ["I", "II", "III", "IV", "V", "劣V"]


def oracle_class(readings: dict[str, float]) -> int:
    worst = 1
    do = readings["dissolved_oxygen_mg_l"]
    worst = max(worst, next((i + 1 for i, x in enumerate(DO_FLOOR) if do >= x), 6))
    for name, limits in CEILINGS.items():
        v = readings[name]
        worst = max(worst, next((i + 1 for i, x in enumerate(limits) if v <= x), 6))
    return worst


@pytest.fixture(scope="module")
def hub(demo_app: Starlette) -> Iterator[tuple[Starlette, TestClient]]:
    with TestClient(demo_app) as http:
        yield demo_app, http


@pytest.fixture(scope="module")
def ops(hub: tuple[Starlette, TestClient]) -> str:
    """An operations-centre operator (a person, signed in through the real login page)."""
    app, http = hub
    return person_token(http, app, "water-ops", "operator", "graph:read")


def token(app: Starlette, http: TestClient, name: str, **options: Any) -> str:
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(http, client_id, secret)


def ask(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    body = ask(http, tok, query, **variables)
    assert "errors" not in body, body
    return dict(body["data"])


def post(http: TestClient, tok: str, readings: list[Any]) -> dict[str, Any]:
    answer = http.post("/telemetry", json={"readings": readings}, headers=bearer(tok))
    assert answer.status_code in (200, 422), answer.text
    return dict(answer.json())


def jsonl(demo_dir: Path, kind: str) -> list[dict[str, Any]]:
    lines = (demo_dir / f"{kind}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


RIVERS = """{ rivers(first: 100) { totalCount edges { node { key name targetClass waterClass
  waterClassNumber complianceRate compliant geometry quality { stations stationsSampled
  stationsCompliant samples } } } } }"""


def test_the_twelve_rivers_their_classes_and_compliance_rates(
    hub: tuple[Starlette, TestClient], ops: str, demo_dir: Path
) -> None:
    _, http = hub
    data = gql(http, ops, RIVERS)["rivers"]
    assert data["totalCount"] == 12
    rivers = {e["node"]["key"]: e["node"] for e in data["edges"]}
    assert {r["name"] for r in rivers.values()} == RIVER_NAMES
    assert all(r["geometry"]["type"] in ("LineString", "MultiLineString") for r in rivers.values())
    # the independent count: the source's stations, classed by the oracle, against the target
    stations: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in jsonl(demo_dir, "WaterStation"):
        stations[row["attrs"]["river"]].append(row["attrs"])
    for key, river in rivers.items():
        mine = stations[key]
        classes = [oracle_class(s["readings"]) for s in mine]
        assert classes == [s["quality_class"] for s in mine]  # the source agrees with the oracle
        met = sum(1 for c in classes if c <= river["targetClass"])
        assert river["quality"] == {
            "stations": len(mine),
            "stationsSampled": len(mine),
            "stationsCompliant": met,
            "samples": len(mine),
        }
        assert river["complianceRate"] == pytest.approx(met / len(mine), abs=1e-4)
        # fewer than five sections: the river is classed by its mean concentrations
        means = {k: sum(s["readings"][k] for s in mine) / len(mine) for k in mine[0]["readings"]}
        assert river["waterClassNumber"] == oracle_class(means)
        assert river["waterClass"] == ROMAN[oracle_class(means) - 1]
        assert river["compliant"] == (oracle_class(means) <= river["targetClass"])
    # the station layer of the map: every station with its class, classed like the oracle
    page = gql(
        http,
        ops,
        "{ waterStations(first: 500) { totalCount edges { node { key riverKey waterClass "
        "waterClassNumber compliant geometry } } } }",
    )["waterStations"]
    source = {r["key"]: r["attrs"] for r in jsonl(demo_dir, "WaterStation")}
    assert page["totalCount"] == len(source) == 48
    for edge in page["edges"]:
        node = edge["node"]
        expected = oracle_class(source[node["key"]]["readings"])
        assert node["waterClassNumber"] == expected and node["waterClass"] == ROMAN[expected - 1]
        assert node["compliant"] == source[node["key"]]["compliant"]
        assert node["geometry"]["type"] == "Point"
    # the district's figures add up over the rivers
    stats = gql(
        http,
        ops,
        "{ waterQualityStats { totals { stations stationsCompliant complianceRate qualityStatus "
        "byClass { waterClassNumber stations } } byRiver { key stationsCompliant "
        "complianceRate } } }",
    )["waterQualityStats"]
    totals = stats["totals"]
    compliant = sum(1 for s in source.values() if oracle_class(s["readings"]) <= s["target_class"])
    assert totals["stations"] == 48 and totals["stationsCompliant"] == compliant
    assert totals["complianceRate"] == pytest.approx(compliant / 48, abs=1e-4)
    by_class = Counter(oracle_class(s["readings"]) for s in source.values())
    assert {c["waterClassNumber"]: c["stations"] for c in totals["byClass"]} == dict(by_class)
    # 48 sections: the district's status by the shares of I–III (<75 %) and 劣V (<20 %)
    good, worst = sum(by_class[c] for c in (1, 2, 3)) / 48, by_class[6] / 48
    assert good < 0.75 and worst < 0.2 and totals["qualityStatus"] == "轻度污染"
    assert {b["key"]: b["complianceRate"] for b in stats["byRiver"]} == {
        k: r["complianceRate"] for k, r in rivers.items()
    }


def _leaves(http: TestClient, tok: str, type_name: str) -> list[str]:
    """The leaf fields of a type that take no required argument (what the map selects)."""
    q = """query($t: String!) { __type(name: $t) { fields { name args { type { kind } }
      type { kind ofType { kind ofType { kind ofType { kind } } } } } } }"""
    fields = gql(http, tok, q, t=type_name)["__type"]["fields"]

    def leaf(ref: dict[str, Any] | None) -> bool:
        while ref and ref["kind"] in ("NON_NULL", "LIST"):
            ref = ref.get("ofType")
        return ref is None or ref["kind"] in ("SCALAR", "ENUM")

    return [
        f["name"]
        for f in fields
        if leaf(f["type"]) and not any(a["type"]["kind"] == "NON_NULL" for a in f["args"])
    ]


def test_the_map_finds_the_water_layers(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    # the ops centre's web app is a department client with the introspection scope
    web = token(app, http, "ops-web", role="department")
    roots = {f["name"]: f for f in gql(http, web, "{ __schema { queryType { fields { name "
        "type { name } } } } }")["__schema"]["queryType"]["fields"]}  # fmt: skip
    for field, node, first in (
        ("rivers", "River", 100),
        ("waterStations", "WaterStation", 500),
        ("pumpStations", "PumpStation", 500),
    ):
        assert field in roots
        sel = " ".join(_leaves(http, web, node))
        rows = gql(http, web, f"{{ {field}(first: {first}) {{ edges {{ node {{ {sel} }} }} }} }}")
        nodes = [e["node"] for e in rows[field]["edges"]]
        assert nodes and all(n["geometry"] for n in nodes), field
        if field != "pumpStations":  # the map colours rivers and stations by their class
            assert {n["waterClass"] for n in nodes} <= set(ROMAN), field


STATION = """query($key: String!) { waterStation(key: $key) { key waterClass waterClassNumber
  waterClassName targetClass compliant decidingItems exceedingItems samples samplesCompliant
  items { code value waterClass targetLimit exceedsTarget } } }"""
# Samples at the class boundaries and the class each gets, checked by hand against Table 1.
AT_I = {"DO": 7.5, "CODMn": 2.0, "NH3-N": 0.15, "TP": 0.02, "pH": 7.0}
BOUNDARY_CASES: list[tuple[dict[str, float], str, list[str]]] = [
    (AT_I, "I", ["DO", "CODMn", "NH3-N", "TP", "pH"]),  # every item exactly at its I limit
    (AT_I | {"DO": 7.49}, "II", ["DO"]),  # DO is a floor: just under 7.5 is II
    (AT_I | {"COD": 15.0, "BOD5": 3.0}, "I", ["DO", "CODMn", "NH3-N", "TP", "COD", "BOD5", "pH"]),
    (AT_I | {"COD": 15.01}, "III", ["COD"]),  # I and II share 15: just over it is III
    (AT_I | {"NH3-N": 1.5}, "IV", ["NH3-N"]),
    (AT_I | {"NH3-N": 1.5001}, "V", ["NH3-N"]),
    (AT_I | {"TP": 0.4, "DO": 2.0}, "V", ["DO", "TP"]),
    (AT_I | {"TP": 0.41}, "劣V", ["TP"]),  # over the V limit: worse than V
    (AT_I | {"DO": 1.99}, "劣V", ["DO"]),
    (AT_I | {"pH": 9.1}, "劣V", ["pH"]),  # pH is 6–9 for every class
    (AT_I | {"TN": 5.0}, "I", ["DO", "CODMn", "NH3-N", "TP", "pH"]),  # TN: lakes only
]


def test_station_classes_at_the_class_boundaries(
    hub: tuple[Starlette, TestClient], ops: str
) -> None:
    app, http = hub
    device = token(app, http, "wq-analyser", scopes=["telemetry:write"], devices=["*"])
    river = gql(http, ops, '{ river(key: "RIV-HAIHE") { targetClass stations { key } } }')
    target = river["river"]["targetClass"]
    key = river["river"]["stations"][0]["key"]
    before = gql(http, ops, STATION, key=key)["waterStation"]
    alarms: list[dict[str, Any]] = []
    for i, (sample, expected, deciding) in enumerate(BOUNDARY_CASES):
        reading = {"kind": "water.quality", "id": key, "at": T0 + 600 * i, "parameters": sample}
        body = post(http, device, [reading])
        assert body["accepted"] == 1, body
        alarms.extend(body["alarms"])
        got = gql(http, ops, STATION, key=key)["waterStation"]
        assert got["waterClass"] == expected, (sample, got)
        assert sorted(got["decidingItems"]) == sorted(deciding), (sample, got)
    # the last sample in full: TN measured, but it decides no class in a river
    items = {x["code"]: x for x in got["items"]}
    assert items["TN"]["waterClass"] is None and items["DO"]["waterClass"] == "I"
    assert items["NH3-N"]["targetLimit"] == [0.15, 0.5, 1.0, 1.5, 2.0][target - 1]
    assert got["samples"] == before["samples"] + len(BOUNDARY_CASES)
    met = sum(1 for _, c, _ in BOUNDARY_CASES if ROMAN.index(c) + 1 <= target)
    assert got["samplesCompliant"] == before["samplesCompliant"] + met
    # an alarm each time the station falls below its target from meeting it
    expected_alarms = []
    was_ok = before["compliant"]
    for _, cls, _ in BOUNDARY_CASES:
        ok = ROMAN.index(cls) + 1 <= target
        if was_ok and not ok:
            expected_alarms.append("alarm" if cls == "劣V" else "warning")
        was_ok = ok
    assert [a["severity"] for a in alarms] == expected_alarms
    assert all(a["kind"] == "water.quality_exceeded" and a["subject_key"] == key for a in alarms)
    assert "未达目标" in alarms[0]["message"]
    # the items over the target are named, worst first
    post(
        http,
        device,
        [
            {
                "kind": "water.quality",
                "id": key,
                "at": T0 + 600 * len(BOUNDARY_CASES),
                "dissolvedOxygenMgL": 1.0,  # camel case at the top level works too
                "ammoniaNitrogenMgL": 1.8,
                "totalPhosphorusMgL": 0.05,
            }
        ],
    )
    got = gql(http, ops, STATION, key=key)["waterStation"]
    assert got["waterClass"] == "劣V" and got["exceedingItems"] == ["DO", "NH3-N"]
    assert got["compliant"] is False and got["waterClassName"] == "劣Ⅴ类"


def test_pump_and_gate_status(hub: tuple[Starlette, TestClient], ops: str, demo_dir: Path) -> None:
    app, http = hub
    q = """{ pumpGateStats { pumpStations pumps runningPumps pumpStationsByStatus { status
      count } gates gatesByStatus { status count } } }"""
    stats = gql(http, ops, q)["pumpGateStats"]
    pumps = [r["attrs"] for r in jsonl(demo_dir, "PumpStation")]
    gates = [r["attrs"] for r in jsonl(demo_dir, "Gate")]
    assert stats["pumpStations"] == len(pumps) == 64 and stats["gates"] == len(gates) == 36
    assert stats["pumps"] == sum(p["pumps"] for p in pumps)
    assert stats["runningPumps"] == sum(p["running_pumps"] for p in pumps)
    assert {s["status"]: s["count"] for s in stats["pumpStationsByStatus"]} == dict(
        Counter(p["status"] for p in pumps)
    )
    assert {s["status"]: s["count"] for s in stats["gatesByStatus"]} == dict(
        Counter(g["status"] for g in gates)
    )
    # the map's pump layer: every station with its place and status
    layer = gql(
        http, ops, "{ pumpStations(first: 500) { edges { node { key status geometry } } } }"
    )
    assert len(layer["pumpStations"]["edges"]) == 64
    # a running station fails: its status, the alarm, the figures
    device = token(app, http, "scada-gw", scopes=["telemetry:write"], devices=["*"])
    running = next(
        r["key"] for r in jsonl(demo_dir, "PumpStation") if r["attrs"]["status"] == "运行"
    )
    pq = """query($key: String!) { pumpStation(key: $key) { name status runningPumps
      currentFlowM3S inletLevelM statusAt scadaTag } }"""
    t = T0 + 20_000
    body = post(
        http,
        device,
        [
            {"kind": "pump.state", "id": running, "at": t, "status": "故障", "inletLevelM": 0.8},
            {"kind": "pump.state", "id": running, "at": t + 60, "status": "故障"},  # still
        ],
    )
    assert body["accepted"] == 2, body
    assert [(a["kind"], a["subject_key"], a["severity"]) for a in body["alarms"]] == [
        ("pump.fault", running, "alarm")
    ]
    station = gql(http, ops, pq, key=running)["pumpStation"]
    assert station["status"] == "故障" and station["runningPumps"] == 0
    assert station["currentFlowM3S"] == 0.0 and station["inletLevelM"] == 0.8
    assert station["statusAt"].startswith("2026-10-")
    assert station["scadaTag"].startswith("BH.PS")  # operators see the SCADA tag
    after = gql(http, ops, q)["pumpGateStats"]
    by_status = {s["status"]: s["count"] for s in after["pumpStationsByStatus"]}
    assert by_status["故障"] == 1
    assert by_status["运行"] == Counter(p["status"] for p in pumps)["运行"] - 1
    # back in service with one pump running
    post(http, device, [{"kind": "pump.state", "id": running, "at": t + 120, "runningPumps": 1}])
    station = gql(http, ops, pq, key=running)["pumpStation"]
    assert station["status"] == "运行" and station["runningPumps"] == 1
    # a tide gate opens
    gate = "GATE-0000001"
    gq = """query($key: String!) { waterGate(key: $key) { name gateType status openingM
      river { name } } }"""
    assert gql(http, ops, gq, key=gate)["waterGate"]["river"]["name"] == "海河"
    post(http, device, [{"kind": "gate.state", "id": gate, "at": t, "openingM": 1.2}])
    g = gql(http, ops, gq, key=gate)["waterGate"]
    assert (g["status"], g["openingM"], g["gateType"]) == ("部分开启", 1.2, "防潮闸")
    post(http, device, [{"kind": "gate.state", "id": gate, "at": t + 60, "status": "关闭"}])
    assert gql(http, ops, gq, key=gate)["waterGate"]["openingM"] == 0.0


LEVEL = """query($key: String!) { river(key: $key) { name warningLevelM
  waterLevel { valueM warningM aboveWarningM overWarning since } } }"""


def test_levels_over_their_thresholds_raise_flood_and_waterlogging_alarms(
    hub: tuple[Starlette, TestClient], ops: str, demo_dir: Path
) -> None:
    app, http = hub
    device = token(app, http, "gauge-gw", scopes=["telemetry:write"], devices=["*"])
    key = "RIV-YONGDING"
    river = gql(http, ops, LEVEL, key=key)["river"]
    warning = river["warningLevelM"]
    assert river["waterLevel"]["overWarning"] is False
    assert river["waterLevel"]["valueM"] < warning  # as loaded from the hydrology system
    t = T0 + 30_000
    body = post(
        http,
        device,
        [
            {"kind": "water.level", "id": key, "at": t, "value": warning - 0.3},
            {"kind": "water.level", "id": key, "at": t + 300, "value": warning + 0.12},
            {"kind": "water.level", "id": key, "at": t + 600, "value": warning + 0.2},  # still
        ],
    )
    assert body["accepted"] == 3, body
    floods = [a for a in body["alarms"] if a["kind"] == "water.flood"]
    assert [(a["subject_key"], a["subject_type"], a["severity"]) for a in floods] == [
        (key, "River", "alarm")
    ]
    assert floods[0]["value"] == pytest.approx(warning + 0.12)
    assert "警戒水位" in floods[0]["message"] and floods[0]["grid_cell"].startswith("BH-")
    level = gql(http, ops, LEVEL, key=key)["river"]["waterLevel"]
    assert level["overWarning"] is True and level["valueM"] == pytest.approx(warning + 0.2)
    assert level["aboveWarningM"] == pytest.approx(0.2, abs=1e-4)
    warnings = gql(
        http, ops, '{ floodWarnings(kind: "flood") { subjectKey name levelM thresholdM } }'
    )["floodWarnings"]
    assert {"subjectKey": key, "name": "永定新河", "levelM": pytest.approx(warning + 0.2),
            "thresholdM": warning} in warnings  # fmt: skip
    kept = gql(http, ops, "{ alarms(last: 200) { edges { node { kind subjectKey } } } }")
    assert {"kind": "water.flood", "subjectKey": key} in [
        e["node"] for e in kept["alarms"]["edges"]
    ]
    # back below: the warning clears; a new crossing is a new alarm
    post(http, device, [{"kind": "water.level", "id": key, "at": t + 900, "value": warning - 0.1}])
    assert gql(http, ops, LEVEL, key=key)["river"]["waterLevel"]["overWarning"] is False
    again = post(http, device, [{"kind": "water.level", "id": key, "at": t + 1200, "value": 9.0}])
    assert [a["kind"] for a in again["alarms"]] == ["water.flood"]
    # ponding points: those loaded at or over 15 cm are waterlogged already (no alarm for them)
    ponding = jsonl(demo_dir, "PondingPoint")
    deep = {r["key"] for r in ponding if r["attrs"]["depth_cm"] >= r["attrs"]["warning_depth_cm"]}
    logged = gql(http, ops, '{ floodWarnings(kind: "waterlogging") { subjectKey } }')
    assert {w["subjectKey"] for w in logged["floodWarnings"]} == deep
    dry = next(r["key"] for r in ponding if r["attrs"]["depth_cm"] == 0)
    pq = """query { pondingPoints(first: 100) { totalCount edges { node { key depthCm
      waterlogged waterloggedSince warningDepthCm } } } }"""
    body = post(
        http,
        device,
        [
            {"kind": "water.level", "id": dry, "at": t, "value": 8, "unit": "cm"},
            {"kind": "water.level", "id": dry, "at": t + 60, "value": 0.22},  # metres
        ],
    )
    assert [(a["kind"], a["subject_type"], a["severity"]) for a in body["alarms"]] == [
        ("water.waterlogging", "PondingPoint", "warning")
    ]
    assert "积水 22 cm" in body["alarms"][0]["message"]
    points = {e["node"]["key"]: e["node"] for e in gql(http, ops, pq)["pondingPoints"]["edges"]}
    assert points[dry]["depthCm"] == pytest.approx(22.0) and points[dry]["waterlogged"] is True
    assert points[dry]["waterloggedSince"] is not None
    assert sum(1 for p in points.values() if p["waterlogged"]) == len(deep) + 1


def test_malformed_readings_are_refused_by_index_and_the_good_ones_count(
    hub: tuple[Starlette, TestClient], ops: str
) -> None:
    app, http = hub
    device = token(app, http, "water-mixed-gw", scopes=["telemetry:write"], devices=["*"])
    t = T0 + 40_000
    river = "RIV-DULIU"
    station = gql(http, ops, '{ river(key: "RIV-ZIYA") { stations { key } } }')["river"][
        "stations"
    ][0]["key"]
    pump = "PUMP-0000002"
    pumps = gql(http, ops, '{ pumpStation(key: "PUMP-0000002") { status } }')
    assert pumps["pumpStation"]["status"]
    batch: list[Any] = [
        {"kind": "water.level", "id": river, "at": t, "value": 1.5},  # 0 good
        {"kind": "water.level", "id": "RIV-NOPE", "at": t, "value": 1.0},  # 1 no such river
        {"kind": "water.level", "id": river, "at": t},  # 2 no value
        {"kind": "water.level", "id": river, "at": t, "value": 1.0, "unit": "ft"},  # 3 unit
        {"kind": "water.level", "id": river, "at": t, "value": "high"},  # 4 not a number
        {"kind": "water.quality", "id": station, "at": t, "parameters": {"DO": 6.1}},  # 5 good
        {"kind": "water.quality", "id": station, "at": t, "parameters": {"lead": 0.01}},  # 6
        {"kind": "water.quality", "id": station, "at": t, "parameters": {"DO": "clear"}},  # 7
        {"kind": "water.quality", "id": station, "at": t, "parameters": {"pH": 15}},  # 8
        {"kind": "water.quality", "id": station, "at": t},  # 9 nothing measured
        {"kind": "water.quality", "id": "WQS-9999999", "at": t, "DO": 6.0},  # 10 no station
        {"kind": "pump.state", "id": pump, "at": t, "runningPumps": 99},  # 11 too many
        {"kind": "pump.state", "id": pump, "at": t, "status": "爆炸"},  # 12 status
        {"kind": "water.level", "id": "POND-0000001", "at": t, "value": -3},  # 13 negative
        {"kind": "water.quality", "id": station, "at": 1_000.0, "NH3-N": 0.2},  # 14 older
        {"kind": "gate.state", "id": "GATE-0000002", "at": t, "openingM": -1},  # 15 negative
    ]
    body = post(http, device, batch)
    assert body["accepted"] == 2, body
    errors = {r["index"]: r["error"] for r in body["rejected"]}
    assert sorted(errors) == list(range(1, 5)) + list(range(6, 16))
    assert "no river or ponding point" in errors[1] and "value" in errors[2]
    assert "unit" in errors[3] and "number" in errors[4]
    assert "unknown water-quality parameter 'lead'" in errors[6]
    assert "DO must be a number" in errors[7] and "between 0 and 14" in errors[8]
    assert "at least one parameter" in errors[9] and "no water-quality station" in errors[10]
    assert "runningPumps must be between 0 and" in errors[11] and "status must be" in errors[12]
    assert "negative" in errors[13] and "older" in errors[14] and "negative" in errors[15]
    # the good ones were applied
    level = gql(http, ops, LEVEL, key=river)["river"]["waterLevel"]
    assert level["valueM"] == 1.5
    got = gql(http, ops, STATION, key=station)["waterStation"]
    assert [(x["code"], x["value"]) for x in got["items"]] == [("DO", 6.1)]
    assert got["waterClass"] == "II"
    # a late level (older than the gauge's last) is refused, the state unchanged
    late = post(http, device, [{"kind": "water.level", "id": river, "at": t - 5, "value": 9.9}])
    assert late["accepted"] == 0 and "older" in late["rejected"][0]["error"]
    assert gql(http, ops, LEVEL, key=river)["river"]["waterLevel"]["valueM"] == 1.5


def test_partners_see_what_their_policy_allows(hub: tuple[Starlette, TestClient], ops: str) -> None:
    app, http = hub
    # a partner application (clearance internal): classes, levels and pump states, no SCADA tags
    partner = token(app, http, "water-partner")
    data = gql(
        http,
        partner,
        "{ rivers(first: 3) { totalCount edges { node { name waterClass complianceRate } } } "
        'pumpStation(key: "PUMP-0000003") { name status runningPumps } '
        'river(key: "RIV-HAIHE") { waterLevel { valueM } } }',
    )
    assert data["rivers"]["totalCount"] == 12 and len(data["rivers"]["edges"]) == 3
    assert data["pumpStation"]["status"] and data["river"]["waterLevel"]["valueM"] is not None
    refused = ask(http, partner, '{ pumpStation(key: "PUMP-0000003") { scadaTag } }')
    assert "PumpStation.scadaTag is not available" in refused["errors"][0]["message"]
    # a counts-only partner: counts and figures, never a row
    client_id, secret = register_client(app, f"water-counts-{time.monotonic_ns()}")
    workflow = app.state.policy_workflow
    draft = workflow.draft(
        f'name = "water-counts-{client_id}"\nsubject = "client:{client_id}"\n'
        'clearance = "internal"\n[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counts = fetch_token(http, client_id, secret)
    q = """{ rivers(first: 20) { totalCount edges { node { key } } }
      waterStations(first: 100) { totalCount edges { node { key } } }
      pumpStations(first: 100) { totalCount edges { node { key } } }
      river(key: "RIV-HAIHE") { key } waterStation(key: "WQS-0000001") { key }
      floodWarnings { subjectKey }
      waterQualityStats { totals { stations stationsCompliant complianceRate } }
      pumpGateStats { pumpStations gates } }"""
    seen = gql(http, counts, q)
    assert seen["rivers"] == {"totalCount": 12, "edges": []}
    assert seen["waterStations"] == {"totalCount": 48, "edges": []}
    assert seen["pumpStations"] == {"totalCount": 64, "edges": []}
    assert seen["river"] is None and seen["waterStation"] is None
    assert seen["floodWarnings"] == []
    full = gql(http, ops, q)
    assert seen["waterQualityStats"] == full["waterQualityStats"]
    assert seen["pumpGateStats"] == full["pumpGateStats"] == {"pumpStations": 64, "gates": 36}
    assert len(full["rivers"]["edges"]) == 12 and full["floodWarnings"]


async def _subscribe_and_raise(base: str, ops: str, device: str, key: str, over: float) -> Any:
    """Subscribe to water alarms over a real WebSocket, then cross the river's warning level
    until an alarm arrives (the subscription starts listening a moment after ``subscribe``)."""
    url = base.replace("http://", "ws://") + "/graphql"
    query = (
        'subscription { alarms(kinds: ["water"]) '
        "{ kind severity subjectType subjectKey value gridCell message } }"
    )
    async with (
        websockets.connect(url, subprotocols=[Subprotocol(PROTOCOL)]) as ws,
        httpx.AsyncClient(base_url=base) as http,
    ):
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {ops}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "w", "payload": {"query": query}}))
        for attempt in range(50):
            t = T0 + 50_000 + attempt * 120
            batch = [
                {"kind": "water.level", "id": key, "at": t, "value": over - 1.0},
                {"kind": "water.level", "id": key, "at": t + 60, "value": over},
            ]
            posted = await http.post("/telemetry", json=batch, headers=bearer(device))
            assert posted.status_code == 200, posted.text
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.3))
            except TimeoutError:
                continue
            await ws.send(json.dumps({"type": "complete", "id": "w"}))
            return message
    raise AssertionError("no water alarm reached the subscriber")


def test_the_flood_alarm_reaches_a_subscriber(hub: tuple[Starlette, TestClient], ops: str) -> None:
    app, http = hub
    device = token(app, http, "gauge-gw2", scopes=["telemetry:write"], devices=["*"])
    key = "RIV-JIYUN"
    warning = gql(http, ops, LEVEL, key=key)["river"]["warningLevelM"]
    with served(app) as base:
        message = asyncio.run(_subscribe_and_raise(base, ops, device, key, warning + 0.5))
    assert message["type"] == "next", message
    alarm = message["payload"]["data"]["alarms"]
    assert alarm["kind"] == "water.flood" and alarm["severity"] == "alarm"
    assert alarm["subjectType"] == "River" and alarm["subjectKey"] == key
    assert alarm["value"] == pytest.approx(warning + 0.5) and "蓟运河" in alarm["message"]
