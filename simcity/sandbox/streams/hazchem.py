"""Hazardous chemicals in the living city: the tanks' sensors and the vehicles' GPS.

**Tanks.** Every online sensor of the tank-sensors system (level, temperature, pressure of
6,000 tanks) reports at its own sampling interval (``--rate tank_interval_s=N`` sets one for
all; 0, the default, keeps each sensor's own), batched: one publish per kind and tick, readings
``tank.level`` (m), ``tank.temperature`` (°C), ``tank.pressure`` (kPa) keyed by the tank.
Temperatures follow the day (a few °C outdoors, a fraction of one in refrigerated tanks),
levels fill and empty in slow episodes (hours: well under the hub's rate limit of 5 % of the
height a minute), pressures follow the temperature (a few % a °C in pressurised storage, a
breathing valve's fraction of a kPa in atmospheric tanks). Every value starts from the sensor's
last reading and settles into a band inside its thresholds, so the normal city raises no tank
alarm. Offline sensors stay silent.

**Vehicles.** Each of the 2,673 vehicles has a home — its firm's site — and a few destinations
(other hazchem sites, the industrial parks) it shuttles to at 25–50 km/h, dwelling at each.
The demo city has no road network, so a trip is a straight leg; a leg is only taken if it stays
150 m clear of the hub's forbidden zones (school gates + 200 m, rivers + 100 m: no river is
crossed, no school passed), and vehicles stand only at sites and parks. Fixes every
``vehicle_fix_s`` (15) s, speeds under the 60 km/h limit.

**Incidents:** ``tank_overpressure``, ``tank_overtemperature``, ``tank_overfill`` (a tank's
sensor jumps past its high-high threshold and stays there for an hour of the city's time;
the sensor reports at once), ``hazchem_forbidden_zone`` (a vehicle drives to a school's gate),
``hazchem_stop_off_route`` (a vehicle leaves its leg and stands for 40 minutes away from any
site or park).
"""

from __future__ import annotations

import asyncio
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, shape

from simcity.sandbox.streams import LiveCity, Stream, Where, incident
from simcity.sandbox.streams.movement import (
    KX,
    KY,
    TICK_WALL_S,
    FixStream,
    Fleet,
    Leg,
    buffered,
    forbidden_area,
    metres,
    point,
    records,
    school_gates,
)
from simcity.sandbox.streams.publish import publisher

QUANTITIES = {"level": "tank.level", "temperature": "tank.temperature", "pressure": "tank.pressure"}
BAND = 0.15  # the normal band keeps this share of (high − low) clear of each threshold
SETTLE_S = {"level": 3600.0, "temperature": 7200.0, "pressure": 7200.0}  # from the last value
NOISE = {"level": 0.002, "temperature": 0.03, "pressure": 0.001}  # m, °C, share of the band
INCIDENT_S = 3600.0  # how long a tank incident holds its value
VEHICLE_FIX_S = 15.0
VEHICLE_KMH = (25.0, 50.0)
MAX_KMH = 58.0  # under the hub's 60 km/h
ZONE_MARGIN_M = 150.0  # normal legs stay this far outside the hub's forbidden zones
TRIP_M = (2_000.0, 25_000.0)
DESTINATIONS = 3
DWELL_HOME_S = (1800.0, 3 * 3600.0)
DWELL_AWAY_S = (900.0, 3600.0)
ON_ROAD_AT_START = 0.45
STOP_S = 40 * 60.0  # an off-route stop (the hub's rule: 15 minutes)
STATE = "hazchem"


# ---------------------------------------------------------------------------------------------
# Tanks


