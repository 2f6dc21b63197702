"""Tank temperature and pressure, watched like the level (issue 16 item 4): their limits from
the sensor's thresholds else from the tank's design, their alarms equal to the core's oracle
(``core_ext.reference.risk.ReferenceTankAlarms``) through the hub's ingest, a pressure over
high-high over ``POST /telemetry`` with a real token, and a silent sensor raising ``stale``
without a next reading, once per silence."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core_ext.reference.risk import ReferenceTankAlarms
from hub.apps.hazchem.services import HazchemServices
from hub.apps.hazchem.tanks import PRESSURE, TEMPERATURE, Quantity, TankWatch
from hub.fanout import open_broadcast
from hub.live import Alarm, LiveBus, Reading
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, register_client

WHEN = datetime(2026, 6, 1, tzinfo=UTC)
T_SEED = WHEN.timestamp()


def _tank(key: str, **attrs: Any) -> Record:
    return Record(
        kind="Tank",
        key=key,
        source_system="hazchem-registry",
        source_id=key,
        fetched_at=WHEN,
        attrs={"tank_no": key[-2:], "substance": {"name": "液氨"}, "site": "S-1", **attrs},
        geometry={"type": "Point", "coordinates": [117.7, 39.0]},
        datum="GCJ-02",
    )


def _sensor(tank: str, suffix: str, **attrs: Any) -> Record:
    return Record(
        kind="Sensor",
        key=f"{tank}-{suffix}",
        source_system="tank-sensors",
        source_id=f"{tank}-{suffix}",
        fetched_at=WHEN,
        attrs={"tank": tank, **attrs},
    )


def test_limits_come_from_the_sensor_else_from_the_design() -> None:
    tanks = [
        _tank("TNK-A", design_pressure_kpa=1000.0, design_temperature_c=[-20.0, 55.0]),
        _tank("TNK-B", design_pressure_kpa=1000.0, design_temperature_c=[-20.0, 55.0]),
        _tank("TNK-C"),  # nothing known: only the rate (temperature) and stale limits
    ]
    sensors = {
        s.key: s
        for s in (
            _sensor("TNK-A", "T", thresholds={"low": -5, "high": 40, "high_high": 47},
                    sampling_interval_s=30),
            _sensor("TNK-A", "P", thresholds={"low": 150, "high": 880, "high_high": 1000},
                    sampling_interval_s=10),
        )
    }  # fmt: skip
    temperature = TankWatch(tanks, sensors, quantity=TEMPERATURE).specs
    pressure = TankWatch(tanks, sensors, quantity=PRESSURE).specs
    a_t, a_p = temperature["TNK-A"].limits, pressure["TNK-A"].limits
    assert (a_t.low, a_t.high, a_t.high_high) == (-5, 40, 47)  # the sensor's thresholds
    assert (a_p.low, a_p.high, a_p.high_high) == (150, 880, 1000)
    assert (a_t.stale_after_s, a_p.stale_after_s) == (300, 100)  # ten sampling intervals
    b_t, b_p = temperature["TNK-B"].limits, pressure["TNK-B"].limits
    # the design: high-high at the upper design temperature, high 10 % of the range below,
    # low at the lower; pressure high at 90 %, high-high at 100 % of the design pressure
    assert (b_t.low, b_t.high, b_t.high_high) == (-20, pytest.approx(47.5), 55)
    assert (b_p.high, b_p.high_high, b_p.max_rate_per_min) == (900, 1000, 100)
    assert math.isnan(b_p.low) and b_t.max_rate_per_min == 2.0
    assert b_t.stale_after_s == 600  # no sensor: a minute's sampling
    c_t, c_p = temperature["TNK-C"].limits, pressure["TNK-C"].limits
    assert all(math.isnan(x) for x in (c_t.high, c_t.high_high, c_p.high, c_p.max_rate_per_min))


# ---------------------------------------------------------------------------------------------
# The hub's rules against the oracle


def _as_tuples(alarms: list[Alarm], quantity: Quantity) -> list[tuple[str, str, float]]:
    return [(a.kind.removeprefix(quantity.alarm), a.subject_key, a.at.timestamp()) for a in alarms]


def _reference(watch: TankWatch) -> ReferenceTankAlarms:
    """The oracle, started where the watch started: the sensors' last values (not reported)."""
    seeded = {}
    for key in watch.specs:
        last = watch.monitor.last_reading(key)
        if last is not None:
            seeded[key] = last
    limits = {k: s.limits for k, s in watch.specs.items()}
    ref = ReferenceTankAlarms(limits, seeded, dict(watch.state), reported=list(watch.reported))
    return ref


