"""Live state is data (step 10): every reading the hub accepts is stored — each device's latest
state and its history — and GraphQL serves both from the store, so two hub instances on one
store answer alike and a new one (a restart) serves what was acknowledged. And the telemetry
fault: a reading with its time in milliseconds costs only itself."""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.app import create_app
from hub.config import load_settings
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.hub.city import WHEN, small_city

NOW = time.time()
HIGH, HIGH_HIGH, LOW, HEIGHT = 8.0, 9.0, 1.0, 10.0
TANKS = [f"TK-{i:02d}" for i in range(6)]

LEVEL = """query($key: String!) { hazchemTank(key: $key) {
  level { valueM percent at rateMPerMin alarms alarmSince } } }"""
HISTORY = """query($key: String!, $from: DateTime!, $to: DateTime!, $every: Int!) {
  hazchemTank(key: $key) { history(from: $from, to: $to, every: $every) {
    start count average minimum maximum firstAt lastAt } } }"""
IN_ALARM = "{ hazchemTanksInAlarm { key } }"
ALARMS = "{ alarms(last: 100) { edges { node { kind subjectKey value } } } }"


def tank_city() -> list[Record]:
    out = small_city()
    for i, key in enumerate(TANKS):
        out.append(
            Record(
                kind="Tank",
                key=key,
                source_system="hazchem-supervision",
                source_id=key,
                fetched_at=WHEN,
                attrs={
                    "tank_no": f"T{i}",
                    "tank_type": "内浮顶罐",
                    "height_m": HEIGHT,
                    "level_thresholds_m": {"high": HIGH, "high_high": HIGH_HIGH, "low": LOW},
                    "substance": {"name": "甲醇"},
                    "site": "SITE-1",
                    "grid_cell": "BH-T-000",
                },
                geometry={"type": "Point", "coordinates": [117.70 + i / 100, 39.00]},
                datum="GCJ-02",
            )
        )
        out.append(
            Record(
                kind="Sensor",
                key=f"{key}-L",
                source_system="hazchem-supervision",
                source_id=f"{key}-L",
                fetched_at=WHEN,
                # a 1 h sampling interval: the tests' minutes apart never count as stale
                attrs={"sampling_interval_s": 3600},
            )
        )
    return out


VEHICLES = ["HCV-1", "HCV-2"]
SCHOOL = (117.80, 39.05)  # a school-gate camera: a forbidden zone of 200 m around it


def vehicle_city() -> list[Record]:
    out = [
        Record(
            kind="HazchemVehicle",
            key=key,
            source_system="hazchem-gps",
            source_id=key,
            fetched_at=WHEN,
            attrs={"plate": f"津A{i}0001", "owner_firm": "F-1"},
        )
        for i, key in enumerate(VEHICLES)
    ]
    out.append(
        Record(
            kind="Camera",
            key="CAM-1",
            source_system="video-network",
            source_id="CAM-1",
            fetched_at=WHEN,
            attrs={"name": "滨海小学学校门口"},
            geometry={"type": "Point", "coordinates": list(SCHOOL)},
            datum="GCJ-02",
        )
    )
    out.append(
        Record(
            kind="River",
            key="RV-1",
            source_system="water-affairs",
            source_id="RV-1",
            fetched_at=WHEN,
            attrs={"name": "蓟运河", "warning_level_m": 3.5, "water_level_m": 2.0},
            geometry={"type": "Point", "coordinates": [117.72, 39.10]},
            datum="GCJ-02",
        )
    )
    out.append(
        Record(
            kind="PumpStation",
            key="PUMP-1",
            source_system="drainage-scada",
            source_id="PUMP-1",
            fetched_at=WHEN,
            attrs={"name": "新港泵站", "status": "停机", "pumps": 4, "running_pumps": 0},
            geometry={"type": "Point", "coordinates": [117.73, 39.02]},
            datum="GCJ-02",
        )
    )
    return out


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[RecordStore]:
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert(tank_city() + vehicle_city())
    yield store
    store.close()


class Hub:
    """One hub instance (a worker) on the shared store, with a device token and an
    operator's token."""

    def __init__(self, store: RecordStore, folder: Path, name: str) -> None:
        settings = load_settings(
            data_dir=folder,
            telemetry_max_ahead_s=86_400.0,
            telemetry_max_behind_s=30 * 86_400.0,
        )
        self.app: Starlette = create_app(settings, store=store)
        self.http = TestClient(self.app)
        self.http.__enter__()
        self.device = self._token(f"gw-{name}", scopes=["telemetry:write"], devices=["*"])
        self.ops = self._token(f"ops-{name}", role="department")

    def _token(self, name: str, **options: Any) -> str:
        client_id, secret = register_client(self.app, f"{name}-{time.monotonic_ns()}", **options)
        return fetch_token(self.http, client_id, secret)

    def post(self, readings: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
        answer = self.http.post(
            "/telemetry", json={"readings": readings}, headers=bearer(self.device)
        )
        return answer.status_code, dict(answer.json())

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(self.ops)
        )
        body = answer.json()
        assert answer.status_code == 200 and "errors" not in body, body
        return dict(body["data"])

    def close(self) -> None:
        self.http.__exit__(None, None, None)


