"""Hazardous-chemicals supervision (危化品全域监管): the business rules behind the resolvers.

* **Tanks** — live level, temperature and pressure (reading kinds ``tank.level``,
  ``tank.temperature``, ``tank.pressure``) through the core's ``TankMonitor``, one per
  quantity: high / high-high / low, rate of change, and stale sensors — also without a reading,
  by a timer in one worker (the rules: :mod:`hub.apps.hazchem.tanks`,
  :mod:`hub.apps.hazchem.silence`).
* **Vehicles** — fixes (``vehicle.fix``: lon, lat, speedKmh) through the core's
  ``GeofenceSet`` of forbidden zones — buffers around the schools (the school-gate cameras of
  the video network, 学校门口) and along the rivers — and a speed limit. Positions,
  trajectories and the zones a vehicle is in are served from the stored fixes; the watch keeps
  a ring buffer of recent fixes for the positions the GPS platform reported before any fix.
  Speeding raises one alarm per episode (when the speed goes over the limit), a zone one alarm
  per entry.
* **Statistics** — firms, sites, tanks, storage and vehicles by firm category and by
  industrial park; warehouse stock by hazard class from the real-name in / out slips.

Every accepted reading is stored by the live bus (``hub.state``) with what the tank rules say
of it (value, rate, alarms in force and since when), and the tanks' readings are
served from there, so every worker answers alike. The monitors in each hub process are a read
model, warmed on first use from the stored states (else the sensors' last values); alarms go
to the store and to every worker's subscribers through the live bus.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import shape

from core_ext import GeofenceSet, GridIndex
from hub import state
from hub.apps.hazchem.stops import VEHICLE_STOPPED, StopWatch, havens
from hub.apps.hazchem.tanks import QUANTITIES, TANK_LEVEL, Quantity, TankWatch
from hub.live import ALARM_KIND, Alarm, LiveBus, Reading
from hub.state import DeviceState
from hub.state.warm import ReadModel, Stored, grid_of, newer
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices
    from hub.store import RecordStore

VEHICLE_FIX = "vehicle.fix"
# 危险货物道路运输安全管理办法: at most 60 km/h off the expressways, which is most of Binhai.
SPEED_LIMIT_KMH = 60.0
SCHOOL_BUFFER_M = 200.0
RIVER_BUFFER_M = 100.0
TRAJECTORY_FIXES = 256  # per vehicle, the most recent
SCHOOL_CAMERA_SUFFIX = "学校门口"
CATEGORY_NAMES = {"production": "生产", "logistics": "物流运输", "warehousing": "仓储"}


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# ---------------------------------------------------------------------------------------------
# Forbidden zones


@dataclass(frozen=True)
class ForbiddenZone:
    """A zone no hazardous-chemicals vehicle may enter."""

    id: str
    name: str
    reason: str  # school / river
    subject_key: str  # the camera or river it is drawn around
    buffer_m: float
    geometry: dict[str, Any]


def _metric(lat0: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude near ``lat0`` (a local plane is enough
    for buffers of a few hundred metres)."""
    return 111_320.0 * math.cos(math.radians(lat0)), 110_574.0


def _buffer(geometry: dict[str, Any], metres: float) -> dict[str, Any]:
    geom = shape(geometry)
    lat0 = (geom.bounds[1] + geom.bounds[3]) / 2
    kx, ky = _metric(lat0)
    local = shapely.transform(geom, lambda xy: xy * np.array([kx, ky]))
    zone = shapely.transform(local.buffer(metres, quad_segs=6), lambda xy: xy / np.array([kx, ky]))
    return dict(shapely.geometry.mapping(shapely.set_precision(zone, 1e-6)))


