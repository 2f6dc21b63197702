"""Hazardous chemicals end to end on the demo city: telemetry in through ``POST /telemetry``
with a real ``telemetry:write`` token, alarms out through the response, the store and the
``alarms`` subscription, the figures through GraphQL with real tokens and policies."""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.testclient import TestClient
from websockets import Subprotocol

from hub.store import RecordStore
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.live_server import served

PROTOCOL = "graphql-transport-ws"
# Telemetry times: after the demo city's last readings (2026-05-31), one block per test so
# the tests do not depend on their order.
T0 = 1_790_000_000.0


@pytest.fixture(scope="module")
def hub(demo_app: Starlette) -> Iterator[tuple[Starlette, TestClient]]:
    with TestClient(demo_app) as http:
        yield demo_app, http


def token(app: Starlette, http: TestClient, name: str, **options: Any) -> str:
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(http, client_id, secret)


def gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    body = answer.json()
    assert answer.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


def post(http: TestClient, tok: str, readings: list[Any]) -> dict[str, Any]:
    answer = http.post("/telemetry", json={"readings": readings}, headers=bearer(tok))
    assert answer.status_code in (200, 422), answer.text
    return dict(answer.json())


TANK = """query($key: String!) { hazchemTank(key: $key) { key tankNo
  limits { lowM highM highHighM maxRateMPerMin staleAfterS }
  level { valueM percent at rateMPerMin alarms alarmSince } } }"""


def _quiet_tank(http: TestClient, ops: str, skip: int) -> dict[str, Any]:
    """A tank with no alarm in force, its limits known (the skip-th such one)."""
    page = gql(http, ops, "{ hazchemTanks(first: 200) { edges { node { key } } } }")
    in_alarm = {
        t["key"] for t in gql(http, ops, "{ hazchemTanksInAlarm { key } }")["hazchemTanksInAlarm"]
    }
    quiet = [e["node"]["key"] for e in page["hazchemTanks"]["edges"]]
    quiet = [k for k in quiet if k not in in_alarm]
    return dict(gql(http, ops, TANK, key=quiet[skip])["hazchemTank"])


def test_a_tank_over_high_high_raises_the_alarm_and_the_state(
    hub: tuple[Starlette, TestClient],
) -> None:
    app, http = hub
    ops = token(app, http, "ops-hz", role="department")
    device = token(app, http, "tank-gw", scopes=["telemetry:write"], devices=["*"])
    tank = _quiet_tank(http, ops, 0)
    lim = tank["limits"]
    assert lim["lowM"] < lim["highM"] < lim["highHighM"]
    normal = (lim["lowM"] + lim["highM"]) / 2
    over = lim["highHighM"] + 0.05
    key = tank["key"]
    body = post(
        http,
        device,
        [
            {"kind": "tank.level", "id": key, "at": T0, "value": normal},
            {"kind": "tank.level", "id": key, "at": T0 + 60, "value": over},
            {"kind": "tank.level", "id": key, "at": T0 + 120, "value": over},  # still over
        ],
    )
    assert body["accepted"] == 3 and body["rejectedCount"] == 0, body
    high_high = [a for a in body["alarms"] if a["kind"] == "tank.high_high"]
    # one alarm when the tank enters high-high, none for staying there
    assert [(a["subject_key"], a["value"], a["severity"]) for a in high_high] == [
        (key, pytest.approx(over), "critical")
    ]
    assert "高高" in high_high[0]["message"]
    level = gql(http, ops, TANK, key=key)["hazchemTank"]["level"]
    assert level["valueM"] == pytest.approx(over)
    assert level["alarms"] == ["high_high", "high"]
    assert level["alarmSince"].startswith("2026-09-21T")  # T0 + 60 s
    listed = gql(http, ops, "{ hazchemTanksInAlarm { key } }")["hazchemTanksInAlarm"]
    assert key in {t["key"] for t in listed}
    # the alarm is kept: operators who connect later read it
    kept = gql(http, ops, "{ alarms(last: 200) { edges { node { kind subjectKey } } } }")
    assert {"kind": "tank.high_high", "subjectKey": key} in [
        e["node"] for e in kept["alarms"]["edges"]
    ]
    # back to normal: the state clears, and a new crossing raises a new alarm
    post(http, device, [{"kind": "tank.level", "id": key, "at": T0 + 180, "value": normal}])
    assert gql(http, ops, TANK, key=key)["hazchemTank"]["level"]["alarms"] == []
    again = post(http, device, [{"kind": "tank.level", "id": key, "at": T0 + 240, "value": over}])
    # (the jump in one minute is also too fast a rise: a rate alarm with it)
    assert sorted(a["kind"] for a in again["alarms"]) == ["tank.high_high", "tank.rate"]


