"""Muck trucks in the living city: GPS fixes of the 1,200 trucks, and illegal dumping.

A truck's permit names its construction site and its dumping site (消纳场), and the dump's
opening hours are its working hours. In those hours a truck loads at its site, drives the
straight leg to its dump (the hub's permitted corridor is that line ±300 m: the demo city has no
road network), unloads standing there 8–12 minutes, and drives back; it starts a round trip only
if it ends inside the window, so it is never on the road out of hours. Out of hours, or if its
dump is closed, it stands at its site. Fixes every ``muck_fix_s`` (15) s of the city's time.

**Incident** ``muck_dumping``: a loaded truck leaves its site and stands for 12 minutes at a
place that is no registered dumping site (the hub's rule: 5 minutes), then goes back.
"""

from __future__ import annotations

import asyncio
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape

from schema.record import Record
from simcity.binhai.context import CST
from simcity.sandbox.streams import LiveCity, Stream, Where, incident
from simcity.sandbox.streams.movement import (
    KX,
    KY,
    FixStream,
    Fleet,
    Leg,
    buffered,
    metres,
    point,
    records,
)

MUCK_FIX_S = 15.0
MUCK_KMH = (25.0, 45.0)
MAX_KMH = 55.0
OPEN = "开放"
ALL_DAY = "全天"
UNLOAD_S = (8 * 60.0, 12 * 60.0)  # standing in the dump: the hub counts 5 minutes as unloaded
LOAD_S = (20 * 60.0, 60 * 60.0)
SPARE_S = 15 * 60.0  # a round trip must end this long before the window closes
DUMPING_S = 12 * 60.0
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")
STATE = "muck"


def windows(open_hours: Any) -> list[tuple[int, int]]:
    """Opening hours as (start, end) minutes of Binhai's day; [] for all day (or unreadable)."""
    out = []
    for part in str(open_hours or "").replace("，", ",").split(","):
        m = _HOURS.match(part.strip())
        if m is not None:
            h0, m0, h1, m1 = (int(g) for g in m.groups())
            out.append((h0 * 60 + m0, h1 * 60 + m1))
    return out


def is_open(hours: list[tuple[int, int]], t: float) -> bool:
    if not hours:
        return True
    local = datetime.fromtimestamp(t, CST)
    minute = local.hour * 60 + local.minute
    return any((a <= minute < b) if a <= b else (minute >= a or minute < b) for a, b in hours)


@dataclass
class Permits:
    """Each truck's site and dump (None: it does not drive) and working hours."""

    fleet: Fleet
    site: list[tuple[float, float] | None]
    dump: list[tuple[float, float] | None]
    hours: list[list[tuple[int, int]]]
    site_key: list[str | None]
    to_dump: np.ndarray  # the current leg goes to the dump
    places: Any  # every registered site and dump, widened by the hub's gate margin


def permits(city: LiveCity, t: float) -> Permits:
    found = city.state.get(f"{STATE}/permits")
    if isinstance(found, Permits):
        return found
    sites = {r.key: r for r in records(city, "construction-sites", "ConstructionSite")}
    dumps = {r.key: r for r in records(city, "muck-gps", "DumpingSite")}
    trucks = sorted(records(city, "muck-gps", "MuckTruck"), key=lambda r: r.key)
    trucks = trucks[: int(city.rate("muck_trucks", len(trucks)))]
    rng = city.rng("muck-trucks")
    stands = _stands([*sites.values(), *dumps.values()])
    site_at: list[tuple[float, float] | None] = []
    dump_at: list[tuple[float, float] | None] = []
    hours: list[list[tuple[int, int]]] = []
    start: list[tuple[float, float]] = []
    site_key: list[str | None] = []
    for truck in trucks:
        a = truck.attrs
        site, dump = (
            sites.get(str(a.get("permitted_site"))),
            dumps.get(str(a.get("permitted_dump"))),
        )
        here = stands.get(site.key) if site is not None else None
        there = (
            stands.get(dump.key) if dump is not None and dump.attrs.get("status") == OPEN else None
        )
        site_at.append(here)
        dump_at.append(there if here is not None else None)
        hours.append(windows(dump.attrs.get("open_hours")) if dump is not None else [])
        start.append(here or point(truck) or (117.7, 39.0))
        site_key.append(site.key if site is not None else None)
    fleet = Fleet([r.key for r in trucks], start, t)
    for i in range(len(trucks)):  # loading at the site, leaving within the next 40 minutes
        fleet.until[i] = t + rng.uniform(0, 40 * 60.0)
    footprints = [
        buffered(shape(r.geometry), 30.0) for r in (*sites.values(), *dumps.values()) if r.geometry
    ]
    places = shapely.union_all(footprints)
    shapely.prepare(places)
    found = Permits(fleet, site_at, dump_at, hours, site_key, np.zeros(len(trucks), bool), places)
    city.state[f"{STATE}/permits"] = found
    return found