def forbidden_zones(cameras: Iterable[Record], rivers: Iterable[Record]) -> list[ForbiddenZone]:
    """Buffers around the schools (their gate cameras) and along the rivers."""
    zones = []
    for cam in cameras:
        name = str(cam.attrs.get("name") or "")
        if name.endswith(SCHOOL_CAMERA_SUFFIX) and cam.geometry:
            zones.append(
                ForbiddenZone(
                    id=f"school:{cam.key}",
                    name=name.removesuffix("门口"),
                    reason="school",
                    subject_key=cam.key,
                    buffer_m=SCHOOL_BUFFER_M,
                    geometry=_buffer(cam.geometry, SCHOOL_BUFFER_M),
                )
            )
    for river in rivers:
        if river.geometry:
            zones.append(
                ForbiddenZone(
                    id=f"river:{river.key}",
                    name=str(river.attrs.get("name") or river.key),
                    reason="river",
                    subject_key=river.key,
                    buffer_m=RIVER_BUFFER_M,
                    geometry=_buffer(river.geometry, RIVER_BUFFER_M),
                )
            )
    return zones


# ---------------------------------------------------------------------------------------------
# Vehicles


@dataclass(frozen=True)
class VehicleFix:
    at: datetime
    lon: float
    lat: float
    speed_kmh: float | None