def test_low_rate_and_stale_alarms_and_percent_readings(
    hub: tuple[Starlette, TestClient],
) -> None:
    app, http = hub
    ops = token(app, http, "ops-hz2", role="department")
    device = token(app, http, "tank-gw2", scopes=["telemetry:write"], devices=["*"])
    tank = _quiet_tank(http, ops, 1)
    lim, key = tank["limits"], tank["key"]
    t = T0 + 10_000
    normal = (lim["lowM"] + lim["highM"]) / 2
    post(http, device, [{"kind": "tank.level", "id": key, "at": t, "value": normal}])
    # 5 % of the height (the percent unit) in one minute is the rate limit: jump 40 %
    pct = 100 * normal / (lim["highHighM"] / 0.9)
    body = post(
        http,
        device,
        [{"kind": "tank.level", "id": key, "at": t + 60, "value": pct - 40, "unit": "%"}],
    )
    kinds = {a["kind"] for a in body["alarms"]}
    assert "tank.rate" in kinds, body["alarms"]
    level = gql(http, ops, TANK, key=key)["hazchemTank"]["level"]
    assert level["percent"] == pytest.approx(pct - 40, abs=0.5)
    assert level["rateMPerMin"] < -lim["maxRateMPerMin"]
    if level["valueM"] <= lim["lowM"]:
        assert "tank.low" in kinds and level["alarms"] == ["low"]
    # silence longer than the stale limit, then a reading at the same level (so the mean rate
    # over the gap stays within the limit and no level band is entered): only stale
    later = t + 60 + lim["staleAfterS"] + 1
    value = level["valueM"]
    body = post(http, device, [{"kind": "tank.level", "id": key, "at": later, "value": value}])
    assert [a["kind"] for a in body["alarms"]] == ["tank.stale"]


def test_malformed_readings_are_refused_by_index_and_the_good_ones_count(
    hub: tuple[Starlette, TestClient],
) -> None:
    app, http = hub
    ops = token(app, http, "ops-hz3", role="department")
    device = token(app, http, "mixed-gw", scopes=["telemetry:write"], devices=["*"])
    tank = _quiet_tank(http, ops, 2)
    key = tank["key"]
    good = (tank["limits"]["lowM"] + tank["limits"]["highM"]) / 2
    t = T0 + 20_000
    vehicle = "HCV-0000010"
    batch: list[Any] = [
        {"kind": "tank.level", "id": key, "at": t, "value": good},  # 0 good
        {"kind": "tank.level", "id": "TNK-9999999", "at": t, "value": 1.0},  # 1 no such tank
        {"kind": "tank.level", "id": key, "at": t},  # 2 no value
        {"kind": "tank.level", "id": key, "at": t, "value": 1.0, "unit": "ft"},  # 3 unit
        {"kind": "tank.level", "id": key, "at": t, "value": "full"},  # 4 not a number
        {"kind": "vehicle.fix", "id": vehicle, "at": t, "lon": 117.7, "lat": 39.0},  # 5 good
        {"kind": "vehicle.fix", "id": vehicle, "at": t, "speedKmh": 30},  # 6 no position
        {"kind": "vehicle.fix", "id": "HCV-X", "at": t, "lon": 117.7, "lat": 39.0},  # 7 unknown
        {"kind": "vehicle.fix", "id": vehicle, "at": t, "lon": 117.7, "lat": 91},  # 8 range
        {"kind": "vehicle.fix", "id": vehicle, "at": t, "lon": 1, "lat": 1, "speedKmh": -5},
        {"kind": "vehicle.fix", "id": vehicle, "at": 1_000.0, "lon": 117.7, "lat": 39.0},
    ]
    body = post(http, device, batch)
    assert body["accepted"] == 2, body
    errors = {r["index"]: r["error"] for r in body["rejected"]}
    assert sorted(errors) == [1, 2, 3, 4, 6, 7, 8, 9, 10]
    assert "no tank" in errors[1] and "value" in errors[2] and "unit" in errors[3]
    assert "number" in errors[4] and "lon and lat" in errors[6]
    assert "no hazardous-chemicals vehicle" in errors[7] and "range" in errors[8]
    assert "negative" in errors[9] and "older" in errors[10]
    # the good ones were applied
    level = gql(http, ops, TANK, key=key)["hazchemTank"]["level"]
    assert level["valueM"] == pytest.approx(good)
    pos = gql(http, ops, '{ hazchemVehicle(key: "HCV-0000010") { position { lon lat at } } }')[
        "hazchemVehicle"
    ]["position"]
    assert (pos["lon"], pos["lat"]) == (117.7, 39.0)
    # a late reading (older than the tank's last) is refused, and the state is unchanged
    late = post(http, device, [{"kind": "tank.level", "id": key, "at": t - 5, "value": 0.0}])
    assert late["accepted"] == 0 and "older" in late["rejected"][0]["error"]
    level = gql(http, ops, TANK, key=key)["hazchemTank"]["level"]
    assert level["valueM"] == pytest.approx(good)


