"""Muck-truck supervision (渣土车): the business rules behind the resolvers.

* **Permits** — each truck's transport permit (``transport_permit``) names the construction
  site it serves and the dumping site (消纳场) it may unload at. The data has no road network,
  so the permitted **route** is the straight line from the site to the dump, widened to a
  **corridor** of ±``CORRIDOR_HALF_WIDTH_M``, joined with both sites' footprints. The permit's
  **time windows** are the dump's opening hours (``open_hours``: ``20:00-06:00``,
  ``22:00-05:00``; ``全天`` means no restriction).
* **Fixes** (reading kind ``muck.fix``: lon, lat, speedKmh) go through the core's
  ``GeofenceSet``, one corridor per truck bound to it, with the permit's windows: in a window
  a truck off its corridor is **off route** (``muck.off_route``); outside every window a truck
  on its corridor is out at the **wrong hours** (``muck.wrong_hours``). A truck standing in
  its own site or dump is at work, not on the road: those fixes are not checked against the
  corridor, and they end any episode in progress (the core forgets the truck's state).
* **Unregistered dumping** (``muck.unregistered_dumping``): a *loaded* truck (from a fix in
  its construction site until it stands in an open dumping site) that stands still — within
  ``STOP_RADIUS_M`` for ``STOP_MINUTES`` — anywhere but a construction site or an open
  dumping site. One alarm per stop; the truck counts as empty afterwards.

Every violation is an ``Alarm`` (store and ``alarms`` subscription), a ``MuckViolation`` record
linking the alarm, the truck, its permit and the service case, and a ``ServiceCase`` filed
through the citizen-service centre (``hub.service("citizen_service")``), when that app runs.
The state lives in each hub process (built lazily from the store on first use).
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import LineString, mapping, shape
from shapely.geometry.base import BaseGeometry

from core_ext import GeofenceSet, GridIndex, TimeWindow
from hub.cases import Caller, CaseIntake, case_desk
from hub.live import Alarm, Reading
from hub.state import DeviceState
from hub.state.warm import ReadModel, Stored, grid_of, newer
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices
    from hub.store import RecordStore

log = logging.getLogger(__name__)

APP_NAME = "muck_trucks"
MUCK_FIX = "muck.fix"
VIOLATION_KIND = "MuckViolation"
OFF_ROUTE = "muck.off_route"
WRONG_HOURS = "muck.wrong_hours"
DUMPING = "muck.unregistered_dumping"
VIOLATION_KINDS = (OFF_ROUTE, WRONG_HOURS, DUMPING)
CORRIDOR_HALF_WIDTH_M = 300.0
SITE_MARGIN_M = 30.0  # GPS error at a site's gate
STOP_RADIUS_M = 50.0
STOP_MINUTES = 5.0
STANDING_KMH = 5.0  # slower than this, a truck stands
TRAJECTORY_FIXES = 256
OPEN_DUMP = "开放"
ALL_DAY = "全天"
# the city's duty catalog: where the centre files each violation
CASE_CATEGORY = {OFF_ROUTE: "C03", WRONG_HOURS: "C03", DUMPING: "C11"}
CASE_SUBCATEGORY = {DUMPING: "固体废物倾倒"}
CASE_CHANNEL = "grid"  # found by the city's own monitoring, like a grid inspector's report
CHINA = timezone(timedelta(hours=8), "CST")  # the windows are Beijing time, as the core's
_HOURS = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def parse_windows(open_hours: Any) -> tuple[TimeWindow, ...]:
    """``"20:00-06:00"`` → one window wrapping past midnight; ``全天`` or nothing → none
    (always allowed); several may be joined by ``,``."""
    text = str(open_hours or "").strip()
    if not text or text == ALL_DAY:
        return ()
    out = []
    for part in text.replace("，", ",").split(","):
        m = _HOURS.match(part.strip())
        if m is None:
            raise ValueError(f"open hours {part!r}: HH:MM-HH:MM or 全天")
        h0, m0, h1, m1 = (int(g) for g in m.groups())
        if not (0 <= h0 <= 24 and 0 <= h1 <= 24 and m0 < 60 and m1 < 60):
            raise ValueError(f"open hours {part!r}: not a time of day")
        out.append(TimeWindow(h0 * 60 + m0, h1 * 60 + m1))
    return tuple(out)


def window_text(w: TimeWindow) -> str:
    (h0, m0), (h1, m1) = divmod(w.start_minute, 60), divmod(w.end_minute, 60)
    return f"{h0:02d}:{m0:02d}-{h1:02d}:{m1:02d}"


class LocalPlane:
    """Metres east / north of lon0/lat0 (an equirectangular plane: good to well under 1 %
    over the district's span)."""

    def __init__(self, lon0: float, lat0: float) -> None:
        self.lon0, self.lat0 = lon0, lat0
        self.kx = 111_320.0 * math.cos(math.radians(lat0))
        self.ky = 110_574.0

    def to_local(self, geom: BaseGeometry) -> BaseGeometry:
        k = np.array([self.kx, self.ky])
        o = np.array([self.lon0, self.lat0])
        return shapely.transform(geom, lambda xy: (xy - o) * k)

    def to_lonlat(self, geom: BaseGeometry) -> BaseGeometry:
        k = np.array([self.kx, self.ky])
        o = np.array([self.lon0, self.lat0])
        return shapely.transform(geom, lambda xy: xy / k + o)

    def metres(self, lon0: float, lat0: float, lon1: float, lat1: float) -> float:
        return math.hypot((lon1 - lon0) * self.kx, (lat1 - lat0) * self.ky)


# ---------------------------------------------------------------------------------------------
# Permits and corridors


@dataclass(frozen=True)
class MuckPermit:
    """A truck's transport permit: where from, where to, when, and along which corridor."""

    number: str | None
    truck: str
    site: str | None
    dump: str | None
    windows: tuple[TimeWindow, ...]
    corridor: dict[str, Any] | None  # GeoJSON, lon/lat
    route: dict[str, Any] | None  # the straight line site → dump


@dataclass(frozen=True)
class Place:
    """A construction or dumping site as the checks see it."""

    key: str
    kind: str  # ConstructionSite / DumpingSite
    name: str
    open: bool  # a dump accepting muck (status 开放); construction sites: always
    centre: tuple[float, float]
    footprint: BaseGeometry  # lon/lat


def _centre(record: Record, geom: BaseGeometry | None) -> tuple[float, float] | None:
    c = record.attrs.get("centre")
    if isinstance(c, list) and len(c) == 2:
        return float(c[0]), float(c[1])
    if geom is not None and not geom.is_empty:
        p = geom.centroid
        return float(p.x), float(p.y)
    return None


def places(sites: Iterable[Record], dumps: Iterable[Record]) -> list[Place]:
    out = []
    for kind, rows in (("ConstructionSite", sites), ("DumpingSite", dumps)):
        for r in rows:
            if not r.geometry:
                continue
            geom = shape(r.geometry)
            centre = _centre(r, geom)
            if centre is None:
                continue
            out.append(
                Place(
                    key=r.key,
                    kind=kind,
                    name=str(r.attrs.get("name") or r.key),
                    open=kind == "ConstructionSite" or r.attrs.get("status") == OPEN_DUMP,
                    centre=centre,
                    footprint=geom,
                )
            )
    return out


def corridor_of(
    site: Place | None, dump: Place | None, plane: LocalPlane, half_width_m: float
) -> tuple[BaseGeometry, BaseGeometry] | None:
    """(corridor, route) in lon/lat: the straight route widened, joined with both footprints."""
    if site is None or dump is None:
        return None
    route = LineString([site.centre, dump.centre])
    local = plane.to_local(route).buffer(half_width_m, quad_segs=4)
    ends = [plane.to_local(p.footprint).buffer(SITE_MARGIN_M, quad_segs=2) for p in (site, dump)]
    zone = shapely.union_all([local, *ends])
    zone = plane.to_lonlat(shapely.make_valid(zone))
    zone = shapely.set_precision(zone, 1e-6)
    return zone, route


# ---------------------------------------------------------------------------------------------
# Trucks


@dataclass(frozen=True)
class TruckFix:
    at: datetime
    lon: float
    lat: float
    speed_kmh: float | None


@dataclass
class Stop:
    """The stationary run a truck is in: where and since when, and whether it was reported."""

    t0: float
    lon: float
    lat: float
    reported: bool = False


@dataclass
class Violation:
    """A violation found by a batch, before it is filed."""

    kind: str
    truck: int
    at: float
    lon: float
    lat: float
    speed_kmh: float | None
    place: str | None = None  # the dumping site or stop place concerned


@dataclass
class TruckState:
    fixes: deque[tuple[float, float, float, float]] = field(
        default_factory=lambda: deque(maxlen=TRAJECTORY_FIXES)
    )
    last_time: float = -math.inf
    loaded: bool = False
    stop: Stop | None = None
    checked: bool = False  # the last fix went through the corridor check (not at work)


class TruckWatch:
    """Live truck positions, corridor checks and stops (thread-safe)."""

    def __init__(
        self,
        trucks: Iterable[Record],
        sites: Iterable[Record],
        dumps: Iterable[Record],
        grid: GridIndex | None = None,
        half_width_m: float = CORRIDOR_HALF_WIDTH_M,
        stored: dict[str, DeviceState] | None = None,
    ) -> None:
        records = list(trucks)
        dumps = list(dumps)
        hours = {d.key: d.attrs.get("open_hours") for d in dumps}
        self.keys = [r.key for r in records]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.plates = [str(r.attrs.get("plate") or r.key) for r in records]
        self.places = places(sites, dumps)
        self.place_of = {p.key: p for p in self.places}
        lons = [p.centre[0] for p in self.places] or [117.7]
        lats = [p.centre[1] for p in self.places] or [39.0]
        self.plane = LocalPlane(float(np.mean(lons)), float(np.mean(lats)))
        # the registered places, widened by the gate margin; one index answers "where is it"
        widened = [
            self.plane.to_lonlat(self.plane.to_local(p.footprint).buffer(SITE_MARGIN_M))
            for p in self.places
        ]
        self.place_index = (
            GridIndex(
                [
                    {"key": p.key, "geometry": mapping(w)}
                    for p, w in zip(self.places, widened, strict=True)
                ]
            )
            if self.places
            else None
        )
        self.grid = grid
        self.fences = GeofenceSet()
        self.permits: list[MuckPermit] = []
        self.havens: list[tuple[int, int]] = []  # (site place index, dump place index) or -1
        place_no = {p.key: i for i, p in enumerate(self.places)}
        for i, r in enumerate(records):
            a = r.attrs
            site, dump = a.get("permitted_site"), a.get("permitted_dump")
            dump_place = self.place_of.get(str(dump))
            try:
                windows = parse_windows(hours.get(str(dump)))
            except ValueError:  # unreadable hours: the corridor applies at every hour
                windows = ()
            made = corridor_of(self.place_of.get(str(site)), dump_place, self.plane, half_width_m)
            corridor = route = None
            if made is not None:
                zone, line = made
                corridor, route = dict(mapping(zone)), dict(mapping(line))
                self.fences.add_corridor(i, corridor, windows, vehicles=[i])
            self.permits.append(
                MuckPermit(a.get("transport_permit"), r.key, site, dump, windows, corridor, route)
            )
            self.havens.append((place_no.get(str(site), -1), place_no.get(str(dump), -1)))
        self.widened = widened  # by place index, for a truck's own site and dump
        for w in widened:
            shapely.prepare(w)
        self.state = [TruckState() for _ in records]
        self.lock = threading.Lock()
        self._seed(records)
        self.refresh(stored or {})  # the episodes the hub stored win over the records' fixes

    def _seed(self, records: list[Record]) -> None:
        """The positions the GPS platform last reported (no checks on them)."""
        for st, r in zip(self.state, records, strict=True):
            point, when = r.point(), r.attrs.get("last_gps_at")
            if point is None or not isinstance(when, str):
                continue
            speed = r.attrs.get("speed_kmh")
            t = datetime.fromisoformat(when).timestamp()
            st.fixes.append(
                (t, *point, float(speed) if isinstance(speed, int | float) else math.nan)
            )
            st.last_time = t

    def describe(self, reading: Reading) -> dict[str, Any]:
        """The truck's episode after its latest fix (kept with it in device_state): loaded or
        not, the stop it is in, whether the fix was checked against its corridor and the rule
        it breaks there."""
        i = self.index[reading.id]
        broken = self.in_violation(reading.id)
        with self.lock:
            st = self.state[i]
            stop = None if st.stop is None else asdict(st.stop)
            return {"loaded": st.loaded, "checked": st.checked, "stop": stop, "violation": broken}

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the fixes and episodes stored (by other workers, or before a restart): the
        corridors learn where the trucks are (what they would raise is another's), the stops
        and loads go on; no alarm is raised here."""
        with self.lock:
            for key, kept in newer(stored, self._last_time).items():
                i, point = self.index.get(key), kept.point
                if i is None or point is None:
                    continue
                st, t = self.state[i], kept.at.timestamp()
                speed = kept.state.get("speedKmh")
                st.fixes.append(
                    (t, *point, float(speed) if isinstance(speed, int | float) else math.nan)
                )
                st.last_time = t
                st.loaded = bool(kept.state.get("loaded"))
                stop = kept.state.get("stop")
                st.stop = Stop(**stop) if isinstance(stop, dict) else None
                st.checked = bool(kept.state.get("checked"))
                if st.checked and self.permits[i].corridor is not None:
                    self.fences.check(
                        np.array([i]), np.array([point[0]]), np.array([point[1]]), np.array([t])
                    )
                else:  # at work in its own site or dump: a fresh start, as evaluate does
                    with contextlib.suppress(KeyError):
                        self.fences.forget(i)

    def _last_time(self, key: str) -> float | None:
        i = self.index.get(key)
        return self.state[i].last_time if i is not None else None

    def violation_of(self, kept: DeviceState) -> str | None:
        """The corridor rule a stored episode says the truck breaks."""
        broken = kept.state.get("violation")
        return str(broken) if isinstance(broken, str) else None

    # -- telemetry -------------------------------------------------------------------------

    def check(self, reading: Reading) -> str | None:
        i = self.index.get(reading.id)
        if i is None:
            return f"no muck truck {reading.id!r}"
        if reading.lon is None or reading.lat is None:
            return "lon and lat are required for a muck-truck fix"
        if reading.speed_kmh is not None and reading.speed_kmh < 0:
            return "speedKmh must not be negative"
        if reading.at < self.state[i].last_time:
            return f"older than muck truck {reading.id}'s last fix"
        return None

    def evaluate(self, readings: Sequence[Reading]) -> list[Violation]:
        n = len(readings)
        if not n:
            return []
        order = sorted(range(n), key=lambda j: readings[j].at)  # per truck, in time order
        idx = np.array([self.index[readings[j].id] for j in order], dtype=np.int64)
        rows = np.array(
            [
                (
                    readings[j].at,
                    readings[j].lon,
                    readings[j].lat,
                    math.nan if readings[j].speed_kmh is None else readings[j].speed_kmh,
                )
                for j in order
            ],
            dtype=np.float64,
        )
        found: list[Violation] = []
        with self.lock:
            fresh = rows[:, 0] >= np.array([self.state[i].last_time for i in idx])
            idx, rows = idx[fresh], rows[fresh]  # a concurrent batch may have moved on
            if not len(idx):
                return found
            at_place = (
                self.place_index.locate_many(rows[:, 1], rows[:, 2])
                if self.place_index is not None
                else np.full(len(idx), -1, dtype=np.int32)
            )
            at_place = self._own_places(idx, rows, at_place)
            found.extend(self._corridors(idx, rows, at_place))
            found.extend(self._stops(idx, rows, at_place))
            for i, row in zip(idx.tolist(), rows.tolist(), strict=True):
                st = self.state[i]
                st.fixes.append(tuple(row))
                st.last_time = row[0]
        found.sort(key=lambda v: (v.at, v.truck, v.kind))
        return found

    def _in_haven(self, i: int, place: int) -> bool:
        return place >= 0 and place in self.havens[i]

    def _own_places(self, idx: np.ndarray, rows: np.ndarray, at_place: np.ndarray) -> np.ndarray:
        """A truck in its own site or dump is there even where the index names another place
        (registered sites overlap, one may lie inside another: the index answers the first)."""
        out = at_place.copy()
        for j, (i, p) in enumerate(zip(idx.tolist(), at_place.tolist(), strict=True)):
            if self._in_haven(i, p):
                continue
            for h in self.havens[i]:
                if h >= 0 and shapely.contains_xy(self.widened[h], rows[j, 1], rows[j, 2]):
                    out[j] = h
                    break
        return out

    def _corridors(
        self, idx: np.ndarray, rows: np.ndarray, at_place: np.ndarray
    ) -> list[Violation]:
        """Corridor checks in rounds: a fix in the truck's own site or dump is not checked
        and resets the truck's state in the core, so the fixes of each round lie between two
        such fixes of their truck."""
        haven = np.array(
            [self._in_haven(int(i), int(p)) for i, p in zip(idx, at_place, strict=True)],
            dtype=bool,
        )
        # round of each fix: how many haven fixes of its truck come before it
        rounds = np.zeros(len(idx), dtype=np.int64)
        seen: dict[int, int] = {}
        for j, i in enumerate(idx.tolist()):
            rounds[j] = seen.get(i, 0)
            if haven[j]:
                seen[i] = rounds[j] + 1
        out: list[Violation] = []
        for r in range(int(rounds.max()) + 1 if len(rounds) else 0):
            pick = np.flatnonzero((rounds == r) & ~haven)
            if len(pick):
                events = self.fences.check(idx[pick], rows[pick, 1], rows[pick, 2], rows[pick, 0])
                for e in events:
                    if e.kind == "violation":
                        kind = OFF_ROUTE if e.reason == "off_corridor" else WRONG_HOURS
                        out.append(self._violation(kind, int(e.vehicle_id), rows[pick[e.index]]))
            for i in {int(idx[j]) for j in np.flatnonzero((rounds == r) & haven)}:
                # at work in its own site or dump: a fresh start (KeyError: never seen yet)
                with contextlib.suppress(KeyError):
                    self.fences.forget(i)
        last: dict[int, bool] = {}
        for i, h in zip(idx.tolist(), haven.tolist(), strict=True):
            last[i] = h
        for i, h in last.items():
            self.state[i].checked = not h
        return out

    def _stops(self, idx: np.ndarray, rows: np.ndarray, at_place: np.ndarray) -> list[Violation]:
        out: list[Violation] = []
        for i, row, p in zip(idx.tolist(), rows.tolist(), at_place.tolist(), strict=True):
            st = self.state[i]
            t, lon, lat, speed = row
            place = self.places[p] if p >= 0 else None
            if place is not None and place.key == self.permits[i].site:
                st.loaded = True
            standing = math.isnan(speed) or speed < STANDING_KMH
            stop = st.stop
            if (
                not standing
                or stop is None
                or self.plane.metres(stop.lon, stop.lat, lon, lat) > STOP_RADIUS_M
            ):
                st.stop = Stop(t, lon, lat) if standing else None
                continue
            if stop.reported or t - stop.t0 < STOP_MINUTES * 60:
                continue
            stop.reported = True
            where = self._place_at(stop.lon, stop.lat)
            if where is not None and where.open:
                if where.kind == "DumpingSite":
                    st.loaded = False  # unloaded where it may
                continue
            if st.loaded:
                st.loaded = False  # it dumped here
                v = self._violation(
                    DUMPING, i, np.array([stop.t0 + STOP_MINUTES * 60, stop.lon, stop.lat, speed])
                )
                v.place = where.key if where is not None else None
                out.append(v)
        return out

    def _place_at(self, lon: float, lat: float) -> Place | None:
        if self.place_index is None:
            return None
        j = int(self.place_index.locate(lon, lat))
        return self.places[j] if j >= 0 else None

    def _violation(self, kind: str, vi: int, row: np.ndarray) -> Violation:
        t, lon, lat, speed = (float(x) for x in row)
        return Violation(kind, vi, t, lon, lat, None if math.isnan(speed) else speed)

    def cell(self, lon: float, lat: float) -> str | None:
        return self.grid.locate_key(lon, lat) if self.grid is not None else None

    # -- what the resolvers read -----------------------------------------------------------

    def trajectory(self, key: str, limit: int = TRAJECTORY_FIXES) -> list[TruckFix]:
        i = self.index.get(key)
        if i is None or limit <= 0:
            return []
        with self.lock:
            rows = list(self.state[i].fixes)[-limit:]
        return [TruckFix(_at(t), lon, lat, None if math.isnan(s) else s) for t, lon, lat, s in rows]

    def position(self, key: str) -> TruckFix | None:
        fixes = self.trajectory(key, 1)
        return fixes[0] if fixes else None

    def in_violation(self, key: str) -> str | None:
        """The corridor rule the truck breaks at its last fix: off route or wrong hours."""
        i = self.index.get(key)
        if i is None or self.permits[i].corridor is None:
            return None
        with self.lock:
            st = self.state[i]
            if not st.checked or not st.fixes:
                return None
            t = st.fixes[-1][0]
            inside = i in self.fences.state(i)
        windows = self.permits[i].windows
        minute = int((t // 60 + 8 * 60) % (24 * 60))  # the core's local day (UTC+8)
        active = not windows or any(
            (w.start_minute <= minute < w.end_minute)
            if w.start_minute <= w.end_minute
            else (minute >= w.start_minute or minute < w.end_minute)
            for w in windows
        )
        if active and not inside:
            return OFF_ROUTE
        if not active and inside:
            return WRONG_HOURS
        return None

    def loaded(self, key: str) -> bool | None:
        i = self.index.get(key)
        return self.state[i].loaded if i is not None else None

    def permit(self, key: str) -> MuckPermit | None:
        i = self.index.get(key)
        return self.permits[i] if i is not None else None


# ---------------------------------------------------------------------------------------------
# The app's services


class MuckServices:
    """Built once per hub process; the live state is loaded from the store on first use."""

    def __init__(self, hub: HubServices | None, store: RecordStore) -> None:
        self.hub = hub
        self.store = store
        self.truck_model = ReadModel(
            store.engine,
            (MUCK_FIX,),
            self._load_trucks,
            records=("MuckTruck", "ConstructionSite", "DumpingSite", "GridCell"),
        )
        self.publish: Callable[[dict[str, Any]], None] = self._publish_case

    def _load_trucks(self, stored: Stored) -> TruckWatch:
        return TruckWatch(
            self.store.scan("MuckTruck"),
            self.store.scan("ConstructionSite"),
            self.store.scan("DumpingSite"),
            grid_of(self.store),
            stored=stored[MUCK_FIX],
        )

    @property
    def trucks(self) -> TruckWatch:
        return self.truck_model.get()

    def check_fix(self, reading: Reading) -> str | None:
        return self.trucks.check(reading)

    def describe_fix(self, reading: Reading) -> dict[str, Any]:
        return self.trucks.describe(reading)

    def on_fixes(self, readings: Sequence[Reading]) -> list[Alarm]:
        """Telemetry handler (a worker thread): violations become alarms, records, cases."""
        watch = self.trucks
        found = watch.evaluate(readings)
        return [self._report(watch, v) for v in found]

    def _report(self, watch: TruckWatch, v: Violation) -> Alarm:
        key = watch.keys[v.truck]
        plate = watch.plates[v.truck]
        permit = watch.permits[v.truck]
        cell = watch.cell(v.lon, v.lat)
        when = _at(v.at)
        local = datetime.fromtimestamp(v.at, UTC).astimezone(CHINA)
        hours = "、".join(window_text(w) for w in permit.windows) or ALL_DAY
        place = watch.place_of.get(v.place or "")
        text = {
            OFF_ROUTE: f"{plate} 偏离核准运输线路（{permit.site} → {permit.dump}，"
            f"核准时段 {hours}）",
            WRONG_HOURS: f"{plate} 非核准时段 {local:%H:%M} 在运输线路上行驶（核准时段 {hours}）",
            DUMPING: f"{plate} 重车在非登记消纳地点停留 {STOP_MINUTES:.0f} 分钟以上，疑似偷倒"
            + (f"（{place.name} 未开放）" if place is not None else ""),
        }[v.kind]
        severity = "alarm" if v.kind == DUMPING else "warning"
        alarm_id = f"{v.kind}:{key}:{v.at:.3f}"
        case = self._file_case(v, text, local)
        alarm = Alarm(
            id=alarm_id,
            kind=v.kind,
            severity=severity,
            subject_type="MuckTruck",
            subject_key=key,
            message=text,
            at=when,
            value=v.speed_kmh,
            lon=v.lon,
            lat=v.lat,
            grid_cell=cell,
            source=permit.number or "telemetry",
        )
        record = Record(
            kind=VIOLATION_KIND,
            key=alarm_id,
            source_system="cityhub",
            source_id=alarm_id,
            fetched_at=when,
            attrs={
                "kind": v.kind,
                "truck": key,
                "plate": plate,
                "permit": permit.number,
                "permitted_site": permit.site,
                "permitted_dump": permit.dump,
                "windows": [window_text(w) for w in permit.windows],
                "place": v.place,
                "at": when.isoformat(),
                "speed_kmh": v.speed_kmh,
                "grid_cell": cell,
                "message": text,
                "alarm": alarm_id,
                "case": case,
            },
            geometry={"type": "Point", "coordinates": [v.lon, v.lat]},
            datum="GCJ-02",
        )
        try:
            self.store.upsert([record])
        except Exception:  # the alarm still goes out; the link is what is lost
            log.exception("muck violation %s not stored", alarm_id)
        return alarm

    def _file_case(self, v: Violation, text: str, local: datetime) -> str | None:
        """File the violation with the citizen-service centre; the case's key (the one it was
        merged into, for a repeat), or None when the centre is absent or refuses."""
        if self.hub is None:
            return None
        try:
            desk = case_desk(self.hub)
        except LookupError:
            return None
        category = CASE_CATEGORY[v.kind]
        try:
            report = CaseIntake(
                channel=CASE_CHANNEL,
                title=text.split("（")[0][:200],
                description=f"{text}。发现时间 {local:%Y-%m-%d %H:%M:%S}，"
                "由渣土车监管系统自动立案。",
                lon=v.lon,
                lat=v.lat,
                category=category,
                subcategory=desk.subcategory_code(category, CASE_SUBCATEGORY.get(v.kind)),
                door=APP_NAME,
            )
            filed = desk.file(report, Caller(f"app:{APP_NAME}", ("operator",)))
        except Exception as exc:  # outside the grid, catalog not loaded: the alarm stands
            log.warning("no case for %s: %s", v.kind, exc)
            return None
        for update in filed.updates:
            self.publish(update)
        return filed.followed

    def _publish_case(self, update: dict[str, Any]) -> None:
        """Case updates to subscribers, from the telemetry worker thread."""
        if self.hub is None:
            return
        try:
            import anyio.from_thread

            anyio.from_thread.run(self.hub.live.publish_case, update)
        except Exception:  # not in a worker thread of the event loop: no live update
            log.debug("case update not published", exc_info=True)


def services(hub: HubServices) -> MuckServices:
    app = MuckServices(hub, hub.store)
    app.truck_model.follow_records(hub.feed)
    hub.live.register(
        MUCK_FIX,
        app.on_fixes,
        app.check_fix,
        app.describe_fix,
        app.truck_model.follow(TruckWatch.refresh),
    )
    return app