class VehicleWatch:
    """Live vehicle positions, trajectories, zone entries and speeding (thread-safe)."""

    def __init__(
        self,
        vehicles: Iterable[Record],
        zones: Sequence[ForbiddenZone],
        grid: GridIndex | None = None,
        speed_limit_kmh: float = SPEED_LIMIT_KMH,
        stored: dict[str, DeviceState] | None = None,
        stands: GridIndex | None = None,  # where a vehicle may stand (stops.havens)
    ) -> None:
        records = list(vehicles)
        self.keys = [r.key for r in records]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.plates = [str(r.attrs.get("plate") or r.key) for r in records]
        self.fleets: dict[str, list[str]] = defaultdict(list)  # owner firm -> vehicles
        for r in records:
            self.fleets[str(r.attrs.get("owner_firm"))].append(r.key)
        n = len(records)
        # ring buffer of fixes: (time, lon, lat, speed) per vehicle; count = fixes ever written
        self.ring = np.full((n, TRAJECTORY_FIXES, 4), np.nan)
        self.count = np.zeros(n, dtype=np.int64)
        self.last_time = np.full(n, -np.inf)
        self.speeding = np.zeros(n, dtype=bool)
        self.zones = list(zones)
        self.zone_index = {z.id: i for i, z in enumerate(self.zones)}
        self.fences = GeofenceSet()
        for i, zone in enumerate(self.zones):
            self.fences.add_forbidden_zone(i, zone.geometry)
        self.grid = grid
        self.speed_limit = speed_limit_kmh
        self.lock = threading.Lock()
        self.stops = StopWatch(stands)
        self._seed(records, stored or {})

    def _seed(self, records: list[Record], stored: dict[str, DeviceState]) -> None:
        """The fixes the hub stored last, else the positions the GPS platform last reported
        (no alarm on them); a stored fix also restores whether the vehicle was speeding and
        which forbidden zones it was in, so a restart raises no alarm twice."""
        idx, rows = [], []
        for i, r in enumerate(records):
            kept = stored.get(r.key)
            if kept is not None and kept.point is not None:
                speed = kept.state.get("speedKmh")
                idx.append(i)
                rows.append(
                    (
                        kept.at.timestamp(),
                        *kept.point,
                        float(speed) if isinstance(speed, int | float) else np.nan,
                    )
                )
                self.speeding[i] = bool(kept.state.get("speeding"))
                self.stops.restore(i, kept.state.get("stop"))
                continue
            point, when = r.point(), r.attrs.get("last_gps_at")
            if point is None or not isinstance(when, str):
                continue
            speed = r.attrs.get("speed_kmh")
            idx.append(i)
            rows.append(
                (
                    datetime.fromisoformat(when).timestamp(),
                    *point,
                    float(speed) if isinstance(speed, int | float) else np.nan,
                )
            )
        if idx:
            self._append(np.asarray(idx), np.asarray(rows))
        warm = [i for i in idx if self.keys[i] in stored]
        if warm:  # the fences learn where those vehicles are; what they would raise is old
            at = np.asarray([rows[idx.index(i)] for i in warm])
            self.fences.check(np.asarray(warm), at[:, 1], at[:, 2], at[:, 0])

    def describe(self, reading: Reading) -> dict[str, Any]:
        """Whether the vehicle is speeding and the zones it is in after its latest fix:
        stored with it in device_state."""
        i = self.index[reading.id]
        with self.lock:
            speeding = bool(self.speeding[i])
            try:
                inside = self.fences.state(i)
            except KeyError:
                inside = []
            stop = self.stops.state(i)
        zones = [self.zones[int(f)].id for f in inside]
        return {"speeding": speeding, "zones": zones, "stop": stop}

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the fixes other workers stored (newer than this one's last): the fences
        learn where the vehicles are, the speeding episodes go on; no alarm is raised here."""
        idx, rows, speeding = [], [], []
        stops: list[Any] = []
        for key, kept in newer(stored, self._last_time).items():
            i, point = self.index.get(key), kept.point
            if i is None or point is None:
                continue
            speed = kept.state.get("speedKmh")
            idx.append(i)
            rows.append(
                (
                    kept.at.timestamp(),
                    *point,
                    float(speed) if isinstance(speed, int | float) else np.nan,
                )
            )
            speeding.append(bool(kept.state.get("speeding")))
            stops.append(kept.state.get("stop"))
        if not idx:
            return
        at, where = np.asarray(idx), np.asarray(rows)
        with self.lock:
            self.fences.check(at, where[:, 1], where[:, 2], where[:, 0])
            self._append(at, where)
            self.speeding[at] = speeding
            for i, stop in zip(idx, stops, strict=True):
                self.stops.restore(i, stop)

    def _last_time(self, key: str) -> float | None:
        i = self.index.get(key)
        return float(self.last_time[i]) if i is not None else None

    def zones_of(self, kept: DeviceState) -> list[ForbiddenZone]:
        """The forbidden zones a stored state says the vehicle is in."""
        ids = kept.state.get("zones") or []
        return [self.zones[self.zone_index[z]] for z in ids if z in self.zone_index]

    def check(self, reading: Reading) -> str | None:
        i = self.index.get(reading.id)
        if i is None:
            return f"no hazardous-chemicals vehicle {reading.id!r}"
        if reading.lon is None or reading.lat is None:
            return "lon and lat are required for a vehicle fix"
        if reading.speed_kmh is not None and reading.speed_kmh < 0:
            return "speedKmh must not be negative"
        if reading.at < self.last_time[i]:
            return f"older than vehicle {reading.id}'s last fix"
        return None

    def evaluate(self, readings: Sequence[Reading]) -> list[Alarm]:
        n = len(readings)
        if not n:
            return []
        idx = np.fromiter((self.index[r.id] for r in readings), dtype=np.int64, count=n)
        rows = np.array(
            [
                (r.at, r.lon, r.lat, np.nan if r.speed_kmh is None else r.speed_kmh)
                for r in readings
            ],
            dtype=np.float64,
        )
        order = np.argsort(rows[:, 0], kind="stable")  # the fences take fixes in time order
        idx, rows = idx[order], rows[order]
        alarms: list[Alarm] = []
        with self.lock:
            fresh = rows[:, 0] >= self.last_time[idx]  # a concurrent batch may have moved on
            if not fresh.all():
                idx, rows = idx[fresh], rows[fresh]
            if not len(idx):
                return alarms
            events = self.fences.check(idx, rows[:, 1], rows[:, 2], rows[:, 0])
            for e in events:
                if e.kind == "violation":
                    zone = self.zones[int(e.fence_id)]
                    alarms.append(self._zone_alarm(int(e.vehicle_id), zone, rows[e.index]))
            alarms.extend(self._speeding(idx, rows))
            alarms.extend(self._stop_alarm(i, rows[j]) for i, j in self.stops.check(idx, rows))
            self._append(idx, rows)
        return alarms

    def _speeding(self, idx: np.ndarray, rows: np.ndarray) -> list[Alarm]:
        """One alarm when a vehicle's speed goes over the limit. A fix without a speed changes
        nothing: the vehicle keeps the state of its last fix with one."""
        known = ~np.isnan(rows[:, 3])
        if not known.any():
            return []
        by_vehicle = np.argsort(idx, kind="stable")  # each vehicle's fixes stay in time order
        v, k = idx[by_vehicle], known[by_vehicle]
        over = np.where(k, rows[by_vehicle, 3] > self.speed_limit, False)
        m = len(v)
        ar = np.arange(m)
        starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
        sizes = np.diff(np.r_[starts, m])
        group_start = np.repeat(starts, sizes)
        stored = self.speeding[v]
        # each fix's state: the last fix with a speed in its group so far, else the stored one
        last_known = np.maximum.accumulate(np.where(k, ar, -1))
        state = np.where(last_known >= group_start, over[np.maximum(last_known, 0)], stored)
        before = np.empty(m, dtype=bool)
        before[1:] = state[:-1]
        first = group_start == ar
        before[first] = stored[first]
        began = k & over & ~before
        ends = starts + sizes - 1
        self.speeding[v[ends]] = state[ends]
        return [self._speed_alarm(int(v[j]), rows[by_vehicle[j]]) for j in np.flatnonzero(began)]

    def _append(self, idx: np.ndarray, rows: np.ndarray) -> None:
        """Write fixes (time-ordered per vehicle) into the ring buffer."""
        by_vehicle = np.argsort(idx, kind="stable")
        v, r = idx[by_vehicle], rows[by_vehicle]
        starts = np.flatnonzero(np.r_[True, v[1:] != v[:-1]])
        sizes = np.diff(np.r_[starts, len(v)])
        rank = np.arange(len(v)) - np.repeat(starts, sizes)
        size_of = np.repeat(sizes, sizes)
        keep = rank >= size_of - TRAJECTORY_FIXES  # more than a ring's worth: the newest
        slot = (self.count[v] + rank) % TRAJECTORY_FIXES
        self.ring[v[keep], slot[keep]] = r[keep]
        firsts = v[starts]
        self.count[firsts] += sizes
        self.last_time[firsts] = r[starts + sizes - 1, 0]

    def _cell(self, lon: float, lat: float) -> str | None:
        return self.grid.locate_key(lon, lat) if self.grid is not None else None

    def _zone_alarm(self, vi: int, zone: ForbiddenZone, row: np.ndarray) -> Alarm:
        t, lon, lat, speed = (float(x) for x in row)
        what = "学校周边" if zone.reason == "school" else "河道沿岸"
        return Alarm(
            id=f"geofence.forbidden:{self.keys[vi]}:{t:.3f}:{zone.id}",
            kind="geofence.forbidden",
            severity="alarm",
            subject_type="HazchemVehicle",
            subject_key=self.keys[vi],
            message=f"{self.plates[vi]} 驶入禁行区 {zone.name}（{what} {zone.buffer_m:.0f} m）",
            at=_at(t),
            value=None if math.isnan(speed) else speed,
            lon=lon,
            lat=lat,
            grid_cell=self._cell(lon, lat),
            source=zone.id,
        )

    def _stop_alarm(self, vi: int, row: np.ndarray) -> Alarm:
        stop = self.stops.stops[vi]
        t = float(row[0])
        minutes = (t - stop.t0) / 60
        return Alarm(
            id=f"{VEHICLE_STOPPED}:{self.keys[vi]}:{stop.t0:.3f}",
            kind=VEHICLE_STOPPED,
            severity="alarm",
            subject_type="HazchemVehicle",
            subject_key=self.keys[vi],
            message=f"{self.plates[vi]} 在危化品场所和园区外停车 {minutes:.0f} 分钟",
            at=_at(t),
            value=minutes,
            lon=stop.lon,
            lat=stop.lat,
            grid_cell=self._cell(stop.lon, stop.lat),
        )

    def _speed_alarm(self, vi: int, row: np.ndarray) -> Alarm:
        t, lon, lat, speed = (float(x) for x in row)
        return Alarm(
            id=f"vehicle.speeding:{self.keys[vi]}:{t:.3f}",
            kind="vehicle.speeding",
            severity="warning",
            subject_type="HazchemVehicle",
            subject_key=self.keys[vi],
            message=f"{self.plates[vi]} 超速 {speed:.1f} km/h（限速 {self.speed_limit:.0f}）",
            at=_at(t),
            value=speed,
            lon=lon,
            lat=lat,
            grid_cell=self._cell(lon, lat),
        )

    def trajectory(self, key: str, limit: int = TRAJECTORY_FIXES) -> list[VehicleFix]:
        """The vehicle's most recent fixes, oldest first (at most ``limit``)."""
        i = self.index.get(key)
        if i is None:
            return []
        with self.lock:
            count = int(self.count[i])
            n = min(count, TRAJECTORY_FIXES, max(limit, 0))
            slots = [(count - n + j) % TRAJECTORY_FIXES for j in range(n)]
            rows = self.ring[i, slots].copy()
        return [
            VehicleFix(_at(t), lon, lat, None if math.isnan(s) else s)
            for t, lon, lat, s in rows.tolist()
        ]

    def position(self, key: str) -> VehicleFix | None:
        fixes = self.trajectory(key, 1)
        return fixes[0] if fixes else None

    def inside(self, key: str) -> list[ForbiddenZone]:
        """The forbidden zones the vehicle is in now."""
        i = self.index.get(key)
        if i is None:
            return []
        try:
            with self.lock:  # the core's set is borrowed mutably while fixes are evaluated
                inside = self.fences.state(i)
        except KeyError:  # no fix evaluated for it yet: in no zone as far as the hub knows
            return []
        return [self.zones[int(f)] for f in inside]


# ---------------------------------------------------------------------------------------------
# Statistics


@dataclass
class GroupStats:
    """Counts and sums of one group (a firm category, an industrial park)."""

    key: str | None
    name: str
    firms: int = 0
    production: int = 0
    logistics: int = 0
    warehousing: int = 0
    sites: int = 0
    tanks: int = 0
    storage_capacity_t: float = 0.0
    vehicles: int = 0
    major_hazard_firms: int = 0
    hidden_hazards_open: int = 0


@dataclass
class HazchemTotals:
    totals: GroupStats
    by_category: list[GroupStats]
    by_park: list[GroupStats]  # the last one (key None) gathers the firms outside every park


def _park_name(names: dict[str, str], park: str | None) -> str:
    return names.get(park, park) if park else "园区外"


def hazchem_stats(
    firms: Iterable[Record],
    sites: Iterable[Record],
    vehicles: Iterable[Record],
    parks: Iterable[Record],
) -> HazchemTotals:
    """Statistics by firm category and industrial park; every figure of the totals is the sum
    of the categories' and of the parks' (firms outside the parks have a group of their own)."""
    site_of = {s.key: s for s in sites}
    fleet: dict[str, int] = defaultdict(int)
    for v in vehicles:
        fleet[str(v.attrs.get("owner_firm"))] += 1
    park_names = {p.key: str(p.attrs.get("name") or p.key) for p in parks}
    totals = GroupStats(None, "全区")
    categories = {c: GroupStats(c, n) for c, n in CATEGORY_NAMES.items()}
    by_park: dict[str | None, GroupStats] = {}
    for firm in firms:
        a = firm.attrs
        category = str(a.get("category"))
        park = a.get("park")
        groups = [
            totals,
            categories.setdefault(category, GroupStats(category, category)),
            by_park.setdefault(park, GroupStats(park, _park_name(park_names, park))),
        ]
        site = site_of.get(str(a.get("site")))
        for g in groups:
            g.firms += 1
            if category in ("production", "logistics", "warehousing"):
                setattr(g, category, getattr(g, category) + 1)
            g.vehicles += fleet.get(firm.key, 0)
            g.major_hazard_firms += 1 if a.get("major_hazard_level") else 0
            g.hidden_hazards_open += int(a.get("hidden_hazards_open") or 0)
            if site is not None:
                g.sites += 1
                g.tanks += int(site.attrs.get("tanks") or 0)
                g.storage_capacity_t += float(site.attrs.get("storage_capacity_t") or 0.0)
    parks_sorted = sorted((g for k, g in by_park.items() if k), key=lambda g: str(g.key))
    if None in by_park:
        parks_sorted.append(by_park[None])
    return HazchemTotals(totals, list(categories.values()), parks_sorted)


@dataclass
class StockLine:
    """Warehouse stock of one hazard class: tonnes in, out and the balance (in − out)."""

    hazard_class: str
    hazard_class_name: str
    in_t: float = 0.0
    out_t: float = 0.0
    slips: int = 0

    @property
    def balance_t(self) -> float:
        return self.in_t - self.out_t


@dataclass
class WarehouseStock:
    site: str | None  # None: every warehouse together
    lines: list[StockLine] = field(default_factory=list)

    @property
    def in_t(self) -> float:
        return sum(x.in_t for x in self.lines)

    @property
    def out_t(self) -> float:
        return sum(x.out_t for x in self.lines)

    @property
    def slips(self) -> int:
        return sum(x.slips for x in self.lines)


def stock_by_category(movements: Iterable[Record]) -> dict[str | None, WarehouseStock]:
    """Stock by hazard class from the in / out slips: per warehouse, and (key None) overall."""
    tables: dict[str | None, dict[str, StockLine]] = defaultdict(dict)
    for m in movements:
        a = m.attrs
        substance = a.get("substance") or {}
        cls = str(substance.get("hazard_class") or "?")
        qty = float(a.get("quantity_t") or 0.0)
        for site in (None, str(a.get("site"))):
            line = tables[site].get(cls)
            if line is None:
                line = tables[site][cls] = StockLine(
                    cls, str(substance.get("hazard_class_name") or "")
                )
            line.slips += 1
            if a.get("direction") == "in":
                line.in_t += qty
            elif a.get("direction") == "out":
                line.out_t += qty
    tables.setdefault(None, {})
    return {
        site: WarehouseStock(site, [t[c] for c in sorted(t, key=_class_order)])
        for site, t in tables.items()
    }


def _class_order(cls: str) -> tuple[float, str]:
    try:
        return float(cls), cls
    except ValueError:
        return math.inf, cls


# ---------------------------------------------------------------------------------------------
# The app's services


class HazchemServices:
    """Built once per hub process; the live state is loaded from the store on first use."""

    def __init__(
        self,
        store: RecordStore,
        speed_limit_kmh: float = SPEED_LIMIT_KMH,
    ) -> None:
        self.store = store
        self.speed_limit_kmh = speed_limit_kmh
        # one read model per tank quantity: each kind's stored states refresh its own watch
        self.tank_models = {
            q.kind: ReadModel(
                store.engine, (q.kind,), partial(self._load_tanks, q), records=("Tank", "Sensor")
            )
            for q in QUANTITIES
        }
        self.tank_model = self.tank_models[TANK_LEVEL]
        self.vehicle_model = ReadModel(
            store.engine,
            (VEHICLE_FIX,),
            self._load_vehicles,
            records=(
                "HazchemVehicle",
                "Camera",
                "River",
                "GridCell",
                "HazchemSite",
                "IndustrialPark",
            ),
        )

    def _load_tanks(self, quantity: Quantity, stored: Stored) -> TankWatch:
        tanks = list(self.store.scan("Tank"))
        sensors = self.store.get_many("Sensor", [f"{t.key}-{quantity.suffix}" for t in tanks])
        return TankWatch(tanks, sensors, stored[quantity.kind], quantity)

    def _load_vehicles(self, stored: Stored) -> VehicleWatch:
        zones = forbidden_zones(self.store.scan("Camera"), self.store.scan("River"))
        return VehicleWatch(
            self.store.scan("HazchemVehicle"),
            zones,
            grid_of(self.store),
            self.speed_limit_kmh,
            stored[VEHICLE_FIX],
            havens(self.store.scan("HazchemSite"), self.store.scan("IndustrialPark"), _buffer),
        )

    @property
    def tanks(self) -> TankWatch:
        """The tanks' levels (and the tanks: every quantity's watch has them all)."""
        return self.tank_model.get()

    def tank_watch(self, kind: str) -> TankWatch:
        """One quantity's watch, by reading kind (tank.level, tank.temperature, ...)."""
        return self.tank_models[kind].get()

    @property
    def vehicles(self) -> VehicleWatch:
        return self.vehicle_model.get()

    # telemetry handlers (called by the live bus from a worker thread)
    def register_tanks(self, live: LiveBus) -> None:
        """The three tank quantities' handlers on the live bus, each kind its own watch."""
        for q in QUANTITIES:
            live.register(
                q.kind,
                partial(self.on_tank_readings, q.kind),
                partial(self.check_tank_reading, q.kind),
                partial(self.describe_tank, q.kind),
                self.tank_models[q.kind].follow(TankWatch.refresh),
                partial(self.normalise_tank_readings, q.kind),
            )

    def check_tank_reading(self, kind: str, reading: Reading) -> str | None:
        return self.tank_watch(kind).check(reading)

    def on_tank_readings(self, kind: str, readings: Sequence[Reading]) -> list[Alarm]:
        return self._unraised(self.tank_watch(kind).evaluate(readings))

    def describe_tank(self, kind: str, reading: Reading) -> dict[str, Any]:
        return self.tank_watch(kind).describe(reading)

    def normalise_tank_readings(self, kind: str, readings: list[Reading]) -> list[Reading]:
        return self.tank_watch(kind).normalise(readings)

    def silent_tanks(self) -> list[Alarm]:
        """Stale alarms of the sensors silent past their window now, once per silence (see
        :meth:`TankWatch.silent`), none already stored."""
        alarms = []
        for q in QUANTITIES:
            # nothing of the kind stored: no sensor of it reported, none can be stale (and the
            # watch is not built for nothing)
            if state.newest(self.store.engine, q.kind) is not None:
                alarms.extend(self.tank_watch(q.kind).silent())
        return self._unraised(alarms)

    def _unraised(self, alarms: list[Alarm]) -> list[Alarm]:
        """Without the stale alarms raised already: a silence is one alarm whether the timer
        (in whichever worker held it) or the reading that ends it saw it first."""
        stale = [a.id for a in alarms if a.kind.endswith("stale")]
        if not stale:
            return alarms
        raised = self.store.get_many(ALARM_KIND, stale)
        return [a for a in alarms if a.id not in raised]

    def tanks_in_alarm(self) -> list[str]:
        """Tanks with a threshold alarm of any quantity in force, in key order: as stored,
        else as loaded from the sensors (the same in every worker)."""
        held: set[str] = set()
        for q in QUANTITIES:
            watch = self.tank_watch(q.kind)
            stored = state.latest_of_kind(self.store.engine, q.kind)
            held.update(k for k, s in stored.items() if s.state.get("alarms") and k in watch.specs)
            held.update(k for k in watch.in_alarm() if k not in stored)
        return sorted(held)

    def check_vehicle_fix(self, reading: Reading) -> str | None:
        return self.vehicles.check(reading)

    def on_vehicle_fixes(self, readings: Sequence[Reading]) -> list[Alarm]:
        return self.vehicles.evaluate(readings)

    def describe_vehicle_fix(self, reading: Reading) -> dict[str, Any]:
        return self.vehicles.describe(reading)


def services(hub: HubServices) -> HazchemServices:
    app = HazchemServices(hub.store)
    for tanks in app.tank_models.values():
        tanks.follow_records(hub.feed)
    app.vehicle_model.follow_records(hub.feed)
    app.register_tanks(hub.live)
    hub.live.register(
        VEHICLE_FIX,
        app.on_vehicle_fixes,
        app.check_vehicle_fix,
        app.describe_vehicle_fix,
        app.vehicle_model.follow(VehicleWatch.refresh),
    )
    return app