ZONES = "{ hazchemForbiddenZones { id name reason subjectKey bufferM geometry } }"
VEHICLE = """query($key: String!) { hazchemVehicle(key: $key) { key plate
  position { lon lat speedKmh at } trajectory(last: 10) { lon lat speedKmh }
  inForbiddenZones { id } } }"""


def test_a_vehicle_entering_a_forbidden_zone_and_speeding(
    hub: tuple[Starlette, TestClient], demo_store: RecordStore
) -> None:
    app, http = hub
    ops = token(app, http, "ops-hz4", role="department")
    device = token(app, http, "gps-gw", scopes=["telemetry:write"], devices=["*"])
    zones = gql(http, ops, ZONES)["hazchemForbiddenZones"]
    reasons = defaultdict(int)
    for z in zones:
        reasons[z["reason"]] += 1
    rivers = demo_store.count("River")
    assert reasons["river"] == rivers == 12 and reasons["school"] > 100
    # a school zone is drawn around its gate camera
    school = next(z for z in zones if z["reason"] == "school")
    camera = demo_store.get("Camera", school["subjectKey"])
    assert camera is not None and camera.attrs["name"].startswith(school["name"])
    lon, lat = camera.geometry["coordinates"]  # type: ignore[index]
    away = (117.30, 39.25)  # open land in the north-west, far from schools and rivers
    key = "HCV-0000020"
    t = T0 + 30_000
    fixes = [
        (t, *away, 50.0),
        (t + 30, lon, lat, 72.0),  # into the school zone, over the limit
        (t + 60, lon, lat, 80.0),  # still in, still over: nothing new
        (t + 90, *away, 45.0),  # out, under the limit
        (t + 120, *away, 66.0),  # over again: a new episode
    ]
    body = post(
        http,
        device,
        [
            {"kind": "vehicle.fix", "id": key, "at": a, "lon": x, "lat": y, "speedKmh": s}
            for a, x, y, s in fixes
        ],
    )
    assert body["accepted"] == 5 and body["rejectedCount"] == 0, body
    got = [(a["kind"], a["source"], a["value"]) for a in body["alarms"]]
    assert ("geofence.forbidden", school["id"], 72.0) in got
    assert [g for g in got if g[0] == "vehicle.speeding"] == [
        ("vehicle.speeding", "telemetry", 72.0),
        ("vehicle.speeding", "telemetry", 66.0),
    ]
    assert all(g[0] != "geofence.forbidden" or g[2] == 72.0 for g in got)  # one entry alarm
    vehicle = gql(http, ops, VEHICLE, key=key)["hazchemVehicle"]
    assert vehicle["position"]["lon"] == away[0] and vehicle["position"]["speedKmh"] == 66.0
    assert [f["speedKmh"] for f in vehicle["trajectory"][-5:]] == [50.0, 72.0, 80.0, 45.0, 66.0]
    assert vehicle["inForbiddenZones"] == []
    # back into the zone and parked there: the vehicle is in it now
    post(http, device, [{"kind": "vehicle.fix", "id": key, "at": t + 150, "lon": lon, "lat": lat}])
    vehicle = gql(http, ops, VEHICLE, key=key)["hazchemVehicle"]
    assert school["id"] in {z["id"] for z in vehicle["inForbiddenZones"]}
    # the violations, by kind and vehicle, from the kept alarms
    q = """query($kind: String, $v: String) { hazchemViolations(kind: $kind, vehicle: $v)
      { kind vehicleKey zone speedKmh message } }"""
    forbidden = gql(http, ops, q, kind="geofence.forbidden", v=key)["hazchemViolations"]
    assert [v["zone"] for v in forbidden].count(school["id"]) == 2
    assert all(v["vehicleKey"] == key and "禁行区" in v["message"] for v in forbidden)
    speeding = gql(http, ops, q, kind="vehicle.speeding", v=key)["hazchemViolations"]
    assert [v["speedKmh"] for v in speeding] == [72.0, 66.0]
    both = gql(http, ops, q, v=key)["hazchemViolations"]
    assert len(both) == len(forbidden) + len(speeding)


