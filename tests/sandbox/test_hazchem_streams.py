"""Hazardous chemicals and muck trucks, living (issue 16, items 2 and 3): a sandbox on a fast
clock (in-process, its own MQTT broker) runs the tank, hazchem-vehicle and muck-truck streams,
and a hub over a copy of the demo city consumes them over MQTT. Within a stated deadline the
hub holds fresh tank levels, temperatures and pressures and fresh vehicle and truck fixes, and
the vehicles move; the city's first half hour raises no alarm; each incident, asked for through the
sandbox's control server, brings its alarm on the hub's alarm channel within a stated time
(printed per kind)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
import shapely
from shapely.geometry import LineString, shape
from sqlalchemy import select

from hub.apps.hazchem.services import forbidden_zones
from hub.store import RecordStore
from hub.store.tables import DeviceReadingRow
from simcity.binhai.context import CST
from simcity.clock import SimClock
from simcity.sandbox.streams import hazchem, muck
from tests.sandbox.living import City, living_city, wait

pytestmark = pytest.mark.slow
SPEED = 30.0  # a city hour in two minutes: the tightest stale window (ten 10 s intervals,
# 100 s of the city's time) is 3.3 s of the wall clock
# what the hub takes comfortably on a shared CI machine at this speed: 150 tanks (450
# sensors) each every 30 s of the city — 70 s of the city (2.3 s of the wall clock) inside
# the tightest stale window, room for a loaded machine's stalls (at 60 s, a 1.3 s stall of
# CI's sandbox made 38 sensors stale) — 400 hazchem vehicles and 200 muck trucks every 30 s
RATES = {
    "tanks": 150.0,
    "tank_interval_s": 30.0,
    "hazchem_vehicles": 400.0,
    "vehicle_fix_s": 30.0,
    "muck_trucks": 200.0,
    "muck_fix_s": 30.0,
    "incidents_per_day": 0.0,
}
FRESH_WITHIN_S = 30.0
QUIET_S = 60.0  # of the wall clock: the city's first half hour
ALARM_WITHIN_S = 90.0  # the long stop is 15 city minutes: 30 s here


def _late_evening() -> datetime:
    """23:00 in Binhai today: the dumps' opening hours (20:00-06:00, 22:00-05:00), so the
    muck trucks drive too."""
    return datetime.now(CST).replace(hour=23, minute=0, second=0, microsecond=0)


@pytest.fixture(scope="module")
def c(
    demo_dir: Path, demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    folder = tmp_path_factory.mktemp("living-hazchem")
    with living_city(
        demo_dir,
        demo_store,
        folder,
        SimClock(start=_late_evening(), speed=SPEED),
        RATES,
        lambda city: [*hazchem.streams(city), *muck.streams(city)],
    ) as city:
        yield city


KINDS = ("tank.level", "tank.temperature", "tank.pressure", "vehicle.fix", "muck.fix")


def test_fresh_readings_moving_vehicles_and_a_quiet_first_hour(c: City) -> None:
    def fresh(kind: str) -> Callable[[], bool]:
        return lambda: len(c.fresh(kind)) >= 100

    for kind in KINDS:
        wait(f"fresh {kind}", fresh(kind), FRESH_WITHIN_S)
    counts = {kind: len(c.fresh(kind)) for kind in KINDS}
    print(f"\nfresh within {time.monotonic() - c.wall_started:.1f} s: {counts}")
    # the vehicles move: positions differ between two reads 10 s (5 city minutes) apart
    first = {k: s.point for k, s in c.fresh("vehicle.fix").items()}
    time.sleep(10)
    second = {k: s.point for k, s in c.fresh("vehicle.fix").items()}
    moved = [k for k in first if second.get(k) not in (None, first[k])]
    assert len(moved) >= 50, len(moved)
    # every fix of the first half hour lies outside the hub's own forbidden zones
    zones = shapely.union_all(
        [shape(z.geometry) for z in forbidden_zones(c.store.scan("Camera"), c.store.scan("River"))]
    )
    with c.store.engine.connect() as conn:
        kept = conn.execute(
            select(DeviceReadingRow.values).where(DeviceReadingRow.kind == "vehicle.fix")
        ).scalars()
        rows = [(v["lon"], v["lat"]) for v in kept if v and "lon" in v]
    assert len(rows) > 1000
    xy = np.asarray(rows, dtype=float)
    assert not shapely.contains_xy(zones, xy[:, 0], xy[:, 1]).any()
    # the city's first half hour: no alarm at all
    time.sleep(max(0.0, c.wall_started + QUIET_S - time.monotonic()))
    assert [(a.kind, a.subject_key, a.message) for _, a in c.heard] == []


@pytest.mark.parametrize(
    ("incident", "alarms"),
    [
        ("tank_overfill", {"tank.high_high"}),
        ("tank_overpressure", {"tank.pressure_high_high"}),
        ("tank_overtemperature", {"tank.temperature_high_high"}),
        ("hazchem_forbidden_zone", {"geofence.forbidden"}),
        ("hazchem_stop_off_route", {"vehicle.stopped"}),
        ("muck_dumping", {"muck.unregistered_dumping"}),
    ],
)
def test_each_incident_brings_its_alarm(c: City, incident: str, alarms: set[str]) -> None:
    asked = time.monotonic()
    answer = c.incident(incident)
    assert alarms <= set(answer["alarms"])
    subject = answer["subject"]
    # a school's zone: its alarm names the zone (the drive there may cross another first)
    heard_at, raised = c.alarm_after(alarms, subject, asked, ALARM_WITHIN_S, answer.get("zone"))
    print(f"\n{incident:<24} → {raised.kind:<28} in {heard_at - asked:5.1f} s "
          f"({raised.message})")  # fmt: skip
    if incident.startswith("hazchem") or incident == "muck_dumping":
        assert raised.lon is not None and raised.lat is not None
        # where the sandbox said it would happen (the stop's place; the zone's gate)
        off = LineString([(raised.lon, raised.lat), (answer["lon"], answer["lat"])]).length
        assert off < (0.008 if incident == "hazchem_forbidden_zone" else 0.001), answer
    kept = c.store.get("Alarm", raised.id)
    assert kept is not None and kept.attrs["subject_key"] == subject


def test_an_incident_at_an_unknown_site_is_refused(c: City) -> None:
    for kind, what in (("tank_overfill", "tank"), ("hazchem_stop_off_route", "vehicle"),
                       ("muck_dumping", "muck truck")):  # fmt: skip
        answer = httpx.post(f"{c.control}/admin/incidents/{kind}", json={"at": "NO-SUCH"})
        assert answer.status_code == 400 and what in answer.json()["error"], answer.text