@dataclass
class Sensors:
    """One quantity's reporting sensors, as arrays (one row per sensor)."""

    quantity: str
    tanks: list[str]
    interval: np.ndarray
    next: np.ndarray
    last: np.ndarray  # the sensor's last value before the city came alive
    low: np.ndarray
    high: np.ndarray
    high_high: np.ndarray
    mid: np.ndarray
    swing: np.ndarray
    period: np.ndarray  # of a level's fill-and-empty cycle
    phase: np.ndarray
    t_start: float
    index: dict[str, int] = field(default_factory=dict)
    held: dict[int, tuple[float, float]] = field(default_factory=dict)  # incident: until, value
    # sensors that start out of their band (some tanks are in alarm in the demo data): they
    # settle without noise or cycle, crossing each threshold once (no flicker, no alarm)
    calm: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def target(self, idx: np.ndarray, t: float) -> np.ndarray:
        """The value the sensor's cycle asks for at ``t``."""
        if self.quantity == "level":  # a clipped sine: fill, hold, empty, hold
            angle = 2 * math.pi * t / self.period[idx] + self.phase[idx]
            wave = np.clip(1.5 * np.sin(angle), -1, 1)
            return np.asarray(self.mid[idx] + self.swing[idx] * wave)
        # the day's cycle (warmest mid-afternoon in Binhai); pressure follows temperature
        return np.asarray(self.mid[idx] + self.swing[idx] * day_cycle(t))

    def values(self, idx: np.ndarray, t: float, rng: np.random.Generator) -> np.ndarray:
        """Values at ``t``: the cycle, reached smoothly from the last value, a little noise;
        an incident's value where one holds."""
        settle = math.exp(-(t - self.t_start) / SETTLE_S[self.quantity])
        offset = self.last[idx] - self.target(idx, self.t_start)
        value = self.target(idx, t) + offset * settle
        spread = self.high[idx] - self.low[idx]
        noise = NOISE[self.quantity] * (spread if self.quantity == "pressure" else 1.0)
        value = value + np.where(self.calm[idx], 0.0, rng.normal(0.0, 1.0, len(idx)) * noise)
        for j, i in enumerate(idx.tolist()):
            held = self.held.get(i)
            if held is not None and t < held[0]:
                value[j] = held[1]
        return np.asarray(value)


def day_cycle(t: float) -> float:
    hour = ((t + 8 * 3600) % 86400) / 3600
    return math.cos(2 * math.pi * (hour - 15) / 24)


def _band(th: dict[str, Any], value: float) -> tuple[float, float, float]:
    lo, hi = float(th.get("low", value - 1.0)), float(th.get("high", value + 1.0))
    hh = float(th.get("high_high", hi + (hi - lo) * 0.1))
    return lo, max(hi, lo + 1e-3), hh


# how a tank's pressure follows its temperature, per °C: vapour pressure in pressurised and
# refrigerated storage (a share of the pressure), a breathing valve's kPa in atmospheric tanks
PRESSURE_PER_C = {
    "pressurized": (0.02, 0.0),
    "refrigerated": (0.01, 0.0),
    "atmospheric": (0.0, 0.05),
}


def tank_sensors(city: LiveCity, t: float) -> dict[str, Sensors]:
    """The reporting sensors by quantity: the online ones of the first ``tanks`` tanks."""
    found = city.state.get(f"{STATE}/sensors")
    if isinstance(found, dict):
        return found
    tanks = {r.key: r for r in records(city, "hazchem-registry", "Tank")}
    keep = set(sorted(tanks)[: int(city.rate("tanks", len(tanks)))])
    every = city.rate("tank_interval_s", 0.0)
    rows: dict[str, list[Any]] = defaultdict(list)
    for s in records(city, "tank-sensors", "Sensor"):
        a = s.attrs
        if (
            a.get("tank") in keep
            and a.get("quantity") in QUANTITIES
            and a.get("status") != "offline"
        ):
            rows[str(a["quantity"])].append(s)
    temperature_swing: dict[str, float] = {}
    out: dict[str, Sensors] = {}
    for quantity in QUANTITIES:  # temperature before pressure: pressure follows it
        sensors = sorted(rows.get(quantity, []), key=lambda r: str(r.attrs["tank"]))
        keys = [str(s.attrs["tank"]) for s in sensors]
        rng = city.rng("tanks", quantity)
        last = np.array([float(s.attrs.get("last_value") or 0.0) for s in sensors])
        bands = np.array(
            [_band(s.attrs.get("thresholds") or {}, v) for s, v in zip(sensors, last, strict=True)]
        ).reshape(-1, 3)
        low, high, high_high = bands[:, 0], bands[:, 1], bands[:, 2]
        inner = (high - low) * (1 - 2 * BAND)
        storage = [str(tanks[k].attrs.get("storage")) for k in keys]
        if quantity == "temperature":
            # a few °C outdoors, a fraction of one in an insulated refrigerated tank
            swing = np.array([rng.uniform(*((0.2, 0.5) if k == "refrigerated" else (1.5, 3.5)))
                              for k in storage])  # fmt: skip
        elif quantity == "level":
            swing = np.array([rng.uniform(0.15, 0.4) for _ in keys]) * inner
        else:
            share, kpa = zip(*(PRESSURE_PER_C.get(k, (0.0, 0.05)) for k in storage), strict=True)
            per_c = np.array(share) * np.abs(last) + np.array(kpa)
            swing = per_c * np.array([temperature_swing.get(k, 0.0) for k in keys])
        calm = (last < low + BAND * (high - low)) | (last > high - BAND * (high - low))
        swing = np.where(calm, 0.0, np.minimum(swing.reshape(-1), inner * 0.45))
        mid = np.clip(last, low + BAND * (high - low) + swing, high - BAND * (high - low) - swing)
        interval = np.array(
            [every or float(s.attrs.get("sampling_interval_s") or 60) for s in sensors]
        )
        out[quantity] = Sensors(
            quantity=quantity,
            tanks=keys,
            interval=interval,
            next=t + np.array([rng.uniform(0, i) for i in interval]),
            last=last,
            low=low,
            high=high,
            high_high=high_high,
            mid=mid,
            swing=swing,
            period=np.array([rng.uniform(8, 36) * 3600 for _ in keys]),
            phase=np.array([rng.uniform(0, 2 * math.pi) for _ in keys]),
            t_start=t,
            index={k: i for i, k in enumerate(keys)},
            calm=calm,
        )
        if quantity == "temperature":
            temperature_swing = dict(zip(keys, swing.tolist(), strict=True))
    city.state[f"{STATE}/sensors"] = out
    return out