def test_stock_balance_is_ins_minus_outs_by_hazard_class(
    hub: tuple[Starlette, TestClient], demo_dir: Path
) -> None:
    app, http = hub
    ops = token(app, http, "ops-hz5", role="department")
    ins: dict[str, float] = defaultdict(float)
    outs: dict[str, float] = defaultdict(float)
    site_balance: dict[str, float] = defaultdict(float)
    slips = 0
    for line in (demo_dir / "StockMovement.jsonl").read_text(encoding="utf-8").splitlines():
        a = json.loads(line)["attrs"]
        cls, qty = a["substance"]["hazard_class"], a["quantity_t"]
        (ins if a["direction"] == "in" else outs)[cls] += qty
        site_balance[a["site"]] += qty if a["direction"] == "in" else -qty
        slips += 1
    q = """query($site: String) { hazchemStock(site: $site) { siteKey inT outT balanceT slips
      byCategory { hazardClass hazardClassName inT outT balanceT slips } } }"""
    stock = gql(http, ops, q)["hazchemStock"]
    assert stock["slips"] == slips == 4000
    lines = {x["hazardClass"]: x for x in stock["byCategory"]}
    assert set(lines) == set(ins) | set(outs)
    for cls, x in lines.items():
        assert x["inT"] == pytest.approx(ins[cls], abs=1e-3)
        assert x["outT"] == pytest.approx(outs[cls], abs=1e-3)
        assert x["balanceT"] == pytest.approx(ins[cls] - outs[cls], abs=1e-3)
        assert x["hazardClassName"]
    assert stock["balanceT"] == pytest.approx(sum(ins.values()) - sum(outs.values()), abs=1e-2)
    assert sum(x["slips"] for x in lines.values()) == slips
    site = max(site_balance, key=lambda s: abs(site_balance[s]))
    one = gql(http, ops, q, site=site)["hazchemStock"]
    assert one["siteKey"] == site
    assert one["balanceT"] == pytest.approx(site_balance[site], abs=1e-2)
    every = gql(http, ops, "{ hazchemWarehouseStocks { siteKey balanceT slips } }")
    rows = every["hazchemWarehouseStocks"]
    assert sum(r["slips"] for r in rows) == slips
    assert {r["siteKey"] for r in rows} == set(site_balance)
    answer = http.post(
        "/graphql",
        json={"query": q, "variables": {"site": "HCS-NOPE"}},
        headers=bearer(ops),
    ).json()
    assert "no hazchem site" in answer["errors"][0]["message"]