GAUGE_TANKS = [
    _tank("TNK-A", design_pressure_kpa=1000.0, design_temperature_c=[-20.0, 55.0]),
    _tank("TNK-B", design_pressure_kpa=400.0, design_temperature_c=[0.0, 40.0]),
    _tank("TNK-C", design_pressure_kpa=2.6, design_temperature_c=[-5.0, 65.0]),
]
GAUGE_SENSORS = {
    s.key: s
    for s in (
        _sensor("TNK-A", "T", thresholds={"low": -5, "high": 40, "high_high": 47},
                sampling_interval_s=10, last_value=20.0, last_reading_at=WHEN.isoformat()),
        _sensor("TNK-A", "P", thresholds={"low": 150, "high": 880, "high_high": 1000},
                sampling_interval_s=10, last_value=500.0, last_reading_at=WHEN.isoformat()),
        _sensor("TNK-B", "T", sampling_interval_s=30, last_value=45.0,
                last_reading_at=(WHEN - timedelta(days=1)).isoformat()),
    )
}  # fmt: skip
step = st.one_of(
    st.tuples(
        st.just("read"),
        st.lists(
            st.tuples(
                st.sampled_from(["TNK-A", "TNK-B", "TNK-C"]),
                st.integers(-30, 1100),
                st.integers(0, 400),  # seconds after the reading before
            ),
            min_size=1,
            max_size=8,
        ),
    ),
    st.tuples(st.just("look"), st.integers(0, 900)),  # the timer, this long after
)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([TEMPERATURE, PRESSURE]), st.lists(step, max_size=12))
def test_the_watch_raises_what_the_oracle_says(quantity: Quantity, steps: list[Any]) -> None:
    watch = TankWatch(GAUGE_TANKS, GAUGE_SENSORS, quantity=quantity)
    ref = _reference(watch)
    clock = T_SEED
    for what, arg in steps:
        if what == "look":
            now = clock + arg
            assert _as_tuples(watch.silent(now), quantity) == ref.silent(now)
            continue
        readings = []
        for tid, value, dt in arg:
            clock += dt
            readings.append(Reading(quantity.kind, tid, clock, float(value)))
        got = watch.evaluate(readings)
        expected = ref.evaluate(
            [r.id for r in readings], [float(r.value or 0) for r in readings],
            [r.at for r in readings],
        )  # fmt: skip
        assert _as_tuples(got, quantity) == expected


@pytest.fixture()
def gauge_store(demo_store: RecordStore, tmp_path: Path) -> Iterator[RecordStore]:
    """A store with 30 of the demo city's tanks and their sensors (the generated limits)."""
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    tanks = demo_store.page("Tank", after=None, before=None, limit=30, from_end=False)
    sensors = demo_store.get_many("Sensor", [f"{t.key}-{s}" for t in tanks for s in "LTP"])
    store.upsert([*tanks, *sensors.values()])
    yield store
    store.close()