class TankStream:
    name = "hazchem.tanks"

    async def run(self, city: LiveCity) -> None:
        send = publisher(city).send
        t = city.clock.seconds()
        sensors = await asyncio.to_thread(tank_sensors, city, t)
        per_s = sum(float((1 / s.interval).sum()) for s in sensors.values())
        city.log(f"tanks: {sum(len(s.tanks) for s in sensors.values())} sensors, "
                 f"{per_s:.0f} readings/s of the city's time")  # fmt: skip
        tick = max(1.0, TICK_WALL_S * city.clock.speed)
        n = 0
        while True:
            t = city.clock.seconds()
            rng = np.random.default_rng(city.rng("tanks", n).getrandbits(64))
            for quantity, s in sensors.items():
                readings = due_readings(s, t, rng)
                if readings:
                    await send(QUANTITIES[quantity], readings)
            n += 1
            await city.clock.sleep(tick)


def due_readings(s: Sensors, t: float, rng: np.random.Generator) -> list[dict[str, Any]]:
    due = np.flatnonzero(s.next <= t)
    if not len(due):
        return []
    s.next[due] = np.maximum(s.next[due] + s.interval[due], t)
    values = s.values(due, t, rng)
    kind = QUANTITIES[s.quantity]
    tanks = s.tanks
    return [
        {"kind": kind, "id": tanks[i], "at": round(t, 3), "value": round(v, 3)}
        for i, v in zip(due.tolist(), values.tolist(), strict=True)
    ]


async def _tank_incident(city: LiveCity, where: Where, kind: str, quantity: str) -> dict[str, Any]:
    t = city.clock.seconds()
    sensors = tank_sensors(city, t)
    s = sensors.get(quantity)
    if s is None or not s.tanks:
        raise ValueError(f"no {quantity} sensor reports in this city")
    if where.site:
        if where.site not in s.index:
            raise ValueError(f"no reporting {quantity} sensor on tank {where.site!r}")
        i = s.index[where.site]
    elif where.lon is not None and where.lat is not None:
        tanks = {r.key: point(r) for r in records(city, "hazchem-registry", "Tank")}
        i = min(range(len(s.tanks)), key=lambda j: _far(tanks.get(s.tanks[j]), where))
    else:
        i = city.rng(kind).randrange(len(s.tanks))
    key = s.tanks[i]
    spread = s.high_high[i] - s.low[i]
    value = float(s.high_high[i] + max(0.05 * spread, 0.01))
    if quantity == "level":
        tank = next(r for r in records(city, "hazchem-registry", "Tank") if r.key == key)
        height = float(tank.attrs.get("height_m") or tank.attrs.get("diameter_m") or value)
        value = min(value, max(height, float(s.high_high[i]) + 0.01))
    value = round(value, 3)
    s.held[i] = (t + INCIDENT_S, value)
    # the sensor reports a limit crossing at once, as real ones do
    await publisher(city).send(
        QUANTITIES[quantity], [{"kind": QUANTITIES[quantity], "id": key, "at": round(t, 3),
                                "value": value}]
    )  # fmt: skip
    s.next[i] = t + s.interval[i]
    found = next((r for r in records(city, "hazchem-registry", "Tank") if r.key == key), None)
    where_at = point(found) if found is not None else None
    return {"subject": key, "lon": where_at[0] if where_at else None,
            "lat": where_at[1] if where_at else None, "quantity": quantity, "value": value,
            "highHigh": round(float(s.high_high[i]), 3)}  # fmt: skip