@pytest.fixture()
def hubs(store: RecordStore, tmp_path: Path) -> Iterator[list[Hub]]:
    made: list[Hub] = []

    def make(name: str) -> Hub:  # workers of one deployment: one store, one configuration
        made.append(Hub(store, tmp_path, name))
        return made[-1]

    yield make  # type: ignore[misc]
    for hub in made:
        hub.close()


VEHICLE = """query($key: String!) { hazchemVehicle(key: $key) {
  position { at lon lat speedKmh } trajectory(last: 10) { at lon lat speedKmh }
  inForbiddenZones { id } } }"""


def fix(key: str, at: float, lon: float, lat: float, speed: float) -> dict[str, Any]:
    return {"kind": "vehicle.fix", "id": key, "at": at, "lon": lon, "lat": lat, "speedKmh": speed}


def test_vehicle_positions_trajectories_and_zones_come_from_the_store(hubs: Any) -> None:
    a, b = hubs("va"), hubs("vb")
    t0 = NOW - 3600
    away = (SCHOOL[0] + 0.05, SCHOOL[1])
    fixes = [fix(VEHICLES[0], t0 + i * 10, away[0] - i * 0.01, away[1], 50.0) for i in range(5)]
    fixes.append(fix(VEHICLES[0], t0 + 60, *SCHOOL, 72.0))  # in the zone, and speeding
    status, body = a.post(fixes)
    assert status == 200 and body["accepted"] == 6, body
    assert sorted(x["kind"] for x in body["alarms"]) == ["geofence.forbidden", "vehicle.speeding"]
    on_a, on_b = a.gql(VEHICLE, key=VEHICLES[0]), b.gql(VEHICLE, key=VEHICLES[0])
    assert on_a == on_b
    v = on_b["hazchemVehicle"]
    assert (v["position"]["lon"], v["position"]["lat"], v["position"]["speedKmh"]) == (
        *SCHOOL,
        72.0,
    )
    assert [p["speedKmh"] for p in v["trajectory"]] == [50.0] * 5 + [72.0]
    assert [z["id"] for z in v["inForbiddenZones"]] == ["school:CAM-1"]
    # a restart: the new hub knows the vehicle is in the zone and speeding, so its next fix
    # there raises nothing again; leaving and coming back raises the zone once more
    a.close()
    again = hubs("vc")
    assert again.gql(VEHICLE, key=VEHICLES[0]) == on_b
    status, body = again.post([fix(VEHICLES[0], t0 + 70, SCHOOL[0], SCHOOL[1] + 1e-4, 75.0)])
    assert status == 200 and body["alarms"] == [], body
    status, body = again.post(
        [
            fix(VEHICLES[0], t0 + 80, *away, 40.0),
            fix(VEHICLES[0], t0 + 90, *SCHOOL, 40.0),
        ]
    )
    assert [x["kind"] for x in body["alarms"]] == ["geofence.forbidden"]


RIVER = """{ river(key: "RV-1") { waterLevel { valueM at warningM overWarning since } }
  floodWarnings { subjectKey levelM since at } }"""


def test_river_levels_and_flood_warnings_come_from_the_store(hubs: Any) -> None:
    a, b = hubs("ra"), hubs("rb")
    t0 = NOW - 1800
    before = b.gql(RIVER)  # b loads its gauges from the records before any reading
    assert before["river"]["waterLevel"]["valueM"] == 2.0 and before["floodWarnings"] == []
    status, body = a.post([{"kind": "water.level", "id": "RV-1", "at": t0, "value": 3.8}])
    assert status == 200 and [x["kind"] for x in body["alarms"]] == ["water.flood"], body
    on_a, on_b = a.gql(RIVER), b.gql(RIVER)
    assert on_a == on_b
    assert on_b["river"]["waterLevel"]["overWarning"] is True
    assert [w["subjectKey"] for w in on_b["floodWarnings"]] == ["RV-1"]
    assert datetime.fromisoformat(on_b["floodWarnings"][0]["since"]).timestamp() == pytest.approx(
        t0
    )
    # b's monitor never saw that reading, yet a restart of a knows the river is over
    a.close()
    again = hubs("rc")
    assert again.gql(RIVER) == on_b
    status, body = again.post([{"kind": "water.level", "id": "RV-1", "at": t0 + 60, "value": 3.9}])
    assert status == 200 and body["alarms"] == [], body


PUMP = """{ pumpStation(key: "PUMP-1") { status runningPumps currentFlowM3S statusAt } }"""