def test_temperature_and_pressure_alarms_through_ingest_equal_the_oracle(
    gauge_store: RecordStore,
) -> None:
    """Random readings of every tank's temperature and pressure as JSON through the live bus
    (parse, route, check, the hazchem app's rules, stored), with the silence timer looking now
    and then (five tanks go quiet halfway): the alarms, stored and answered, are the
    oracle's."""
    bus = LiveBus(open_broadcast(""), gauge_store, max_behind_s=0)
    app = HazchemServices(gauge_store)
    app.register_tanks(bus)
    rng = random.Random(2019)
    quantities = (TEMPERATURE, PRESSURE)
    watches = {q.kind: app.tank_watch(q.kind) for q in quantities}
    refs = {q.kind: _reference(w) for q, w in zip(quantities, watches.values(), strict=True)}
    keys = sorted(watches[TEMPERATURE.kind].specs)
    # each reading walks inside [low, high-high] stretched by a fifth, so it crosses them all
    bands = {}
    for q in quantities:
        for key in keys:
            lim = watches[q.kind].specs[key].limits
            lo = lim.low if math.isfinite(lim.low) else 0.0
            hh = lim.high_high if math.isfinite(lim.high_high) else lo + 100.0
            pad = (hh - lo) / 5 or 1.0
            bands[q.kind, key] = (lo - pad, hh + pad)
    clock = max(t for w in watches.values() for _, t in _last(w)) + 1.0
    raised: dict[str, list[tuple[str, str, float]]] = {q.kind: [] for q in quantities}
    expected: dict[str, list[tuple[str, str, float]]] = {q.kind: [] for q in quantities}
    silent_keys = set(rng.sample(keys, 5))  # these go quiet halfway
    for round_ in range(40):
        batch = []
        for key in keys:
            if round_ > 20 and key in silent_keys:
                continue
            for q in quantities:
                if rng.random() < 0.3:
                    continue
                lo, hi = bands[q.kind, key]
                clock += rng.choice((0.5, 1.0, 3.0))
                value = round(rng.uniform(lo, hi), 2)
                batch.append({"kind": q.kind, "id": key, "at": clock, "value": value})
        clock += rng.choice((5.0, 30.0, 200.0))  # now and then past some windows
        result = bus.ingest_sync(batch)
        assert result.accepted == len(batch), result.rejected[:3]
        for q in quantities:
            mine = [r for r in batch if r["kind"] == q.kind]
            expected[q.kind] += refs[q.kind].evaluate(
                [r["id"] for r in mine], [r["value"] for r in mine], [r["at"] for r in mine]
            )
            raised[q.kind] += _as_tuples([a for a in result.alarms if a.kind.startswith(
                q.alarm)], q)  # fmt: skip
        if round_ % 3 == 2:  # the timer
            silent = app.silent_tanks()
            gauge_store.upsert([a.to_record() for a in silent])  # as publish_alarms keeps them
            for q in quantities:
                now = watches[q.kind].now()
                expected[q.kind] += refs[q.kind].silent(now)
                raised[q.kind] += _as_tuples([a for a in silent if a.kind.startswith(q.alarm)], q)
    for q in quantities:
        assert raised[q.kind] == expected[q.kind], q.name
        names = {name for name, _, _ in expected[q.kind]}
        assert {"high_high", "rate", "stale"} <= names, (q.name, names)  # the rules did work
    # every alarm raised is stored once
    stored = {r.key for r in gauge_store.scan("Alarm")}
    assert len(stored) == sum(len(v) for v in raised.values())


def test_a_silence_is_one_alarm_across_workers_and_restarts(gauge_store: RecordStore) -> None:
    """Worker A holds the timer and raises a silent sensor's stale alarm; worker B (another
    process on the store, or A restarted: its watch built from the stored states) neither
    raises it again from its timer nor from the reading that ends the silence."""
    a_bus = LiveBus(open_broadcast(""), gauge_store, max_behind_s=0)
    a = HazchemServices(gauge_store)
    a.register_tanks(a_bus)
    keys = sorted(a.tank_watch(PRESSURE.kind).specs)[:2]
    quiet, talker = keys
    lim = a.tank_watch(PRESSURE.kind).specs[quiet].limits
    value = (lim.low + lim.high) / 2
    t0 = max(t for _, t in _last(a.tank_watch(PRESSURE.kind))) + 1.0

    def reading(key: str, at: float) -> dict[str, Any]:
        return {"kind": PRESSURE.kind, "id": key, "at": at, "value": value}

    a_bus.ingest_sync([reading(quiet, t0), reading(talker, t0)])
    later = t0 + lim.stale_after_s + 1
    a_bus.ingest_sync([reading(talker, later)])  # the city goes on past the quiet one's window
    raised = a.silent_tanks()
    assert [(x.kind, x.subject_key) for x in raised] == [("tank.pressure_stale", quiet)]
    gauge_store.upsert([x.to_record() for x in raised])  # as publish_alarms keeps it
    assert a.silent_tanks() == []  # once per silence in the worker that raised it
    b_bus = LiveBus(open_broadcast(""), gauge_store, max_behind_s=0)
    b = HazchemServices(gauge_store)
    b.register_tanks(b_bus)
    assert b.silent_tanks() == []  # the store has it: not again from another timer
    back = b_bus.ingest_sync([reading(quiet, later + 1)])
    assert back.accepted == 1 and back.alarms == []  # nor from the reading that ends it
    # a new silence after that is a new alarm
    b_bus.ingest_sync([reading(talker, later + 2 * lim.stale_after_s)])
    again = b.silent_tanks()
    assert [(x.kind, x.subject_key) for x in again] == [("tank.pressure_stale", quiet)]
    assert again[0].id != raised[0].id