def _far(p: tuple[float, float] | None, where: Where) -> float:
    if p is None or where.lon is None or where.lat is None:
        return math.inf
    return metres(p, (where.lon, where.lat))


@incident("tank_overpressure", "a tank's pressure rises past its high-high limit for an hour",
          alarms=("tank.pressure_high", "tank.pressure_high_high"))  # fmt: skip
async def tank_overpressure(city: LiveCity, where: Where) -> dict[str, Any]:
    return await _tank_incident(city, where, "tank_overpressure", "pressure")


@incident("tank_overtemperature", "a tank's temperature rises past its high-high limit",
          alarms=("tank.temperature_high", "tank.temperature_high_high"))  # fmt: skip
async def tank_overtemperature(city: LiveCity, where: Where) -> dict[str, Any]:
    return await _tank_incident(city, where, "tank_overtemperature", "temperature")


@incident("tank_overfill", "a tank is filled past its high-high level",
          alarms=("tank.high_high",))  # fmt: skip
async def tank_overfill(city: LiveCity, where: Where) -> dict[str, Any]:
    return await _tank_incident(city, where, "tank_overfill", "level")


# ---------------------------------------------------------------------------------------------
# Vehicles


@dataclass
class Routes:
    """Each vehicle's home, its destinations, and which way it is going."""

    fleet: Fleet
    home: list[tuple[float, float]]
    away: list[list[tuple[float, float]]]
    going_home: np.ndarray


def _places(
    city: LiveCity,
) -> tuple[dict[str, list[tuple[float, float]]], list[tuple[float, float]]]:
    """The hazchem sites by firm, and every place a vehicle may stand at (sites, parks)
    outside the forbidden zones."""
    forbidden = forbidden_area(city, ZONE_MARGIN_M)
    by_firm: dict[str, list[tuple[float, float]]] = defaultdict(list)
    stands: list[tuple[float, float]] = []
    for site in records(city, "hazchem-registry", "HazchemSite"):
        p = point(site)
        if p is not None and not shapely.contains_xy(forbidden, *p):
            by_firm[str(site.attrs.get("firm"))].append(p)
            stands.append(p)
    for park in records(city, "base-map", "IndustrialPark"):
        p = point(park)
        if p is not None and not shapely.contains_xy(forbidden, *p):
            stands.append(p)
    return by_firm, stands


def routes(city: LiveCity, t: float) -> Routes:
    found = city.state.get(f"{STATE}/routes")
    if isinstance(found, Routes):
        return found
    forbidden = forbidden_area(city, ZONE_MARGIN_M)
    by_firm, stands = _places(city)
    xy = np.asarray(stands)
    vehicles = sorted(records(city, "vehicle-gps", "HazchemVehicle"), key=lambda r: r.key)
    vehicles = vehicles[: int(city.rate("hazchem_vehicles", len(vehicles)))]
    rng = city.rng("hazchem-vehicles")
    home: list[tuple[float, float]] = []
    away: list[list[tuple[float, float]]] = []
    for v in vehicles:
        own = by_firm.get(str(v.attrs.get("owner_firm")))
        if own:
            base = own[0]
        else:  # a firm without a site of its own: the nearest place it may stand at
            p = point(v) or stands[0]
            base = stands[int(np.argmin(np.hypot(xy[:, 0] - p[0], xy[:, 1] - p[1])))]
        home.append(base)
        dist = np.hypot((xy[:, 0] - base[0]) * KX, (xy[:, 1] - base[1]) * KY)
        near = np.flatnonzero((dist > TRIP_M[0]) & (dist < TRIP_M[1])).tolist()
        rng.shuffle(near)
        mine: list[tuple[float, float]] = []
        for j in near[:40]:
            if not forbidden.intersects(LineString([base, stands[j]])):
                mine.append(stands[j])
                if len(mine) == DESTINATIONS:
                    break
        away.append(mine)
    fleet = Fleet([v.key for v in vehicles], home, t)
    going_home = np.zeros(len(vehicles), dtype=bool)
    for i in range(len(vehicles)):
        if away[i] and rng.random() < ON_ROAD_AT_START:  # on the road, part of the way
            dest = rng.choice(away[i])
            going_home[i] = rng.random() < 0.5
            start, end = (dest, home[i]) if going_home[i] else (home[i], dest)
            fleet.start[i], fleet.end[i] = start, end
            kmh = rng.uniform(*VEHICLE_KMH)
            seconds = metres(start, end) / kmh * 3.6
            fleet.t0[i] = t - rng.uniform(0, seconds)
            fleet.t1[i] = fleet.t0[i] + seconds
            fleet.until[i] = fleet.t1[i] + rng.uniform(
                *(DWELL_HOME_S if going_home[i] else DWELL_AWAY_S)
            )
            fleet.kmh[i] = kmh
        else:  # at home, leaving some time in the next hours
            going_home[i] = True
            fleet.until[i] = t + rng.uniform(0, DWELL_HOME_S[1])
    found = Routes(fleet, home, away, going_home)
    city.state[f"{STATE}/routes"] = found
    return found


