"""The hazchem vehicle-stop rule: a vehicle standing still for more than 15 minutes of its fixes'
time outside every hazchem site and industrial park raises ``vehicle.stopped`` once per stop."""

from __future__ import annotations

from typing import Any

from hub.apps.hazchem.services import VehicleWatch, _buffer
from hub.apps.hazchem.stops import VEHICLE_STOPPED, havens
from hub.live import Alarm, Reading, parse_reading
from schema.record import Record

T0 = 1_780_000_000.0
SITE = (117.70, 39.00)
PARK = [[117.60, 39.00], [117.62, 39.00], [117.62, 39.02], [117.60, 39.02], [117.60, 39.00]]
ROADSIDE = (117.65, 38.95)  # far from the site and the park


def _record(kind: str, key: str, geometry: dict[str, Any], **attrs: Any) -> Record:
    return Record.parse(
        {"kind": kind, "key": key, "source_system": "t", "source_id": key,
         "fetched_at": "2026-06-01T00:00:00+08:00", "attrs": attrs, "geometry": geometry,
         "datum": "GCJ-02"}
    )  # fmt: skip


def _watch() -> VehicleWatch:
    vehicles = [
        _record("HazchemVehicle", k, {"type": "Point", "coordinates": list(SITE)}, plate=k)
        for k in ("HCV-A", "HCV-B")
    ]
    site = _record(
        "HazchemSite", "HCS-1", {"type": "Point", "coordinates": list(SITE)}, area_m2=50_000.0
    )
    park = _record("IndustrialPark", "PARK-1", {"type": "Polygon", "coordinates": [PARK]})
    return VehicleWatch(vehicles, [], stands=havens([site], [park], _buffer))


def _fix(key: str, minute: float, at: tuple[float, float], kmh: float = 0.0) -> Reading:
    return parse_reading(
        {"kind": "vehicle.fix", "id": key, "at": T0 + minute * 60, "lon": at[0], "lat": at[1],
         "speedKmh": kmh}
    )  # fmt: skip


def _stopped(alarms: list[Alarm]) -> list[Alarm]:
    return [a for a in alarms if a.kind == VEHICLE_STOPPED]


def test_a_long_stop_by_the_roadside_raises_one_alarm_per_stop() -> None:
    watch = _watch()
    # 14 minutes standing: not yet
    early = watch.evaluate([_fix("HCV-A", m, ROADSIDE) for m in range(0, 15)])
    assert _stopped(early) == []
    # the 15th minute passes: one alarm, where it stopped, then nothing while it stays
    alarms = _stopped(watch.evaluate([_fix("HCV-A", m, ROADSIDE) for m in range(15, 40)]))
    assert [(a.subject_key, a.lon, a.lat, a.at.timestamp()) for a in alarms] == [
        ("HCV-A", ROADSIDE[0], ROADSIDE[1], T0 + 15 * 60)
    ]
    assert alarms[0].severity == "alarm" and "15 分钟" in alarms[0].message
    # it drives on a kilometre and stops again: a new stop, a new alarm
    moved = (ROADSIDE[0] + 0.012, ROADSIDE[1])
    again = watch.evaluate(
        [_fix("HCV-A", 40, moved, kmh=40.0)] + [_fix("HCV-A", m, moved) for m in range(41, 60)]
    )
    assert [a.at.timestamp() for a in _stopped(again)] == [T0 + 56 * 60]


def test_standing_at_a_site_or_in_a_park_raises_nothing_and_moving_ends_a_stop() -> None:
    watch = _watch()
    near_site = (SITE[0] + 0.001, SITE[1])  # about 90 m off the site's point: in its yard
    in_park = (117.61, 39.01)
    fixes = [_fix("HCV-A", m, near_site) for m in range(0, 60)]
    fixes += [_fix("HCV-B", m, in_park) for m in range(0, 60)]
    assert _stopped(watch.evaluate(fixes)) == []
    # stop-and-go by the roadside (10 minutes standing, a minute moving, ...) is no stop
    go = []
    for m in range(60, 120):
        go.append(_fix("HCV-B", m, ROADSIDE, kmh=30.0 if m % 11 == 0 else 0.0))
    assert _stopped(watch.evaluate(go)) == []


def test_a_stop_in_progress_is_kept_with_the_fix_and_restored() -> None:
    watch = _watch()
    watch.evaluate([_fix("HCV-A", m, ROADSIDE) for m in range(0, 10)])
    kept = watch.describe(_fix("HCV-A", 9, ROADSIDE))["stop"]
    assert kept == [T0, ROADSIDE[0], ROADSIDE[1], False]
    other = _watch()  # another worker (or a restart) takes the stored stop in
    other.stops.restore(0, kept)
    alarms = _stopped(other.evaluate([_fix("HCV-A", m, ROADSIDE) for m in range(10, 20)]))
    assert [a.at.timestamp() for a in alarms] == [T0 + 15 * 60]