def _last(watch: TankWatch) -> list[tuple[float, float]]:
    return [lr for k in watch.specs if (lr := watch.monitor.last_reading(k)) is not None]


# ---------------------------------------------------------------------------------------------
# Over HTTP, on the demo city

T1 = 1_790_600_000.0  # after the demo city's readings; apart from the other modules' blocks
GAUGES = """query($key: String!) { hazchemTank(key: $key) { key
  pressure { value unit at ratePerMin alarms alarmSince }
  pressureLimits { unit low high highHigh maxRatePerMin staleAfterS }
  temperature { value unit alarms }
  temperatureLimits { unit low high highHigh maxRatePerMin staleAfterS } } }"""


@pytest.fixture(scope="module")
def hub(demo_app: Starlette) -> Iterator[tuple[Starlette, TestClient]]:
    with TestClient(demo_app) as http:
        yield demo_app, http


def _token(app: Starlette, http: TestClient, name: str, **options: Any) -> str:
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(http, client_id, secret)


def _gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    body = answer.json()
    assert answer.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


def _post(http: TestClient, tok: str, readings: list[Any]) -> dict[str, Any]:
    answer = http.post("/telemetry", json={"readings": readings}, headers=bearer(tok))
    assert answer.status_code in (200, 422), answer.text  # 422: every reading refused
    return dict(answer.json())


def _quiet_tanks(http: TestClient, ops: str) -> list[dict[str, Any]]:
    """Tanks in no alarm whose pressure and temperature limits are all known."""
    page = _gql(http, ops, "{ hazchemTanks(first: 20) { edges { node { key } } } }")
    in_alarm = {t["key"] for t in _gql(http, ops, "{ hazchemTanksInAlarm { key } }")[
        "hazchemTanksInAlarm"]}  # fmt: skip
    out = []
    for edge in page["hazchemTanks"]["edges"]:
        if edge["node"]["key"] in in_alarm:
            continue
        tank = _gql(http, ops, GAUGES, key=edge["node"]["key"])["hazchemTank"]
        if all(tank[f]["low"] is not None for f in ("pressureLimits", "temperatureLimits")):
            out.append(tank)
    return out


def test_a_pressure_over_high_high_raises_its_alarm_once_and_the_tank_shows_it(
    hub: tuple[Starlette, TestClient],
) -> None:
    app, http = hub
    ops = _token(app, http, "ops-gauge", role="department")
    device = _token(app, http, "gauge-gw", scopes=["telemetry:write"], devices=["*"])
    tank = _quiet_tanks(http, ops)[0]
    key, lim = tank["key"], tank["pressureLimits"]
    assert lim["unit"] == "kPa" and lim["low"] < lim["high"] < lim["highHigh"]
    normal = (lim["low"] + lim["high"]) / 2
    over = lim["highHigh"] * 1.02 + 0.1
    # slow enough for the rate limit: the readings a few minutes apart, inside the window
    gap = min(lim["staleAfterS"] / 2, 300.0)
    steps = [normal, (normal + over) / 2, over, over]
    body = _post(
        http,
        device,
        [{"kind": "tank.pressure", "id": key, "at": T1 + i * gap, "value": v}
         for i, v in enumerate(steps)],
    )  # fmt: skip
    assert body["accepted"] == 4 and body["rejectedCount"] == 0, body
    mine = [a for a in body["alarms"] if a["subject_key"] == key]
    hh = [a for a in mine if a["kind"] == "tank.pressure_high_high"]
    assert [(a["value"], a["severity"]) for a in hh] == [(pytest.approx(over), "critical")]
    assert "压力高高" in hh[0]["message"]
    assert hh[0]["at"].startswith(datetime.fromtimestamp(T1 + 2 * gap, UTC).isoformat()[:19])
    pressure = _gql(http, ops, GAUGES, key=key)["hazchemTank"]["pressure"]
    assert pressure["value"] == pytest.approx(over) and pressure["unit"] == "kPa"
    assert pressure["alarms"] == ["high_high", "high"]
    assert pressure["ratePerMin"] == pytest.approx(0.0)
    listed = _gql(http, ops, "{ hazchemTanksInAlarm { key } }")["hazchemTanksInAlarm"]
    assert key in {t["key"] for t in listed}
    span = {"from": _iso(T1), "to": _iso(T1 + 4 * gap)}
    buckets = _gql(http, ops, HISTORY, key=key, **span)["hazchemTank"]["pressureHistory"]
    assert sum(b["count"] for b in buckets) == 4
    assert max(b["maximum"] for b in buckets) == pytest.approx(over)
    kept = _gql(http, ops, "{ alarms(last: 200) { edges { node { kind subjectKey } } } }")
    kinds = [e["node"]["kind"] for e in kept["alarms"]["edges"] if e["node"]["subjectKey"] == key]
    assert kinds.count("tank.pressure_high_high") == 1
    # a temperature reading in another unit is refused by name; one in °C is taken
    refused = _post(http, device, [{"kind": "tank.temperature", "id": key, "at": T1,
                                    "value": 300.0, "unit": "K"}])  # fmt: skip
    assert refused["accepted"] == 0 and "unit" in refused["rejected"][0]["error"]
    t_lim = tank["temperatureLimits"]
    warm = (t_lim["low"] + t_lim["high"]) / 2
    taken = _post(http, device, [{"kind": "tank.temperature", "id": key, "at": T1,
                                  "value": warm, "unit": "°C"}])  # fmt: skip
    assert taken["accepted"] == 1 and taken["alarms"] == [], taken
    temperature = _gql(http, ops, GAUGES, key=key)["hazchemTank"]["temperature"]
    assert temperature == {"value": pytest.approx(warm), "unit": "°C", "alarms": []}


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()


