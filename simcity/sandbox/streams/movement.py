"""Things that move in the living city: fleets driving straight legs between places, with stops.

The demo city has no road network (its ``Street`` records are subdistricts, not roads), so a
trip is a straight leg from one place to another at a plausible speed, then a dwell there. The
planners (:mod:`.hazchem`, :mod:`.muck`) choose the legs; :class:`Fleet` keeps every vehicle's
leg in arrays so that a tick computes the positions of the due ones at once, and
:class:`FixStream` sends them as GPS fixes, one publish per tick.

The hub's forbidden zones for hazardous-chemicals vehicles (200 m around a school's gate, 100 m
along a river; hub/apps/hazchem) are drawn here from the same records, wider by a margin, so
the planners can keep normal driving out of them (:func:`forbidden_area`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from connectors.errors import MappingError
from schema.record import Record
from simcity.sandbox.streams import LiveCity
from simcity.sandbox.streams.publish import publisher

TICK_WALL_S = 0.5  # a stream's tick on the wall clock at high speeds (never under 1 city-s)
SCHOOL_GATE = "学校门口"  # the video network's name for a school's gate camera
SCHOOL_BUFFER_M, RIVER_BUFFER_M = 200.0, 100.0  # the hub's forbidden zones
KX, KY = 111_320.0 * math.cos(math.radians(39.0)), 110_574.0  # metres per degree near Binhai


def records(city: LiveCity, system: str, kind: str) -> list[Record]:
    """A system's rows of ``kind`` read back as records (rows the hub would quarantine — bad
    coordinates, missing fields — left out), cached for the live city."""
    cache: dict[tuple[str, str], list[Record]] = city.state.setdefault("records", {})
    found = cache.get((system, kind))
    if found is None:
        data = city.systems[system]
        mapping = next(m for m in data.spec.mappings if m.kind == kind)
        now = datetime.now(UTC)
        found = []
        for row in data.streams[mapping.stream]:
            try:
                found.append(mapping.to_record(row, system, now))
            except MappingError:
                continue
        area = district(city)
        found = [r for r in found if inside(area, r)]
        cache[(system, kind)] = found
    return found


def district(city: LiveCity) -> BaseGeometry | None:
    """The district's outline, a little wider (as the hub's validator: about 1 km)."""
    if "district" not in city.state:
        rows = city.systems["base-map"].streams
        mapping = next(m for m in city.systems["base-map"].spec.mappings if m.kind == "District")
        area = None
        for row in rows[mapping.stream]:
            geometry = mapping.to_record(row, "base-map", datetime.now(UTC)).geometry
            if geometry:
                area = shape(geometry).buffer(0.01)
                shapely.prepare(area)
        city.state["district"] = area
    found: BaseGeometry | None = city.state["district"]
    return found


def inside(area: BaseGeometry | None, record: Record) -> bool:
    g = record.geometry
    if area is None or not g:
        return True
    if g.get("type") == "Point":
        lon, lat = g["coordinates"][:2]
        return bool(shapely.contains_xy(area, float(lon), float(lat)))
    return bool(area.contains(shape(g)))


def point(record: Record) -> tuple[float, float] | None:
    """A record's point, or the centre of its area."""
    centre = record.attrs.get("centre")
    if isinstance(centre, list) and len(centre) == 2:
        return float(centre[0]), float(centre[1])
    g = record.geometry
    if not g:
        return None
    if g.get("type") == "Point":
        return float(g["coordinates"][0]), float(g["coordinates"][1])
    c = shape(g).centroid
    return float(c.x), float(c.y)


def metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return math.hypot((b[0] - a[0]) * KX, (b[1] - a[1]) * KY)


def buffered(geometry: BaseGeometry, metres_: float) -> BaseGeometry:
    """``geometry`` (lon/lat) widened by ``metres_`` on a local plane."""
    k = np.array([KX, KY])
    local = shapely.transform(geometry, lambda xy: xy * k)
    return shapely.transform(local.buffer(metres_, quad_segs=6), lambda xy: xy / k)


def forbidden_area(city: LiveCity, margin_m: float) -> BaseGeometry:
    """Where no hazardous-chemicals vehicle may go, ``margin_m`` wider than the hub draws it:
    around the school gates (the cameras named …学校门口) and along the rivers."""
    cache: dict[float, BaseGeometry] = city.state.setdefault("forbidden", {})
    if margin_m not in cache:
        parts = [
            buffered(shape(c.geometry), SCHOOL_BUFFER_M + margin_m)
            for c in records(city, "cameras", "Camera")
            if str(c.attrs.get("name") or "").endswith(SCHOOL_GATE) and c.geometry
        ]
        parts += [
            buffered(shape(r.geometry), RIVER_BUFFER_M + margin_m)
            for r in records(city, "hydrology", "River")
            if r.geometry
        ]
        area = shapely.union_all(parts)
        shapely.prepare(area)
        cache[margin_m] = area
    return cache[margin_m]


def school_gates(city: LiveCity) -> list[tuple[str, tuple[float, float]]]:
    """The school gates (camera key, point): the centres of the school zones."""
    out = []
    for c in records(city, "cameras", "Camera"):
        p = point(c)
        if str(c.attrs.get("name") or "").endswith(SCHOOL_GATE) and p is not None:
            out.append((c.key, p))
    return out


