"""Hazardous-chemicals supervision (危化品全域监管): the business rules behind the resolvers.

* **Tanks** — live liquid levels (reading kind ``tank.level``: ``value`` in metres, or in per
  cent of the tank's level height with ``"unit": "%"``) through the core's ``TankMonitor``:
  high / high-high / low thresholds from the tank register (``level_thresholds_m``), a rate of
  change limit (a share of the level height per minute) and a stale-sensor limit (ten sampling
  intervals of the tank's level sensor). Threshold alarms fire when a tank *enters* the state
  (not on every reading while it stays there); rate and stale alarms on each reading that
  shows them. The monitor starts from the level sensors' last values in the store.
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
of it (level in metres, rate, alarms in force and since when), and the tanks' levels are
served from there, so every worker answers alike. The monitors in each hub process are a read
model, warmed on first use from the stored states (else the sensors' last values); alarms go
to the store and to every worker's subscribers through the live bus.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import shape

from core_ext import (
    TANK_HIGH,
    TANK_HIGH_HIGH,
    TANK_LOW,
    TANK_RATE,
    TANK_STALE,
    GeofenceSet,
    GridIndex,
    TankLimits,
    TankMonitor,
)
from hub import state
from hub.live import Alarm, Reading
from hub.state import DeviceState
from hub.state.warm import ReadModel, Stored, grid_of, newer
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices
    from hub.store import RecordStore

TANK_LEVEL = "tank.level"
VEHICLE_FIX = "vehicle.fix"
# 危险货物道路运输安全管理办法: at most 60 km/h off the expressways, which is most of Binhai.
SPEED_LIMIT_KMH = 60.0
SCHOOL_BUFFER_M = 200.0
RIVER_BUFFER_M = 100.0
TRAJECTORY_FIXES = 256  # per vehicle, the most recent
RATE_SHARE_PER_MIN = 0.05  # 5 % of the level height in one minute: a leak or an overfill
STALE_INTERVALS = 10  # sampling intervals of silence before a sensor counts as stale
DEFAULT_SAMPLING_S = 60
SCHOOL_CAMERA_SUFFIX = "学校门口"
CATEGORY_NAMES = {"production": "生产", "logistics": "物流运输", "warehousing": "仓储"}
_HORIZONTAL = ("卧式罐", "卧式压力储罐")  # their level runs up the diameter

# Threshold states (kept while they last) and reading events, most severe first.
_STATES = ((TANK_HIGH_HIGH, "high_high", "critical"), (TANK_HIGH, "high", "alarm"))
_LOW = (TANK_LOW, "low", "warning")
_EVENTS = ((TANK_RATE, "rate", "alarm"), (TANK_STALE, "stale", "warning"))
FLAG_NAMES = {TANK_HIGH: "high", TANK_HIGH_HIGH: "high_high", TANK_LOW: "low"}
_BY_TIME = attrgetter("at")
_HELD = (TANK_HIGH_HIGH, TANK_HIGH, TANK_LOW)  # the threshold states a tank is held in


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _point(record: Record) -> tuple[float, float] | None:
    g = record.geometry
    if g and g.get("type") == "Point":
        lon, lat = g["coordinates"][:2]
        return float(lon), float(lat)
    return None


# ---------------------------------------------------------------------------------------------
# Tanks


@dataclass(frozen=True)
class TankLevel:
    """A tank's latest level reading and its alarm state."""

    value_m: float
    at: datetime
    percent: float | None
    rate_m_per_min: float | None
    active: tuple[str, ...]  # threshold alarms in force: high_high, high, low
    since: datetime | None  # when the current alarm state began


@dataclass(frozen=True)
class TankSpec:
    key: str
    site: str | None
    firm: str | None
    level_height_m: float
    limits: TankLimits
    sampling_s: float
    grid_cell: str | None
    lon: float | None
    lat: float | None
    label: str  # for messages: tank number and substance