def test_pump_states_come_from_the_store(hubs: Any) -> None:
    a, b = hubs("pa"), hubs("pb")
    assert b.gql(PUMP)["pumpStation"]["status"] == "停机"  # from the record, loaded
    t0 = NOW - 900
    status, body = a.post(
        [{"kind": "pump.state", "id": "PUMP-1", "at": t0, "runningPumps": 3, "flowM3S": 2.5}]
    )
    assert status == 200 and body["accepted"] == 1, body
    on_a, on_b = a.gql(PUMP), b.gql(PUMP)
    assert on_a == on_b
    assert (on_b["pumpStation"]["status"], on_b["pumpStation"]["runningPumps"]) == ("运行", 3)
    a.close()
    again = hubs("pc")  # a restart serves it, and takes the next state from there
    assert again.gql(PUMP) == on_b
    status, body = again.post(
        [{"kind": "pump.state", "id": "PUMP-1", "at": t0 + 60, "status": "故障"}]
    )
    assert [x["kind"] for x in body["alarms"]] == ["pump.fault"]
    assert b.gql(PUMP)["pumpStation"]["status"] == "故障"


def level(key: str, value: float, at: float, **more: Any) -> dict[str, Any]:
    return {"kind": "tank.level", "id": key, "at": at, "value": value, **more}


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


def test_two_hubs_on_one_store_serve_the_same_state_and_history(hubs: Any) -> None:
    a, b = hubs("a"), hubs("b")
    # readings half an hour apart: no rate alarm, only the threshold's
    t0 = NOW - 3 * 3600
    status, body = a.post([level(TANKS[0], 5.0, t0), level(TANKS[0], 9.5, t0 + 1800)])
    assert status == 200 and body["accepted"] == 2, body
    assert [x["kind"] for x in body["alarms"]] == ["tank.high_high"]
    on_a = a.gql(LEVEL, key=TANKS[0])["hazchemTank"]["level"]
    on_b = b.gql(LEVEL, key=TANKS[0])["hazchemTank"]["level"]
    assert on_a == on_b
    assert on_b["valueM"] == 9.5 and on_b["alarms"] == ["high_high", "high"]
    assert on_b["percent"] == pytest.approx(95.0)
    assert datetime.fromisoformat(on_b["alarmSince"]).timestamp() == pytest.approx(t0 + 1800)
    # the tank B never saw a reading of is in alarm on B too, and its history is the same
    assert {"key": TANKS[0]} in b.gql(IN_ALARM)["hazchemTanksInAlarm"]
    window = {"key": TANKS[0], "from": iso(t0 - 60), "to": iso(t0 + 3000), "every": 3600}
    assert a.gql(HISTORY, **window) == b.gql(HISTORY, **window)
    buckets = b.gql(HISTORY, **window)["hazchemTank"]["history"]
    assert sum(x["count"] for x in buckets) == 2
    # a later reading to B moves the state both serve, in the store
    status, body = b.post([level(TANKS[0], 4.0, t0 + 3600)])
    assert status == 200 and body["accepted"] == 1
    assert a.gql(LEVEL, key=TANKS[0]) == b.gql(LEVEL, key=TANKS[0])
    assert a.gql(LEVEL, key=TANKS[0])["hazchemTank"]["level"]["alarms"] == []


def test_a_new_hub_on_the_store_serves_the_last_state_and_keeps_its_alarm_state(
    hubs: Any,
) -> None:
    first = hubs("first")
    t0 = NOW - 4 * 3600
    status, body = first.post([level(TANKS[1], 9.2, t0), level(TANKS[2], 3.0, t0)])
    assert status == 200 and body["alarmCount"] == 1, body
    before = first.gql(LEVEL, key=TANKS[1])
    first.close()
    again = hubs("again")  # a restart: nothing of the first instance's memory
    assert again.gql(LEVEL, key=TANKS[1]) == before
    assert again.gql(IN_ALARM)["hazchemTanksInAlarm"] == [{"key": TANKS[1]}]
    # its monitor was warmed from the store: the tank still over high-high raises no new
    # high-high (it is in that state already), and falling back then rising raises one
    status, body = again.post([level(TANKS[1], 9.4, t0 + 60)])
    assert status == 200 and body["alarms"] == [], body
    status, body = again.post([level(TANKS[1], 5.0, t0 + 1800), level(TANKS[1], 9.6, t0 + 3600)])
    assert [x["kind"] for x in body["alarms"]] == ["tank.high_high"]