@dataclass(frozen=True)
class Leg:
    """Where to drive next, how fast, and how long to stay there."""

    to: tuple[float, float]
    kmh: float
    dwell_s: float


Planner = Callable[[int, float], Leg]  # (vehicle, departure time) -> its next leg


class Fleet:
    """Every vehicle's current leg (from, to, departure, arrival) and the end of its dwell at
    the leg's end; between legs a planner picks the next one."""

    def __init__(self, keys: list[str], at: list[tuple[float, float]], t: float) -> None:
        n = len(keys)
        self.keys = keys
        self.index = {k: i for i, k in enumerate(keys)}
        self.start = np.asarray(at, dtype=np.float64).reshape(n, 2)
        self.end = self.start.copy()
        self.t0 = np.full(n, t)
        self.t1 = np.full(n, t)
        self.until = np.full(n, t)  # the dwell at the leg's end lasts until then
        self.kmh = np.zeros(n)
        self.queued: dict[int, list[Leg]] = {}  # legs an incident sets, before the planner's

    def __len__(self) -> int:
        return len(self.keys)

    def where(self, i: int, t: float) -> tuple[float, float]:
        lon, lat, _ = self.positions(np.array([i]), t)
        return float(lon[0]), float(lat[0])

    def positions(self, idx: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lon, lat, moving) of vehicles ``idx`` at ``t``."""
        span = np.maximum(self.t1[idx] - self.t0[idx], 1e-9)
        f = np.clip((t - self.t0[idx]) / span, 0.0, 1.0)[:, None]
        p = self.start[idx] + f * (self.end[idx] - self.start[idx])
        moving = (t >= self.t0[idx]) & (t < self.t1[idx])
        return p[:, 0], p[:, 1], moving

    def drive(self, i: int, leg: Leg, t: float) -> None:
        """From where vehicle ``i`` is at ``t``, along ``leg``."""
        here = self.where(i, t)
        seconds = metres(here, leg.to) / max(leg.kmh, 1.0) * 3.6
        self.start[i] = here
        self.end[i] = leg.to
        self.t0[i], self.t1[i] = t, t + seconds
        self.until[i] = t + seconds + leg.dwell_s
        self.kmh[i] = leg.kmh

    def divert(self, i: int, legs: list[Leg], t: float) -> None:
        """Vehicle ``i`` leaves its plan at ``t`` for ``legs`` (an incident), then goes on."""
        self.drive(i, legs[0], t)
        self.queued[i] = list(legs[1:])

    def advance(self, t: float, plan: Planner) -> None:
        """Every vehicle whose dwell is over starts its next leg (from when it was over)."""
        for i in np.flatnonzero(self.until <= t).tolist():
            for _ in range(8):  # a few short legs may fit in one tick
                queued = self.queued.get(i)
                when = float(self.until[i])
                self.drive(i, queued.pop(0) if queued else plan(i, when), when)
                if self.until[i] > t:
                    break


class FixStream:
    """GPS fixes of a fleet (``kind``: vehicle.fix, muck.fix): each vehicle every
    ``interval_s`` of the city's time (phases spread), due ones sent once per tick."""

    def __init__(
        self,
        name: str,
        kind: str,
        fleet: Fleet,
        plan: Planner,
        interval_s: float,
        max_kmh: float,
    ) -> None:
        self.name, self.kind, self.fleet, self.plan = name, kind, fleet, plan
        self.interval_s = max(interval_s, 1.0)
        self.max_kmh = max_kmh
        self.next = fleet.t0 + np.linspace(0.0, self.interval_s, len(fleet), endpoint=False)

    async def run(self, city: LiveCity) -> None:
        city.log(f"{self.name}: {len(self.fleet)} vehicles, "
                 f"{len(self.fleet) / self.interval_s:.0f} fixes/s of the city's time")  # fmt: skip
        send = publisher(city).send
        tick = max(1.0, TICK_WALL_S * city.clock.speed)
        n = 0
        while True:
            t = city.clock.seconds()
            readings = self.fixes(t, np.random.default_rng(city.rng(self.name, n).getrandbits(64)))
            if readings:
                await send(self.kind, readings)
            n += 1
            await city.clock.sleep(tick)

    def fixes(self, t: float, rng: np.random.Generator) -> list[dict[str, Any]]:
        fleet = self.fleet
        fleet.advance(t, self.plan)
        due = np.flatnonzero(self.next <= t)
        if not len(due):
            return []
        self.next[due] = np.maximum(self.next[due] + self.interval_s, t)
        lon, lat, moving = fleet.positions(due, t)
        # the speedometer: the leg's speed give or take traffic, never over the limit
        kmh = np.where(moving, fleet.kmh[due] * rng.uniform(0.85, 1.1, len(due)), 0.0)
        kmh = np.minimum(kmh, self.max_kmh)
        keys = fleet.keys
        return [
            {"kind": self.kind, "id": keys[i], "at": round(t, 3), "lon": round(x, 6),
             "lat": round(y, 6), "speedKmh": round(s, 1)}
            for i, x, y, s in zip(due.tolist(), lon.tolist(), lat.tolist(), kmh.tolist(),
                                  strict=True)
        ]  # fmt: skip