def planner(city: LiveCity, r: Routes) -> Any:
    def plan(i: int, t: float) -> Leg:
        rng = city.rng("hazchem-trip", r.fleet.keys[i], int(t))
        if not r.away[i]:
            return Leg(r.home[i], 30.0, 6 * 3600.0)  # a vehicle with nowhere to go stays
        if r.going_home[i]:
            r.going_home[i] = False
            return Leg(rng.choice(r.away[i]), rng.uniform(*VEHICLE_KMH), rng.uniform(*DWELL_AWAY_S))
        r.going_home[i] = True
        return Leg(r.home[i], rng.uniform(*VEHICLE_KMH), rng.uniform(*DWELL_HOME_S))

    return plan


class VehicleStream:
    name = "hazchem.vehicles"

    async def run(self, city: LiveCity) -> None:
        r = await asyncio.to_thread(routes, city, city.clock.seconds())
        interval = city.rate("vehicle_fix_s", VEHICLE_FIX_S)
        fixes = FixStream(self.name, "vehicle.fix", r.fleet, planner(city, r), interval, MAX_KMH)
        await fixes.run(city)


def _vehicle(
    city: LiveCity, kind: str, where: Where, near: tuple[float, float] | None
) -> tuple[Routes, int]:
    """The vehicle ``where`` names, else the one nearest ``near``, else one on the road."""
    r = routes(city, city.clock.seconds())
    if not len(r.fleet):
        raise ValueError("no hazchem vehicle drives in this city")
    if where.site:
        if where.site not in r.fleet.index:
            raise ValueError(f"no hazchem vehicle {where.site!r}")
        return r, r.fleet.index[where.site]
    t = city.clock.seconds()
    if near is None:  # a vehicle on the road
        lon, lat, moving = r.fleet.positions(np.arange(len(r.fleet)), t)
        pick = np.flatnonzero(moving).tolist() or list(range(len(r.fleet)))
        return r, city.rng(kind).choice(pick)
    lon, lat, _ = r.fleet.positions(np.arange(len(r.fleet)), t)
    return r, int(np.argmin(np.hypot((lon - near[0]) * KX, (lat - near[1]) * KY)))


def _resume(r: Routes, i: int, t: float) -> list[Leg]:
    """Back to where the vehicle left its plan, then on to where it was going."""
    fleet = r.fleet
    here = fleet.where(i, t)
    stay = max(float(fleet.until[i] - max(fleet.t1[i], t)), 60.0)
    goal = (float(fleet.end[i][0]), float(fleet.end[i][1]))
    return [Leg(here, 35.0, 0.0), Leg(goal, float(fleet.kmh[i]) or 35.0, stay)]


@incident("hazchem_forbidden_zone", "a hazchem vehicle drives into a school's forbidden zone",
          alarms=("geofence.forbidden",))  # fmt: skip
async def hazchem_forbidden_zone(city: LiveCity, where: Where) -> dict[str, Any]:
    gates = school_gates(city)
    if not gates:
        raise ValueError("the city has no school gate")
    if where.lon is not None and where.lat is not None:
        target = (where.lon, where.lat)
        gate = min(gates, key=lambda g: metres(g[1], target))
    else:  # the school nearest the vehicle named, or nearest one on the road
        r, i = _vehicle(city, "hazchem_forbidden_zone", where, None)
        here = r.fleet.where(i, city.clock.seconds())
        gate = min(gates, key=lambda g: metres(g[1], here))
    r, i = _vehicle(city, "hazchem_forbidden_zone", where, gate[1])
    t = city.clock.seconds()
    r.fleet.divert(i, [Leg(gate[1], 35.0, 120.0), *_resume(r, i, t)], t)
    return {"subject": r.fleet.keys[i], "lon": gate[1][0], "lat": gate[1][1],
            "zone": f"school:{gate[0]}",
            "metres": round(metres(r.fleet.where(i, t), gate[1]))}  # fmt: skip