def test_history_is_downsampled_as_an_independent_computation_says(hubs: Any) -> None:
    hub = hubs("h")
    rng = random.Random(14)
    start = int(NOW - 6 * 3600)
    points = sorted(
        (start + rng.uniform(0, 5 * 3600), round(rng.uniform(2.0, 7.5), 3)) for _ in range(600)
    )
    for i in range(0, len(points), 150):
        status, body = hub.post([level(TANKS[3], v, t) for t, v in points[i : i + 150]])
        assert status == 200 and body["accepted"] == 150, body
    every = 900
    lo, hi = start + 1000, start + 4 * 3600 + 17
    expected: dict[int, list[float]] = defaultdict(list)
    for t, v in points:
        if lo <= t < hi:
            expected[int(t // every) * every].append(v)
    got = hub.gql(HISTORY, key=TANKS[3], **{"from": iso(lo), "to": iso(hi), "every": every})
    buckets = got["hazchemTank"]["history"]
    assert [datetime.fromisoformat(x["start"]).timestamp() for x in buckets] == sorted(expected)
    for x in buckets:
        values = expected[int(datetime.fromisoformat(x["start"]).timestamp())]
        assert x["count"] == len(values)
        assert x["average"] == pytest.approx(sum(values) / len(values))
        assert (x["minimum"], x["maximum"]) == (min(values), max(values))
    bad = hub.http.post(
        "/graphql",
        json={
            "query": HISTORY,
            "variables": {"key": TANKS[3], "from": iso(lo), "to": iso(hi), "every": 0},
        },
        headers=bearer(hub.ops),
    ).json()
    assert "every must be at least 1 second" in bad["errors"][0]["message"]


def test_a_reading_in_milliseconds_costs_only_itself(hubs: Any) -> None:
    """The fault: one reading with its time in milliseconds made the whole batch a 500, the
    high-high alarms of the others were neither stored nor published while their tanks stayed
    "in alarm", and the offending tank refused every later reading until a restart."""
    hub = hubs("fault")
    t0 = NOW - 3 * 3600
    batch = [level(k, 9.5, t0 + i) for i, k in enumerate(TANKS[:4])]
    batch.insert(2, level(TANKS[4], 9.7, (t0 + 10) * 1000))  # milliseconds
    batch.append(level(TANKS[5], 5.0, NOW + 3 * 86_400))  # three days ahead
    batch.append(level(TANKS[5], 5.0, NOW - 40 * 86_400))  # forty days behind
    status, body = hub.post(batch)
    assert status == 200, body
    assert body["accepted"] == 4
    assert [r["index"] for r in body["rejected"]] == [2, 5, 6]
    assert "milliseconds" in body["rejected"][0]["error"]
    assert "ahead" in body["rejected"][1]["error"] and "behind" in body["rejected"][2]["error"]
    raised = sorted(x["subject_key"] for x in body["alarms"] if x["kind"] == "tank.high_high")
    assert raised == TANKS[:4]
    # the alarms are stored (and so readable), the tanks in alarm exactly those four
    stored = hub.gql(ALARMS)["alarms"]["edges"]
    assert sorted(e["node"]["subjectKey"] for e in stored) == TANKS[:4]
    assert hub.gql(IN_ALARM)["hazchemTanksInAlarm"] == [{"key": k} for k in TANKS[:4]]
    # the offending tank takes its next reading (seconds), and raises its alarm
    status, body = hub.post([level(TANKS[4], 9.7, t0 + 1800)])
    assert status == 200 and body["accepted"] == 1, body
    assert [x["kind"] for x in body["alarms"]] == ["tank.high_high"]
    assert hub.gql(LEVEL, key=TANKS[4])["hazchemTank"]["level"]["valueM"] == 9.7
    # the four, back to normal and over again, raise their alarm again
    status, body = hub.post(
        [level(k, 5.0, t0 + 3600) for k in TANKS[:4]]
        + [level(k, 9.8, t0 + 5400) for k in TANKS[:4]]
    )
    assert sorted(x["subject_key"] for x in body["alarms"]) == TANKS[:4]
    assert {x["kind"] for x in body["alarms"]} == {"tank.high_high"}


def test_a_retried_reading_is_stored_once(hubs: Any, store: RecordStore) -> None:
    hub = hubs("retry")
    t0 = NOW - 300
    batch = [
        level(TANKS[0], 9.5, t0, readingId="gw-1/0001"),
        level(TANKS[1], 2.0, t0, readingId="gw-1/0002"),
    ]
    status, body = hub.post(batch)
    assert status == 200 and body["accepted"] == 2 and body["duplicates"] == 0
    assert len(body["alarms"]) == 1
    status, body = hub.post(batch)  # the gateway never saw the answer and sends it again
    assert status == 200, body
    assert body["accepted"] == 2 and body["duplicates"] == 2 and body["alarms"] == []
    window = {"from": iso(t0 - 10), "to": iso(t0 + 10), "every": 60}
    buckets = hub.gql(HISTORY, key=TANKS[0], **window)["hazchemTank"]["history"]
    assert [x["count"] for x in buckets] == [1]


def test_the_state_store_on_every_backend(store_url: str) -> None:
    """hub.state itself on SQLite and PostgreSQL: one transaction per batch, the latest state
    never moved back by an older batch, a retried reading a no-op, history by buckets."""
    from hub import feed, state
    from hub.live import Reading

    store = RecordStore.from_url(store_url)
    store.migrate()
    t0 = float(int(NOW) // 3600 * 3600 - 7200)  # on an hour: the buckets' edges are known

    def reading(ident: str, at: float, value: float, **more: Any) -> Reading:
        return Reading(kind="water.level", id=ident, at=at, value=value, **more)

    first = [reading("WS-1", t0 + i * 60, float(i), reading_id=f"r{i}") for i in range(90)]
    first.append(reading("WS-2", t0, 1.5, lon=117.7, lat=39.0, extra={"unit": "m"}))
    head = feed.head(store.engine)
    state.write_batch(
        store.engine, state.StateWrite(readings=first, states={("water.level", "WS-1"): {"x": 1}})
    )
    entries = feed.read_after(store.engine, head)
    assert [(e.topic, e.payload) for e in entries] == [
        ("reading", {"devices": ["water.level:WS-1", "water.level:WS-2"], "kinds": ["water.level"]})
    ]
    now = state.latest(store.engine, "water.level", ["WS-1", "WS-2", "WS-3"])
    assert set(now) == {"WS-1", "WS-2"}
    assert now["WS-1"].value == 89.0 and now["WS-1"].state["x"] == 1
    assert now["WS-1"].at.timestamp() == pytest.approx(t0 + 89 * 60)
    assert now["WS-2"].point == (117.7, 39.0) and now["WS-2"].state["extra"] == {"unit": "m"}
    # an older batch (another worker's, committed later) leaves the latest state alone, and
    # its retried readings are not stored twice
    state.write_batch(
        store.engine,
        state.StateWrite(readings=[reading("WS-1", t0 + 30, 99.0, reading_id="r0"), first[5]]),
    )
    assert state.latest(store.engine, "water.level", ["WS-1"])["WS-1"].value == 89.0
    assert state.seen(
        store.engine, [("water.level", "WS-1", "r3"), ("water.level", "WS-1", "zz")]
    ) == {("water.level", "WS-1", "r3")}
    buckets = state.history(
        store.engine, "water.level", "WS-1", datetime.fromtimestamp(t0, UTC),
        datetime.fromtimestamp(t0 + 7200, UTC), 1800,
    )  # fmt: skip
    assert [b.count for b in buckets] == [30, 30, 30]
    assert [b.minimum for b in buckets] == [0.0, 30.0, 60.0]
    assert [b.maximum for b in buckets] == [29.0, 59.0, 89.0]
    assert [b.average for b in buckets] == pytest.approx([14.5, 44.5, 74.5])
    assert [b.start.timestamp() for b in buckets] == [t0, t0 + 1800, t0 + 3600]
    assert buckets[0].first_at.timestamp() == pytest.approx(t0)
    assert buckets[2].last_at.timestamp() == pytest.approx(t0 + 89 * 60)
    with pytest.raises(ValueError, match="buckets"):
        state.history(
            store.engine, "water.level", "WS-1", datetime.fromtimestamp(0, UTC),
            datetime.fromtimestamp(t0, UTC), 1,
        )  # fmt: skip
    store.close()


def test_a_failing_rule_costs_only_its_own_readings(hubs: Any) -> None:
    """A rule of the hub that raises (a bug, not the sender's fault) refuses the readings it
    was given, by index; the other kinds' readings are applied, stored and their alarms kept."""
    hub = hubs("boom")
    live = hub.app.state.hub.live

    def explode(readings: Any) -> list[Any]:
        raise RuntimeError("a bug in a rule")

    def picky(reading: Any) -> str | None:
        if reading.id == "B-2":
            raise RuntimeError("a bug in a check")
        return None

    live.register("test.boom", explode)
    live.register("test.picky", lambda readings: [], picky)
    t0 = NOW - 600
    status, body = hub.post(
        [
            {"kind": "test.boom", "id": "B-1", "at": t0, "value": 1.0},
            level(TANKS[0], 9.5, t0),
            {"kind": "test.picky", "id": "B-2", "at": t0, "value": 1.0},
            {"kind": "test.picky", "id": "B-3", "at": t0, "value": 1.0},
        ]
    )
    assert status == 200, body
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [0, 2]
    assert "could not evaluate test.boom" in body["rejected"][0]["error"]
    assert "could not check" in body["rejected"][1]["error"]
    assert [x["subject_key"] for x in body["alarms"]] == [TANKS[0]]
    assert hub.gql(IN_ALARM)["hazchemTanksInAlarm"] == [{"key": TANKS[0]}]
    assert [e["node"]["subjectKey"] for e in hub.gql(ALARMS)["alarms"]["edges"]] == [TANKS[0]]


def test_workers_follow_each_others_readings_and_raise_an_alarm_once(hubs: Any) -> None:
    """Each worker's monitors follow the feed's readings: a tank another worker put in alarm
    is in alarm here too, so its next reading here raises no second high-high; a river
    likewise."""
    a, b = hubs("fa"), hubs("fb")
    b.gql(LEVEL, key=TANKS[0])  # b has loaded its tank monitor before a's reading
    b.gql(RIVER)
    t0 = NOW - 3 * 3600
    status, body = a.post(
        [level(TANKS[0], 9.5, t0), {"kind": "water.level", "id": "RV-1", "at": t0, "value": 3.8}]
    )
    assert sorted(x["kind"] for x in body["alarms"]) == ["tank.high_high", "water.flood"], body
    services = b.app.state.hub.apps
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tanks, gauges = services["hazchem"].tanks, services["water"].levels
        if TANKS[0] in tanks.in_alarm() and "RV-1" in gauges.in_warning():
            break
        time.sleep(0.05)
    else:
        pytest.fail("worker b's monitors did not follow a's readings")
    status, body = b.post(
        [
            level(TANKS[0], 9.6, t0 + 1800),
            {"kind": "water.level", "id": "RV-1", "at": t0 + 1800, "value": 3.9},
        ]
    )
    assert status == 200 and body["accepted"] == 2 and body["alarms"] == [], body
    # and when it falls back and rises again, b raises it (once)
    status, body = b.post([level(TANKS[0], 5.0, t0 + 3600), level(TANKS[0], 9.7, t0 + 5400)])
    assert [x["kind"] for x in body["alarms"]] == ["tank.high_high"]


def test_the_batch_times_are_the_text_sqlalchemy_binds() -> None:
    """The SQLite path writes every reading's time as text computed for the whole batch at
    once: the same text SQLAlchemy binds for the datetime fromtimestamp makes (microseconds
    rounded half to even), so stored times compare and sort with those it binds."""
    from sqlalchemy import DateTime
    from sqlalchemy.dialects import sqlite

    from hub.state.store import sqlite_times

    rng = random.Random(14)
    seconds = [NOW + rng.uniform(-1e7, 1e7) for _ in range(5000)]
    seconds += [round(s, 3) for s in seconds[:1000]] + [float(int(NOW)), NOW + 0.9999995]
    dialect = sqlite.dialect()
    bind = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    expected = [bind(datetime.fromtimestamp(s, UTC).replace(tzinfo=None)) for s in seconds]
    assert sqlite_times(seconds) == expected


def device_records() -> list[Record]:
    """A water-quality station, a gate, a ponding point and a muck truck beside the city's
    river, pump station, tanks and vehicles: one device of every type that keeps a history."""

    def record(kind: str, key: str, **attrs: Any) -> Record:
        return Record(
            kind=kind,
            key=key,
            source_system="test",
            source_id=key,
            fetched_at=WHEN,
            attrs={"name": key, **attrs},
            geometry={"type": "Point", "coordinates": [117.71, 39.01]},
            datum="GCJ-02",
        )

    return [
        record("WaterStation", "WQS-1", river="RV-1"),
        record("Gate", "GATE-1", river="RV-1", status="关闭", opening_m=0.0),
        record("PondingPoint", "POND-1", warning_depth_cm=15),
        record("MuckTruck", "MT-1", plate="津B00001"),
    ]


DEVICE_HISTORY = """query($from: DateTime!, $to: DateTime!) {
  hazchemTank(key: "TK-03") { history(from: $from, to: $to, every: 180) { ...b } }
  hazchemVehicle(key: "HCV-1") { history(from: $from, to: $to, every: 180) { ...b } }
  muckTruck(key: "MT-1") { history(from: $from, to: $to, every: 180) { ...b } }
  river(key: "RV-1") { history(from: $from, to: $to, every: 180) { ...b } }
  pondingPoints(first: 5) { edges { node { key history(from: $from, to: $to, every: 180) {
    ...b } } } }
  waterStation(key: "WQS-1") { ph: history(from: $from, to: $to, every: 180, measure: "pH") {
    ...b } nh3: history(from: $from, to: $to, every: 180, measure: "NH3-N") { ...b } }
  pumpStation(key: "PUMP-1") { history(from: $from, to: $to, every: 180) { ...b }
    flow: history(from: $from, to: $to, every: 180, measure: "flowM3S") { ...b } }
  waterGate(key: "GATE-1") { history(from: $from, to: $to, every: 180) { ...b } }
}
fragment b on ReadingBucket { start count average minimum maximum }"""


def test_every_device_type_serves_its_history_from_the_store(hubs: Any, store: RecordStore) -> None:
    """Six readings a minute apart of every device type, posted to one hub, are served as
    the same buckets of three by another, each aggregating what its type measures, in the
    units the hub keeps (centimetres and percentages sent are kept as metres, a sample's
    items however named under their code, a SCADA field however cased)."""
    store.upsert(device_records())
    a, b = hubs("ha"), hubs("hb")
    t0 = float(int(NOW - 3600) // 180 * 180)  # on a bucket's edge: three readings a bucket
    sent: dict[str, list[float]] = defaultdict(list)
    readings: list[dict[str, Any]] = []
    for i in range(6):
        at = t0 + i * 60
        speed, cm, nh3, flow, opening = 10.0 * i, 200.0 + i, 0.1 * i, 0.5 * i, 0.2 * i
        readings += [
            {"kind": "tank.level", "id": "TK-03", "at": at, "value": 40 + i, "unit": "%"},
            fix("HCV-1", at, 117.60, 39.00 + i / 1000, speed),
            {"kind": "muck.fix", "id": "MT-1", "at": at, "lon": 117.6, "lat": 39.0,
             "speedKmh": speed},
            {"kind": "water.level", "id": "RV-1", "at": at, "value": cm, "unit": "cm"},
            {"kind": "water.level", "id": "POND-1", "at": at, "value": i / 100},
            # the same item by its code, by its attribute in parameters, camel-cased
            {"kind": "water.quality", "id": "WQS-1", "at": at, "pH": 7.0 + i / 10,
             **[{"NH3-N": nh3}, {"parameters": {"ammonia_nitrogen_mg_l": nh3}},
                {"ammoniaNitrogenMgL": nh3}][i % 3]},
            {"kind": "pump.state", "id": "PUMP-1", "at": at, "runningPumps": i % 4,
             **({"flowM3S": flow} if i % 2 else {"current_flow_m3_s": flow})},
            {"kind": "gate.state", "id": "GATE-1", "at": at,
             **({"openingM": opening} if i % 2 else {"opening_m": opening})},
        ]  # fmt: skip
        for name, value in (
            ("tank", (40 + i) / 100 * HEIGHT), ("vehicle", speed), ("truck", speed),
            ("river", cm / 100), ("pond", i / 100), ("ph", 7.0 + i / 10), ("nh3", nh3),
            ("pumps", float(i % 4)), ("flow", flow), ("gate", opening),
        ):  # fmt: skip
            sent[name].append(value)
    status, body = a.post(readings)
    assert status == 200 and body["accepted"] == len(readings), body
    window = {"from": iso(t0), "to": iso(t0 + 360)}
    served = b.gql(DEVICE_HISTORY, **window)
    assert served == a.gql(DEVICE_HISTORY, **window)
    ponds = served["pondingPoints"]["edges"]
    got = {
        "tank": served["hazchemTank"]["history"],
        "vehicle": served["hazchemVehicle"]["history"],
        "truck": served["muckTruck"]["history"],
        "river": served["river"]["history"],
        "pond": next(e["node"]["history"] for e in ponds if e["node"]["key"] == "POND-1"),
        "ph": served["waterStation"]["ph"],
        "nh3": served["waterStation"]["nh3"],
        "pumps": served["pumpStation"]["history"],
        "flow": served["pumpStation"]["flow"],
        "gate": served["waterGate"]["history"],
    }
    for name, buckets in got.items():
        values = sent[name]
        expected = [
            {
                "start": iso(t0 + k * 180),
                "count": 3,
                "average": pytest.approx(sum(values[3 * k : 3 * k + 3]) / 3),
                "minimum": pytest.approx(min(values[3 * k : 3 * k + 3])),
                "maximum": pytest.approx(max(values[3 * k : 3 * k + 3])),
            }
            for k in range(2)
        ]
        starts = [datetime.fromisoformat(x["start"]).timestamp() for x in buckets]
        assert starts == [t0, t0 + 180], name
        assert [{**x, "start": iso(s)} for x, s in zip(buckets, starts, strict=True)] == (
            expected
        ), name
    refused = b.http.post(
        "/graphql",
        json={
            "query": 'query($from: DateTime!, $to: DateTime!) { waterStation(key: "WQS-1") '
            '{ history(from: $from, to: $to, measure: "colour") { count } } }',
            "variables": window,
        },
        headers=bearer(b.ops),
    ).json()
    assert "measure 'colour'" in refused["errors"][0]["message"]


STATION = """{ waterStation(key: "WQS-Q") { sampledAt waterClass compliant exceedingItems
  samples samplesCompliant ammoniaNitrogenMgL } }"""
BODY = """{ river(key: "RV-Q") { complianceRate quality { samples samplesCompliant } } }"""


def sample(at: float, nh3: float) -> dict[str, Any]:
    return {"kind": "water.quality", "id": "WQS-Q", "at": at, "NH3-N": nh3, "DO": 6.5}


def test_water_samples_and_their_tallies_come_from_the_store(hubs: Any, store: RecordStore) -> None:
    """A station's latest sample and its tallies, taken by one hub, are served alike by
    another at once (the station's fields read the store) and by its river's figures after
    the feed (the other's read model follows it), and a restart starts from them: the next
    sample is judged against the last one wherever it was taken."""
    target = Record(
        kind="River", key="RV-Q", source_system="water-affairs", source_id="RV-Q",
        fetched_at=WHEN, attrs={"name": "潮白新河", "target_class": 3},
    )  # fmt: skip
    station = Record(
        kind="WaterStation", key="WQS-Q", source_system="water-quality", source_id="WQS-Q",
        fetched_at=WHEN, attrs={"name": "WQS-Q", "river": "RV-Q"},
    )  # fmt: skip
    store.upsert([target, station])
    a, b = hubs("qa"), hubs("qb")
    assert b.gql(STATION)["waterStation"]["samples"] == 0  # b has loaded the station
    t0 = NOW - 7200
    status, body = a.post([sample(t0, 1.8)])  # class V against a target of III
    assert status == 200 and [x["kind"] for x in body["alarms"]] == ["water.quality_exceeded"]
    on_b = b.gql(STATION)["waterStation"]
    assert on_b == a.gql(STATION)["waterStation"]
    assert (on_b["waterClass"], on_b["compliant"], on_b["exceedingItems"]) == (
        "V",
        False,
        ["NH3-N"],
    )
    assert (on_b["samples"], on_b["samplesCompliant"], on_b["ammoniaNitrogenMgL"]) == (1, 0, 1.8)

    def figures_agree() -> dict[str, Any]:
        deadline = time.monotonic() + 1.0  # the feed's lag between workers
        while True:
            seen_a, seen_b = a.gql(BODY), b.gql(BODY)
            if seen_a == seen_b or time.monotonic() > deadline:
                assert seen_a == seen_b
                return seen_b

    assert figures_agree()["river"] == {
        "complianceRate": 0.0,
        "quality": {"samples": 1, "samplesCompliant": 0},
    }
    # b takes the next sample: it counts on from a's tallies, and a serves what b counted
    status, body = b.post([sample(t0 + 600, 0.3)])
    assert status == 200 and body["alarms"] == [], body
    on_a = a.gql(STATION)["waterStation"]
    assert on_a == b.gql(STATION)["waterStation"]
    assert (on_a["waterClass"], on_a["samples"], on_a["samplesCompliant"]) == ("II", 2, 1)
    assert figures_agree()["river"]["quality"] == {"samples": 2, "samplesCompliant": 1}
    a.close()
    b.close()
    again = hubs("qc")  # a restart: only the store remembers
    assert again.gql(STATION)["waterStation"] == on_a
    assert again.gql(BODY)["river"]["quality"] == {"samples": 2, "samplesCompliant": 1}
    status, body = again.post([sample(t0 + 1200, 1.8)])  # after a compliant one: an alarm
    assert [x["kind"] for x in body["alarms"]] == ["water.quality_exceeded"], body
    assert again.gql(STATION)["waterStation"]["samples"] == 3


CAMERA = """query($from: DateTime!, $to: DateTime!) {
  camera(key: "CAM-1") { health { state lastHeartbeatAt silent }
    history(from: $from, to: $to, every: 60) { start count } }
  cameraHealth { totals { total online offline fault } } }"""


def test_camera_heartbeats_are_stored_and_served_alike(hubs: Any) -> None:
    """A camera's heartbeats posted to one hub: the other serves its health from them (the
    video platform's record knew no heartbeat) and counts them in its history."""
    a, b = hubs("ca"), hubs("cb")
    t0 = float(int(NOW - 600) // 60 * 60)
    window = {"from": iso(t0), "to": iso(t0 + 120)}
    before = b.gql(CAMERA, **window)
    assert before["camera"]["health"]["state"] == "unknown"
    assert before["camera"]["history"] == []
    beats = [
        {"kind": "camera.heartbeat", "id": "CAM-1", "at": t0, "status": "故障"},
        {"kind": "camera.heartbeat", "id": "CAM-1", "at": t0 + 60},  # alive: online
        {"kind": "camera.heartbeat", "id": "CAM-1", "at": t0 + 90, "status": "yes"},
        {"kind": "camera.heartbeat", "id": "CAM-9", "at": t0 + 90},
    ]
    status, body = a.post(beats)
    assert status == 200 and body["accepted"] == 2, body
    assert [r["index"] for r in body["rejected"]] == [2, 3]
    served = b.gql(CAMERA, **window)
    assert served == a.gql(CAMERA, **window)
    health = served["camera"]["health"]
    assert health["state"] == "online" and health["silent"] is False
    assert datetime.fromisoformat(health["lastHeartbeatAt"]).timestamp() == t0 + 60
    assert [x["count"] for x in served["camera"]["history"]] == [1, 1]
    assert served["cameraHealth"]["totals"]["online"] == 1
    assert served["cameraHealth"]["totals"]["online"] == (
        before["cameraHealth"]["totals"]["online"] + 1
    )