HISTORY = """query($key: String!, $from: DateTime!, $to: DateTime!) { hazchemTank(key: $key) {
  pressureHistory(from: $from, to: $to, every: 3600) { count maximum } } }"""


def _stale_alarms(http: TestClient, ops: str, key: str) -> list[str]:
    kept = _gql(http, ops, "{ alarms(last: 500) { edges { node { id kind subjectKey } } } }")
    return [
        e["node"]["id"]
        for e in kept["alarms"]["edges"]
        if e["node"]["subjectKey"] == key and e["node"]["kind"] == "tank.temperature_stale"
    ]


def test_a_silent_sensor_is_stale_after_its_window_without_a_reading(
    hub: tuple[Starlette, TestClient],
) -> None:
    """Tank A's temperature sensor reports, then goes quiet while tank B's goes on past A's
    window: the hub's timer raises A's stale alarm with no further reading of A (once), and
    A's next reading does not raise it again."""
    app, http = hub
    ops = _token(app, http, "ops-silence", role="department")
    device = _token(app, http, "silence-gw", scopes=["telemetry:write"], devices=["*"])
    a, b = _quiet_tanks(http, ops)[1:3]
    window = a["temperatureLimits"]["staleAfterS"]
    t = T1 + 50_000
    calm = {k["key"]: (k["temperatureLimits"]["low"] + k["temperatureLimits"]["high"]) / 2
            for k in (a, b)}  # fmt: skip

    def read(tank: dict[str, Any], at: float) -> dict[str, Any]:
        return {"kind": "tank.temperature", "id": tank["key"], "at": at, "value": calm[tank["key"]]}

    _post(http, device, [read(a, t), read(b, t)])
    assert _stale_alarms(http, ops, a["key"]) == []
    # the city goes on: B reports past A's window (in steps inside B's own)
    steps = math.ceil((window + 5) / (b["temperatureLimits"]["staleAfterS"] / 2))
    for i in range(1, steps + 1):
        _post(http, device, [read(b, t + i * (window + 5) / steps)])
    deadline = time.monotonic() + 30.0  # the timer looks every 5 s
    while not (found := _stale_alarms(http, ops, a["key"])) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(found) == 1, "no stale alarm for the silent sensor within 30 s"
    assert _stale_alarms(http, ops, b["key"]) == []  # B never was silent that long
    # A speaks again: the silence was alarmed already, no second alarm for it
    back = _post(http, device, [read(a, t + window + 10)])
    assert back["accepted"] == 1
    assert [x for x in back["alarms"] if x["kind"] == "tank.temperature_stale"] == []
    assert _stale_alarms(http, ops, a["key"]) == found