class TankWatch:
    """Live tank levels and their alarms (thread-safe: handlers run in worker threads)."""

    def __init__(
        self,
        tanks: Iterable[Record],
        level_sensors: dict[str, Record],
        stored: dict[str, DeviceState] | None = None,
    ) -> None:
        self.specs: dict[str, TankSpec] = {}
        for tank in tanks:
            self.specs[tank.key] = _tank_spec(tank, level_sensors.get(f"{tank.key}-L"))
        self.monitor = TankMonitor({k: s.limits for k, s in self.specs.items()})
        self.state: dict[str, int] = {}  # threshold flags in force
        self.since: dict[str, float] = {}
        self.rates: dict[str, float] = {}
        # Each tank's last reading time, kept beside the monitor: the monitor's evaluate holds
        # it mutably borrowed with the GIL released, so reading it from another thread at the
        # same time fails ("Already mutably borrowed"); every monitor call goes under the lock,
        # and the per-reading check reads this dict instead.
        self.last_at: dict[str, float] = {}
        self.lock = threading.Lock()
        self._seed(level_sensors, stored or {})

    def _seed(self, level_sensors: dict[str, Record], stored: dict[str, DeviceState]) -> None:
        """Start from each tank's stored state, else its sensor's last value (no alarms: that
        is the state as loaded)."""
        ids, values, times = [], [], []
        for key in self.specs:
            kept = stored.get(key)
            level = kept.state.get("level_m") if kept is not None else None
            if kept is not None and isinstance(level, int | float):
                ids.append(key)
                values.append(float(level))
                times.append(kept.at.timestamp())
                continue
            sensor = level_sensors.get(f"{key}-L")
            if sensor is None:
                continue
            value, when = sensor.attrs.get("last_value"), sensor.attrs.get("last_reading_at")
            if isinstance(value, int | float) and isinstance(when, str):
                ids.append(key)
                values.append(float(value))
                times.append(datetime.fromisoformat(when).timestamp())
        if ids:
            self._evaluate(ids, values, times, raise_alarms=False)
        for key, kept in stored.items():  # when the alarm state in force began
            since = kept.state.get("alarm_since")
            if key in self.state and isinstance(since, int | float):
                self.since[key] = float(since)

    def check(self, reading: Reading) -> str | None:
        spec = self.specs.get(reading.id)
        if spec is None:
            return f"no tank {reading.id!r}"
        if reading.value is None:
            return "value (the liquid level) is required"
        unit = reading.extra.get("unit", "m")
        if unit not in ("m", "%"):
            return 'unit must be "m" or "%"'
        last = self.last_at.get(reading.id)
        if last is not None and reading.at < last:
            return f"older than tank {reading.id}'s last reading"
        return None

    def level_m(self, reading: Reading) -> float:
        value = float(reading.value)  # type: ignore[arg-type]
        if reading.extra.get("unit") == "%":
            return value / 100.0 * self.specs[reading.id].level_height_m
        return value

    def normalise(self, readings: list[Reading]) -> list[Reading]:
        """Levels sent in % of the tank's height as metres: the history keeps metres."""
        if not any(r.extra for r in readings):  # nearly every batch: nothing to rewrite
            return readings
        return [self._in_metres(r) if r.extra.get("unit") == "%" else r for r in readings]

    def _in_metres(self, r: Reading) -> Reading:
        extra = {k: v for k, v in r.extra.items() if k != "unit"}
        return replace(r, value=self.level_m(r), extra=extra)

    def evaluate(self, readings: Sequence[Reading]) -> list[Alarm]:
        ordered = sorted(readings, key=_BY_TIME)  # the monitor takes them in time order
        level_m = self.level_m
        return self._evaluate(
            [r.id for r in ordered],
            # check() saw to the values; only a unit ("%") needs converting
            [level_m(r) if r.extra else r.value for r in ordered],  # type: ignore[misc]
            [r.at for r in ordered],
        )

    def _evaluate(
        self, ids: list[str], values: list[float], times: list[float], raise_alarms: bool = True
    ) -> list[Alarm]:
        alarms: list[Alarm] = []
        with self.lock:
            # a concurrent batch may have moved a tank on since check(): drop what is now late
            last_at = self.last_at
            keep = [
                i
                for i, (tid, t) in enumerate(zip(ids, times, strict=True))
                if (last := last_at.get(tid)) is None or t >= last
            ]
            if len(keep) < len(ids):
                ids = [ids[i] for i in keep]
                values = [values[i] for i in keep]
                times = [times[i] for i in keep]
            if not ids:
                return alarms
            result = self.monitor.evaluate(ids, values, times)
            last_at.update(zip(ids, times, strict=True))  # in time order: the latest wins
            flags = result.flags
            self.rates.update(zip(ids, result.rates.tolist(), strict=True))
            # Most readings raise nothing and change no state: look only at the flagged ones
            # and at every reading of a tank that is (or this batch puts) in an alarm state.
            state = self.state
            flagged = np.flatnonzero(flags).tolist()
            touched = set(state).union(ids[i] for i in flagged)
            candidates = sorted(
                set(flagged).union(i for i, tid in enumerate(ids) if tid in touched)
            )
            for i in candidates:
                tid = ids[i]
                f = int(flags[i])
                rate = float(result.rates[i])
                held = f & (TANK_HIGH | TANK_HIGH_HIGH | TANK_LOW)
                before = state.get(tid, 0)
                if held != before:
                    self.since[tid] = times[i]
                    if held:
                        state[tid] = held
                    else:
                        state.pop(tid, None)
                if not raise_alarms:
                    continue
                new = held & ~before
                for bit, name, severity in (*_STATES, _LOW):
                    if new & bit:
                        alarms.append(self._alarm(tid, name, severity, values[i], times[i]))
                        break  # high-high implies high: one alarm, the most severe
                for bit, name, severity in _EVENTS:
                    if f & bit:
                        alarms.append(self._alarm(tid, name, severity, values[i], times[i], rate))
        return alarms

    def _alarm(
        self,
        tid: str,
        name: str,
        severity: str,
        value: float,
        at: float,
        rate: float = math.nan,
    ) -> Alarm:
        spec = self.specs[tid]
        lim = spec.limits
        text = {
            "high_high": f"液位高高报警 {value:.2f} m ≥ {lim.high_high:.2f} m",
            "high": f"液位高报警 {value:.2f} m ≥ {lim.high:.2f} m",
            "low": f"液位低报警 {value:.2f} m ≤ {lim.low:.2f} m",
            "rate": f"液位变化过快 {rate:+.2f} m/min (限 {lim.max_rate_per_min:.2f})",
            "stale": f"传感器超过 {lim.stale_after_s:.0f} s 无数据后恢复上报",
        }[name]
        return Alarm(
            id=f"tank.{name}:{tid}:{at:.3f}",
            kind=f"tank.{name}",
            severity=severity,
            subject_type="Tank",
            subject_key=tid,
            message=f"{spec.label}: {text}",
            at=_at(at),
            value=value,
            lon=spec.lon,
            lat=spec.lat,
            grid_cell=spec.grid_cell,
        )

    def level(self, tid: str) -> TankLevel | None:
        spec = self.specs.get(tid)
        if spec is None:
            return None
        with self.lock:
            last = self.monitor.last_reading(tid)
        if last is None:
            return None
        value, when = last
        held = self.state.get(tid, 0)
        rate = self.rates.get(tid)
        since = self.since.get(tid)
        return TankLevel(
            value_m=value,
            at=_at(when),
            percent=100.0 * value / spec.level_height_m if spec.level_height_m > 0 else None,
            rate_m_per_min=rate if rate is not None and math.isfinite(rate) else None,
            active=tuple(FLAG_NAMES[b] for b in (TANK_HIGH_HIGH, TANK_HIGH, TANK_LOW) if held & b),
            since=_at(since) if since is not None and held else None,
        )

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the tanks' states stored by other workers (newer than what this one saw);
        no alarm: the worker that took the reading raised it."""
        ids, values, times = [], [], []
        for key, kept in newer(stored, self.last_at.get).items():
            level = kept.state.get("level_m")
            if key in self.specs and isinstance(level, int | float):
                ids.append(key)
                values.append(float(level))
                times.append(kept.at.timestamp())
        if not ids:
            return
        self._evaluate(ids, values, times, raise_alarms=False)
        with self.lock:
            for key in ids:
                since = stored[key].state.get("alarm_since")
                if key in self.state and isinstance(since, int | float):
                    self.since[key] = float(since)

    def describe(self, reading: Reading) -> dict[str, Any]:
        """What the rules say of a tank after its latest reading: stored in device_state."""
        tid = reading.id
        with self.lock:
            held = self.state.get(tid, 0)
            since = self.since.get(tid)
            rate = self.rates.get(tid)
        # called for every tank of every batch: no list built, no unit looked up, for the
        # many in no alarm with a level in metres
        return {
            "level_m": self.level_m(reading) if reading.extra else reading.value,
            "rate_m_per_min": rate if rate is not None and math.isfinite(rate) else None,
            "alarms": [FLAG_NAMES[b] for b in _HELD if held & b] if held else [],
            "alarm_since": since if held else None,
        }

    def level_of(self, kept: DeviceState) -> TankLevel | None:
        """A tank's level as stored (``describe``'s account of its latest reading)."""
        spec = self.specs.get(kept.id)
        s = kept.state
        value = s.get("level_m", s.get("value"))
        if spec is None or not isinstance(value, int | float):
            return None
        rate, since = s.get("rate_m_per_min"), s.get("alarm_since")
        return TankLevel(
            value_m=float(value),
            at=kept.at,
            percent=100.0 * value / spec.level_height_m if spec.level_height_m > 0 else None,
            rate_m_per_min=float(rate) if isinstance(rate, int | float) else None,
            active=tuple(str(a) for a in s.get("alarms") or ()),
            since=_at(since) if isinstance(since, int | float) else None,
        )

    def of_site(self, site: str) -> list[str]:
        return [k for k, s in self.specs.items() if s.site == site]

    def in_alarm(self) -> list[str]:
        """Tanks with a threshold alarm in force, in key order."""
        return sorted(self.state)


def _tank_spec(tank: Record, sensor: Record | None) -> TankSpec:
    a = tank.attrs
    th = a.get("level_thresholds_m") or {}
    horizontal = a.get("tank_type") in _HORIZONTAL
    height = float((a.get("diameter_m") if horizontal else a.get("height_m")) or 0.0)
    sampling = float((sensor.attrs.get("sampling_interval_s") if sensor else None) or 0)
    sampling = sampling or DEFAULT_SAMPLING_S
    point = _point(tank)
    substance = (a.get("substance") or {}).get("name", "")
    return TankSpec(
        key=tank.key,
        site=a.get("site"),
        firm=a.get("firm"),
        level_height_m=height,
        limits=TankLimits(
            high=float(th.get("high", math.nan)),
            high_high=float(th.get("high_high", math.nan)),
            low=float(th.get("low", math.nan)),
            max_rate_per_min=height * RATE_SHARE_PER_MIN if height > 0 else math.nan,
            stale_after_s=sampling * STALE_INTERVALS,
        ),
        sampling_s=sampling,
        grid_cell=a.get("grid_cell"),
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        label=f"{tank.key} {a.get('tank_no', '')} {substance}".strip(),
    )


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
                continue
            point, when = _point(r), r.attrs.get("last_gps_at")
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
        return {"speeding": speeding, "zones": [self.zones[int(f)].id for f in inside]}

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the fixes other workers stored (newer than this one's last): the fences
        learn where the vehicles are, the speeding episodes go on; no alarm is raised here."""
        idx, rows, speeding = [], [], []
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
        if not idx:
            return
        at, where = np.asarray(idx), np.asarray(rows)
        with self.lock:
            self.fences.check(at, where[:, 1], where[:, 2], where[:, 0])
            self._append(at, where)
            self.speeding[at] = speeding

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

    def __init__(self, store: RecordStore, speed_limit_kmh: float = SPEED_LIMIT_KMH) -> None:
        self.store = store
        self.speed_limit_kmh = speed_limit_kmh
        self.tank_model = ReadModel(
            store.engine, (TANK_LEVEL,), self._load_tanks, records=("Tank", "Sensor")
        )
        self.vehicle_model = ReadModel(
            store.engine,
            (VEHICLE_FIX,),
            self._load_vehicles,
            records=("HazchemVehicle", "Camera", "River", "GridCell"),
        )

    def _load_tanks(self, stored: Stored) -> TankWatch:
        tanks = list(self.store.scan("Tank"))
        sensors = self.store.get_many("Sensor", [f"{t.key}-L" for t in tanks])
        return TankWatch(tanks, sensors, stored[TANK_LEVEL])

    def _load_vehicles(self, stored: Stored) -> VehicleWatch:
        zones = forbidden_zones(self.store.scan("Camera"), self.store.scan("River"))
        return VehicleWatch(
            self.store.scan("HazchemVehicle"),
            zones,
            grid_of(self.store),
            self.speed_limit_kmh,
            stored[VEHICLE_FIX],
        )

    @property
    def tanks(self) -> TankWatch:
        return self.tank_model.get()

    @property
    def vehicles(self) -> VehicleWatch:
        return self.vehicle_model.get()

    # telemetry handlers (called by the live bus from a worker thread)
    def check_tank_level(self, reading: Reading) -> str | None:
        return self.tanks.check(reading)

    def on_tank_levels(self, readings: Sequence[Reading]) -> list[Alarm]:
        return self.tanks.evaluate(readings)

    def describe_tank_level(self, reading: Reading) -> dict[str, Any]:
        return self.tanks.describe(reading)

    def normalise_tank_levels(self, readings: list[Reading]) -> list[Reading]:
        return self.tanks.normalise(readings)

    def tanks_in_alarm(self) -> list[str]:
        """Tanks with a threshold alarm in force, in key order: as stored, else as loaded
        from the sensors (the same in every worker)."""
        watch = self.tanks
        stored = state.latest_of_kind(self.store.engine, TANK_LEVEL)
        held = {k for k, s in stored.items() if s.state.get("alarms") and k in watch.specs}
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
    for model in (app.tank_model, app.vehicle_model):
        model.follow_records(hub.feed)
    hub.live.register(
        TANK_LEVEL,
        app.on_tank_levels,
        app.check_tank_level,
        app.describe_tank_level,
        app.tank_model.follow(TankWatch.refresh),
        app.normalise_tank_levels,
    )
    hub.live.register(
        VEHICLE_FIX,
        app.on_vehicle_fixes,
        app.check_vehicle_fix,
        app.describe_vehicle_fix,
        app.vehicle_model.follow(VehicleWatch.refresh),
    )
    return app
