"""A construction site inside another (the demo city has such: CS-0000208 lies in CS-0000073):
a truck standing in its own site is at work there — not out at the wrong hours on its
corridor — and loads there, although the place index names the outer site first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hub.apps.muck_trucks.services import DUMPING, TruckWatch
from hub.live import Reading, parse_reading
from schema.record import Record
from simcity.binhai.context import CST

NOON = datetime(2026, 7, 1, 12, 0, tzinfo=CST).timestamp()  # the dump opens at 20:00


def _box(x0: float, y0: float, x1: float, y1: float) -> dict[str, Any]:
    ring = [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]
    return {"type": "Polygon", "coordinates": [ring]}


def _record(kind: str, key: str, geometry: dict[str, Any], **attrs: Any) -> Record:
    return Record.parse(
        {"kind": kind, "key": key, "source_system": "t", "source_id": key,
         "fetched_at": "2026-06-01T00:00:00+08:00", "attrs": attrs, "geometry": geometry,
         "datum": "GCJ-02"}
    )  # fmt: skip


def _fix(minute: float, lon: float, lat: float, kmh: float = 0.0) -> Reading:
    return parse_reading(
        {"kind": "muck.fix", "id": "MUCK-1", "at": NOON + minute * 60, "lon": lon, "lat": lat,
         "speedKmh": kmh}
    )  # fmt: skip


def test_a_truck_in_its_site_inside_another_is_at_work_and_loads_there() -> None:
    outer = _record("ConstructionSite", "CS-1", _box(117.60, 39.00, 117.61, 39.01), name="外")
    inner = _record("ConstructionSite", "CS-2", _box(117.604, 39.004, 117.606, 39.006), name="内")
    dump = _record(
        "DumpingSite", "DUMP-1", _box(117.70, 39.00, 117.71, 39.01),
        name="消纳场", status="开放", open_hours="20:00-06:00",
    )  # fmt: skip
    truck = _record(
        "MuckTruck", "MUCK-1", {"type": "Point", "coordinates": [117.605, 39.005]},
        plate="津B·1", permitted_site="CS-2", permitted_dump="DUMP-1",
    )  # fmt: skip
    watch = TruckWatch([truck], [outer, inner], [dump])
    # noon, out of hours, standing in its own site (which is on its corridor): at work
    assert watch.evaluate([_fix(m, 117.605, 39.005) for m in range(0, 20)]) == []
    assert watch.in_violation("MUCK-1") is None and watch.loaded("MUCK-1") is True
    # loaded there, it stands 6 minutes where no dump is: dumping
    roadside = (117.65, 39.05)
    found = watch.evaluate(
        [_fix(20, *roadside, kmh=30.0)] + [_fix(m, *roadside) for m in range(21, 28)]
    )
    assert [v.kind for v in found if v.kind == DUMPING] == [DUMPING]