def test_statistics_add_up_to_the_totals(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    partner = token(app, http, "stats-partner")
    fields = "key name firms production logistics warehousing sites tanks vehicles"
    q = f"""{{ hazchemStats {{ totals {{ {fields} storageCapacityT hiddenHazardsOpen }}
      byCategory {{ {fields} storageCapacityT hiddenHazardsOpen }}
      byPark {{ {fields} storageCapacityT hiddenHazardsOpen }} }}
      hazchemFirms(first: 0) {{ totalCount }} hazchemVehicles(first: 0) {{ totalCount }}
      hazchemTanks(first: 0) {{ totalCount }} }}"""
    data = gql(http, partner, q)
    stats = data["hazchemStats"]
    totals = stats["totals"]
    # the source document's figures: 364 production, 75 logistics, 477 warehousing firms
    assert {c["key"]: c["firms"] for c in stats["byCategory"]} == {
        "production": 364,
        "logistics": 75,
        "warehousing": 477,
    }
    assert totals["firms"] == 916 == data["hazchemFirms"]["totalCount"]
    assert totals["vehicles"] == 2673 == data["hazchemVehicles"]["totalCount"]
    assert totals["tanks"] == data["hazchemTanks"]["totalCount"]
    for group in ("byCategory", "byPark"):
        for name in ("firms", "production", "logistics", "warehousing", "sites", "tanks"):
            assert sum(g[name] for g in stats[group]) == totals[name], (group, name)
        assert sum(g["vehicles"] for g in stats[group]) == totals["vehicles"]
        assert sum(g["hiddenHazardsOpen"] for g in stats[group]) == totals["hiddenHazardsOpen"]
        assert sum(g["storageCapacityT"] for g in stats[group]) == pytest.approx(
            totals["storageCapacityT"], rel=1e-9
        )
    for g in stats["byPark"]:
        assert g["firms"] == g["production"] + g["logistics"] + g["warehousing"]
    assert stats["byPark"][-1]["key"] is None  # firms outside every park, last
    assert all(g["key"].startswith("PARK-") for g in stats["byPark"][:-1])
    logistics = next(c for c in stats["byCategory"] if c["key"] == "logistics")
    assert logistics["vehicles"] == totals["vehicles"]  # the logistics firms own the fleet


def test_a_partner_sees_drivers_and_officers_masked(
    hub: tuple[Starlette, TestClient], demo_store: RecordStore
) -> None:
    app, http = hub
    partner = token(app, http, "masked-partner")
    raw = demo_store.get("HazchemVehicle", "HCV-0000030")
    assert raw is not None
    q = """{ hazchemVehicle(key: "HCV-0000030") { plate driver driverPhone escort escortPhone
      owner { safetyOfficer safetyOfficerPhone } } hazchemStockMovements(first: 1) { edges
      { node { operator operatorIdNumber quantityT } } } }"""
    data = gql(http, partner, q)
    v = data["hazchemVehicle"]
    assert v["plate"] == raw.attrs["plate"]
    for name in ("driver", "escort"):
        assert v[name] != raw.attrs[name] and v[name][0] == raw.attrs[name][0] and "*" in v[name]
    for phone in ("driverPhone", "escortPhone"):
        real = raw.attrs[phone.replace("Phone", "_phone")]
        assert v[phone] == real[:3] + "****" + real[-4:]
    firm = demo_store.get("HazchemFirm", raw.attrs["owner_firm"])
    assert firm is not None
    assert v["owner"]["safetyOfficer"] != firm.attrs["safety_officer"]
    assert "****" in v["owner"]["safetyOfficerPhone"]
    slip = data["hazchemStockMovements"]["edges"][0]["node"]
    movement = demo_store.page("StockMovement", after=None, before=None, limit=1, from_end=False)
    assert slip["operatorIdNumber"] != movement[0].attrs["operator_id_number"]
    assert slip["operator"] != movement[0].attrs["operator"]


async def _subscribe_and_raise(base: str, ops: str, device: str, key: str, over: float) -> Any:
    """Subscribe to tank alarms over a real WebSocket, then cross the tank's high-high limit
    until an alarm arrives (the subscription starts listening a moment after ``subscribe``)."""
    url = base.replace("http://", "ws://") + "/graphql"
    query = (
        'subscription { alarms(kinds: ["tank"]) '
        "{ kind severity subjectType subjectKey value gridCell } }"
    )
    async with (
        websockets.connect(url, subprotocols=[Subprotocol(PROTOCOL)]) as ws,
        httpx.AsyncClient(base_url=base) as http,
    ):
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {ops}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "t", "payload": {"query": query}}))
        for attempt in range(50):
            t = T0 + 40_000 + attempt * 120
            batch = [
                {"kind": "tank.level", "id": key, "at": t, "value": 0.5 * over},
                {"kind": "tank.level", "id": key, "at": t + 60, "value": over},
            ]
            posted = await http.post("/telemetry", json=batch, headers=bearer(device))
            assert posted.status_code == 200, posted.text
            try:
                while True:  # skip the rate alarms of the jumps; wait for high-high
                    message = json.loads(await asyncio.wait_for(ws.recv(), 0.3))
                    if message["payload"]["data"]["alarms"]["kind"] == "tank.high_high":
                        await ws.send(json.dumps({"type": "complete", "id": "t"}))
                        return message
            except TimeoutError:
                continue
    raise AssertionError("no tank alarm reached the subscriber")


def test_the_high_high_alarm_reaches_a_subscriber(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    ops = token(app, http, "ops-hz6", role="department")
    device = token(app, http, "tank-gw6", scopes=["telemetry:write"], devices=["*"])
    tank = _quiet_tank(http, ops, 3)
    over = tank["limits"]["highHighM"] + 0.1
    with served(app) as base:
        message = asyncio.run(_subscribe_and_raise(base, ops, device, tank["key"], over))
    assert message["type"] == "next"
    alarm = message["payload"]["data"]["alarms"]
    assert alarm["kind"] == "tank.high_high" and alarm["severity"] == "critical"
    assert alarm["subjectType"] == "Tank" and alarm["subjectKey"] == tank["key"]
    assert alarm["value"] == pytest.approx(over) and alarm["gridCell"].startswith("BH-")