@incident("hazchem_stop_off_route",
          "a hazchem vehicle leaves its route and stands for 40 minutes away from any site",
          alarms=("vehicle.stopped",))  # fmt: skip
async def hazchem_stop_off_route(city: LiveCity, where: Where) -> dict[str, Any]:
    near = (where.lon, where.lat) if where.lon is not None and where.lat is not None else None
    r, i = _vehicle(city, "hazchem_stop_off_route", where, near)
    t = city.clock.seconds()
    stop = near or _off_route(city, r, i, t)
    if stop is None and not where.site:  # in a crowded place: another vehicle on the road
        _, _, moving = r.fleet.positions(np.arange(len(r.fleet)), t)
        others = np.flatnonzero(moving).tolist()
        city.rng("hazchem_stop_off_route", "others").shuffle(others)
        for i in others[:50]:
            if (stop := _off_route(city, r, i, t)) is not None:
                break
    if stop is None:
        raise ValueError(f"no place to stop off the route near {r.fleet.keys[i]}")
    r.fleet.divert(i, [Leg(stop, 45.0, STOP_S), *_resume(r, i, t)], t)
    return {"subject": r.fleet.keys[i], "lon": stop[0], "lat": stop[1],
            "minutes": STOP_S / 60}  # fmt: skip


def _off_route(city: LiveCity, r: Routes, i: int, t: float) -> tuple[float, float] | None:
    """A lay-by 600–2,000 m off vehicle ``i``'s leg, clear of the forbidden zones, outside
    every hazchem site's yard and 100 m from every park (None if there is none near)."""
    here = r.fleet.where(i, t)
    forbidden = forbidden_area(city, ZONE_MARGIN_M)
    xy, yard = _yards(city)
    rng = city.rng("hazchem_stop_off_route", r.fleet.keys[i])
    dx, dy = (r.fleet.end[i] - r.fleet.start[i]).tolist()
    heading = math.atan2(dy * KY, dx * KX) if dx or dy else rng.uniform(0, 2 * math.pi)
    for attempt in range(80):
        side = heading + (math.pi / 2 if attempt % 2 else -math.pi / 2) + rng.uniform(-0.8, 0.8)
        d = rng.uniform(600, 2000)
        p = (here[0] + d * math.cos(side) / KX, here[1] + d * math.sin(side) / KY)
        clear = (np.hypot((xy[:, 0] - p[0]) * KX, (xy[:, 1] - p[1]) * KY) > yard).all()
        if clear and not forbidden.intersects(LineString([here, p])) and not _in_park(city, p):
            return p
    return None


def _yards(city: LiveCity) -> tuple[np.ndarray, np.ndarray]:
    """The hazchem sites' points and the radius a vehicle standing off its route keeps from
    each: the yard the hub counts as the site (its area's circle, at least 150 m, + 50 m)
    and 100 m more."""
    found = city.state.get(f"{STATE}/yards")
    if not isinstance(found, tuple):
        sites = records(city, "hazchem-registry", "HazchemSite")
        placed = [(p, s) for s in sites if (p := point(s)) is not None]
        xy = np.asarray([p for p, _ in placed])
        area = np.asarray([float(s.attrs.get("area_m2") or 0.0) for _, s in placed])
        found = (xy, np.maximum(150.0, np.sqrt(area / math.pi)) + 150.0)
        city.state[f"{STATE}/yards"] = found
    return found


def _in_park(city: LiveCity, p: tuple[float, float]) -> bool:
    """In an industrial park or within 100 m of one (the hub counts 50 m as in it)."""
    parks = city.state.get(f"{STATE}/parks")
    if parks is None:
        parks = shapely.union_all(
            [
                buffered(shape(g.geometry), 100.0)
                for g in records(city, "base-map", "IndustrialPark")
                if g.geometry
            ]
        )
        shapely.prepare(parks)
        city.state[f"{STATE}/parks"] = parks
    return bool(shapely.contains_xy(parks, *p))


def streams(city: LiveCity) -> list[Stream]:
    return [TankStream(), VehicleStream()]