def _stands(places: list[Record]) -> dict[str, tuple[float, float]]:
    """Where a truck stands in each site or dump: its centre, unless that lies in (or near)
    another registered place — neighbouring sites overlap — then a point of its own ground."""
    shapes = {r.key: shape(r.geometry) for r in places if r.geometry}
    keys = list(shapes)
    tree = shapely.STRtree([buffered(shapes[k], 60.0) for k in keys])
    out: dict[str, tuple[float, float]] = {}
    for r in places:
        centre = point(r)
        if centre is None or r.key not in shapes:
            continue
        mine = shapes[r.key]
        others = [buffered(shapes[keys[j]], 60.0) for j in tree.query(mine) if keys[j] != r.key]
        if not others:
            out[r.key] = centre
            continue
        near = shapely.union_all(others)
        own = mine.difference(near)
        if not own.is_empty and near.contains(shapely.Point(centre)):
            inner = own.representative_point()
            centre = (float(inner.x), float(inner.y))
        out[r.key] = centre
    return out


def planner(city: LiveCity, p: Permits) -> Any:
    def plan(i: int, t: float) -> Leg:
        rng = city.rng("muck-trip", p.fleet.keys[i], int(t))
        site, dump = p.site[i], p.dump[i]
        kmh = rng.uniform(*MUCK_KMH)
        if site is None:  # no site of its own: it stands where it is
            return Leg(p.fleet.where(i, t), 30.0, 6 * 3600.0)
        if p.to_dump[i]:  # unloaded: back to the site to load, as fast as it came
            p.to_dump[i] = False
            return Leg(site, float(p.fleet.kmh[i]) or kmh, rng.uniform(*LOAD_S))
        if dump is not None:
            unload = rng.uniform(*UNLOAD_S)
            trip = 2 * metres(site, dump) / kmh * 3.6 + unload + SPARE_S
            hours = p.hours[i]
            if all(is_open(hours, t + f * trip) for f in (0.0, 0.25, 0.5, 0.75, 1.0)):
                p.to_dump[i] = True
                return Leg(dump, kmh, unload)
        return Leg(site, 30.0, rng.uniform(20 * 60.0, 40 * 60.0))  # waits for its hours

    return plan


class TruckStream:
    name = "muck.trucks"

    async def run(self, city: LiveCity) -> None:
        p = await asyncio.to_thread(permits, city, city.clock.seconds())
        interval = city.rate("muck_fix_s", MUCK_FIX_S)
        fixes = FixStream(self.name, "muck.fix", p.fleet, planner(city, p), interval, MAX_KMH)
        await fixes.run(city)


@incident("muck_dumping", "a loaded muck truck stands for 12 minutes where no dump is registered",
          alarms=("muck.unregistered_dumping",))  # fmt: skip
async def muck_dumping(city: LiveCity, where: Where) -> dict[str, Any]:
    t = city.clock.seconds()
    p = permits(city, t)
    fleet = p.fleet
    with_site = [i for i in range(len(fleet)) if p.site[i] is not None]
    if not with_site:
        raise ValueError("no muck truck has a construction site in this city")
    target = (where.lon, where.lat) if where.lon is not None and where.lat is not None else None
    if where.site:
        if where.site not in fleet.index or p.site[fleet.index[where.site]] is None:
            raise ValueError(f"no muck truck {where.site!r} with a construction site")
        i = fleet.index[where.site]
    elif target is not None:
        i = min(with_site, key=lambda j: metres(p.site[j] or target, target))
    else:  # a truck loading at its site, in its hours if any is
        rng = city.rng("muck_dumping")
        at_site = [j for j in with_site if fleet.t1[j] <= t and not p.to_dump[j]]
        working = [j for j in at_site if p.dump[j] is not None and is_open(p.hours[j], t)]
        i = rng.choice(working or at_site or with_site)
    site = p.site[i]
    assert site is not None
    stop = target or _lay_by(city, p, i, site)
    p.to_dump[i] = False  # after dumping it goes back to its site to load, as after a dump
    rng = city.rng("muck_dumping", fleet.keys[i])
    fleet.divert(
        i,
        [  # loaded at the site (a fix or two there), out to the stop, stands, back to load
            Leg(site, 30.0, 2 * city.rate("muck_fix_s", MUCK_FIX_S)),
            Leg(stop, 35.0, DUMPING_S),
            Leg(site, rng.uniform(*MUCK_KMH), rng.uniform(*LOAD_S)),
        ],
        t,
    )
    return {"subject": fleet.keys[i], "lon": stop[0], "lat": stop[1],
            "site": p.site_key[i], "minutes": DUMPING_S / 60}  # fmt: skip


def _lay_by(city: LiveCity, p: Permits, i: int, site: tuple[float, float]) -> tuple[float, float]:
    """A place 600–1,200 m from the site towards its dump (on its permitted corridor, so
    nothing but the dumping is amiss), clear of every registered site and dump."""
    rng = city.rng("muck_dumping", p.fleet.keys[i], "where")
    dump = p.dump[i]
    heading = (
        math.atan2((dump[1] - site[1]) * KY, (dump[0] - site[0]) * KX)
        if dump is not None
        else rng.uniform(0, 2 * math.pi)
    )
    for attempt in range(60):
        d = rng.uniform(600, 1200) + attempt * 50
        turn = 0.0 if attempt < 20 else rng.uniform(-math.pi, math.pi)
        q = (site[0] + d * math.cos(heading + turn) / KX,
             site[1] + d * math.sin(heading + turn) / KY)  # fmt: skip
        if not p.places.intersects(shapely.Point(q).buffer(150 / KX)):
            return q
    raise ValueError(f"no place to dump near {p.fleet.keys[i]}'s site")


def streams(city: LiveCity) -> list[Stream]:
    return [TruckStream()]
