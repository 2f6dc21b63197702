"""Sharp Eyes (雪亮工程): the camera network's rules behind the resolvers.

* **Cells** — each camera is placed in its grid cell by the core's ``GridIndex`` (from its
  position, not from the attribute the video platform sends).
* **Coverage** of a cell: the share of the cell's area lying within the view radius of at
  least one *online* camera (any camera's, wherever it stands: views cross cell borders).
  The view radius is the nominal useful range of the camera's type (``VIEW_RADIUS_M``). Areas
  are measured in a local metric plane (equirectangular at the district's centre). The covered
  area is counted on a ``LATTICE_M`` lattice: every lattice point within a camera's radius
  counts once (the union of the discs), is placed in its cell by the ``GridIndex`` and stands
  for ``LATTICE_M²``; the cell's area is its polygon's. The tests hold it to shapely's exact
  union of discs ∩ cell.
* **Health** — online (在线) / offline (离线) / fault (故障) as the video platform reports, and
  *silent*: online but with a heartbeat more than ``SILENT_AFTER_S`` older than the platform's
  newest heartbeat (the platform's clock, so stale demo data does not look all silent).
* **Video events** (reading kind ``video.event``: the camera's key, ``event`` — one of the
  incident analytics, optional ``confidence``, ``eventId``, ``snapshotUrl``) as the video
  platform's analytics produce them: each is a ``VideoEvent`` record placed at its camera
  (position, cell, street), an ``Alarm``, and a ``ServiceCase`` filed with the citizen-service
  centre (``hub.service("citizen_service")``) under the duty the event is about; the event
  keeps the case's key (the one it was merged into, for a repeat at the same place).
  Identification analytics (faces, plates) are not incidents and are not taken.
* **Outages** — a street's cameras going down together raise one ``camera.outage``
  (:mod:`hub.apps.sharp_eyes.outage`).
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import numpy as np
from shapely.geometry import shape

from core_ext import GridIndex
from hub import state
from hub.apps.sharp_eyes.outage import OutageWatch
from hub.cases import Caller, CaseIntake, case_desk
from hub.live import Alarm, Reading
from hub.state import DeviceState
from hub.state.warm import ReadModel, Stored
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices
    from hub.store import RecordStore

log = logging.getLogger(__name__)

APP_NAME = "sharp_eyes"
VIDEO_EVENT = "video.event"
EVENT_KIND = "VideoEvent"
# Nominal useful range by camera type, metres (what a camera of the type resolves a person at).
VIEW_RADIUS_M: dict[str, float] = {
    "枪机": 60.0,  # fixed bullet
    "球机": 100.0,  # PTZ dome
    "人脸识别卡口": 30.0,
    "车辆卡口": 40.0,
    "高空瞭望": 500.0,  # high lookout
    "电子警察": 50.0,
}
DEFAULT_RADIUS_M = 50.0
LATTICE_M = 10.0
SILENT_AFTER_S = 300.0
STATES = {"在线": "online", "离线": "offline", "故障": "fault"}
# a camera's heartbeat (its key, optionally its status: 在线 / 离线 / 故障; online when none)
CAMERA_HEARTBEAT = "camera.heartbeat"
# analytics → (code, duty category, sub-category name, alarm severity)
EVENT_TYPES: dict[str, tuple[str, str, str, str]] = {
    "占道经营识别": ("street_vending", "C04", "占道经营", "warning"),
    "垃圾暴露识别": ("exposed_garbage", "C01", "暴露垃圾", "warning"),
    "烟火识别": ("smoke_fire", "C05", "火灾险情", "critical"),
    "人群聚集识别": ("crowd", "C10", "人员密集场所隐患", "alarm"),
}
EVENT_BY_CODE = {v[0]: k for k, v in EVENT_TYPES.items()}
IDENTIFICATIONS = ("人脸识别", "车牌识别")
CHINA = timezone(timedelta(hours=8), "CST")
CASE_CHANNEL = "grid"  # found by the city's own eyes, like a grid inspector's report
_CHUNK = 1000
_POINTS_PER_CHUNK = 4_000_000
_OFFSET = 2**28  # lattice indices (|i| < 2**28 steps) packed two to an int64


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _time(value: Any) -> float | None:
    if isinstance(value, str) and value:
        return datetime.fromisoformat(value).timestamp()
    return None


@dataclass(frozen=True)
class Plane:
    """Metres east / north of (lon0, lat0)."""

    lon0: float
    lat0: float

    @property
    def k(self) -> tuple[float, float]:
        return 111_320.0 * math.cos(math.radians(self.lat0)), 110_574.0

    def to_local(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx, ky = self.k
        return (lon - self.lon0) * kx, (lat - self.lat0) * ky

    def to_lonlat(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kx, ky = self.k
        return x / kx + self.lon0, y / ky + self.lat0

    def area_m2(self, geometry: dict[str, Any]) -> float:
        kx, ky = self.k
        return float(shape(geometry).area * kx * ky)  # a linear map scales areas by kx·ky


def covered_m2(
    x: np.ndarray,
    y: np.ndarray,
    r: np.ndarray,
    plane: Plane,
    grid: GridIndex,
    n_cells: int,
    step: float = LATTICE_M,
) -> np.ndarray:
    """Per cell, the area (m²) within radius ``r`` of some point (x, y) (local metres): the
    lattice points (cell centres of a ``step`` grid) in the union of the discs, counted once,
    located in their cells."""
    codes: list[np.ndarray] = []
    for radius in np.unique(r):
        pick = np.flatnonzero(r == radius)
        reach = math.ceil(radius / step) + 1
        d = np.arange(-reach, reach + 1)
        di, dj = (a.ravel() for a in np.meshgrid(d, d, indexing="ij"))
        per = max(1, _POINTS_PER_CHUNK // len(di))
        for start in range(0, len(pick), per):
            sel = pick[start : start + per]
            bi = np.floor(x[sel] / step).astype(np.int64)[:, None] + di[None, :]
            bj = np.floor(y[sel] / step).astype(np.int64)[:, None] + dj[None, :]
            px, py = (bi + 0.5) * step, (bj + 0.5) * step
            inside = (px - x[sel, None]) ** 2 + (py - y[sel, None]) ** 2 <= radius * radius
            codes.append(((bi[inside] + _OFFSET) << 32) | (bj[inside] + _OFFSET))
    out = np.zeros(n_cells)
    if not codes:
        return out
    packed = np.sort(np.concatenate(codes))  # (np.unique hashes: far slower here)
    unique = packed[np.r_[True, packed[1:] != packed[:-1]]]
    i = (unique >> 32) - _OFFSET
    j = (unique & 0xFFFFFFFF) - _OFFSET
    lon, lat = plane.to_lonlat((i + 0.5) * step, (j + 0.5) * step)
    cells = grid.locate_many(lon, lat)
    inside_grid = cells >= 0
    out += np.bincount(cells[inside_grid], minlength=n_cells)[:n_cells] * step * step
    return out


@dataclass(frozen=True)
class CellCoverage:
    cell: str
    street: str | None
    area_m2: float
    cameras: int  # located in the cell
    online: int
    covered_m2: float  # by online cameras, wherever they stand

    @property
    def share(self) -> float:
        return min(1.0, self.covered_m2 / self.area_m2) if self.area_m2 > 0 else 0.0


@dataclass(frozen=True)
class CameraHealth:
    state: str  # online / offline / fault / unknown
    last_heartbeat: datetime | None
    silent_for_s: float | None  # behind the platform's newest heartbeat
    silent: bool


@dataclass
class HealthCounts:
    key: str | None
    total: int = 0
    online: int = 0
    offline: int = 0
    fault: int = 0
    silent: int = 0


class CameraNet:
    """The camera network: positions, cells, view radii, health, coverage (thread-safe)."""

    def __init__(self, cameras: Iterable[Record], cells: Iterable[Record]) -> None:
        rows = [c for c in cameras if c.geometry and c.geometry.get("type") == "Point"]
        self.keys = [c.key for c in rows]
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.attrs = [c.attrs for c in rows]
        points = [c.geometry["coordinates"][:2] for c in rows if c.geometry is not None]
        pos = np.array(points, dtype=np.float64)
        self.lon, self.lat = (pos[:, 0], pos[:, 1]) if len(rows) else (np.zeros(0), np.zeros(0))
        self.radius = np.array(
            [VIEW_RADIUS_M.get(str(a.get("camera_type")), DEFAULT_RADIUS_M) for a in self.attrs]
        )
        self.online = np.array([a.get("status") == "在线" for a in self.attrs], dtype=bool)
        grid_rows = [c for c in cells if c.geometry]
        self.cell_keys = [c.key for c in grid_rows]
        self.cell_street = {c.key: c.attrs.get("street") for c in grid_rows}
        self.cell_geometry = {c.key: c.geometry for c in grid_rows if c.geometry is not None}
        self.grid = GridIndex([{"key": c.key, "geometry": c.geometry} for c in grid_rows])
        located = self.grid.locate_many(self.lon, self.lat) if len(rows) else np.zeros(0, int)
        self.cell = [self.cell_keys[i] if i >= 0 else None for i in located.tolist()]
        self.beats = np.array(
            [_time(a.get("last_heartbeat_at")) or math.nan for a in self.attrs], dtype=float
        )
        self.as_of = float(np.nanmax(self.beats)) if np.isfinite(self.beats).any() else None
        bounds = np.array(self.grid.bounds, dtype=float)
        self.plane = Plane(float(bounds[0] + bounds[2]) / 2, float(bounds[1] + bounds[3]) / 2)
        self._coverage: dict[str, CellCoverage] | None = None
        self.lock = threading.Lock()

    def coverage(self) -> dict[str, CellCoverage]:
        """Every cell's coverage, computed once per process."""
        with self.lock:
            if self._coverage is None:
                on = self.online
                x, y = self.plane.to_local(self.lon[on], self.lat[on])
                covered = covered_m2(
                    x, y, self.radius[on], self.plane, self.grid, len(self.cell_keys)
                )
                count: dict[str | None, int] = {}
                live: dict[str | None, int] = {}
                for cell, o in zip(self.cell, on.tolist(), strict=True):
                    count[cell] = count.get(cell, 0) + 1
                    live[cell] = live.get(cell, 0) + (1 if o else 0)
                self._coverage = {
                    k: CellCoverage(
                        cell=k,
                        street=self.cell_street.get(k),
                        area_m2=self.plane.area_m2(self.cell_geometry[k]),
                        cameras=count.get(k, 0),
                        online=live.get(k, 0),
                        covered_m2=float(covered[i]),
                    )
                    for i, k in enumerate(self.cell_keys)
                }
            return self._coverage

    def health(self, key: str) -> CameraHealth | None:
        i = self.index.get(key)
        if i is None:
            return None
        return health_of(self.attrs[i], self.as_of)

    def view_radius(self, key: str) -> float | None:
        i = self.index.get(key)
        return float(self.radius[i]) if i is not None else None

    def located_cell(self, key: str) -> str | None:
        i = self.index.get(key)
        return self.cell[i] if i is not None else None


def health_of(attrs: dict[str, Any], as_of: float | None) -> CameraHealth:
    state = STATES.get(str(attrs.get("status")), "unknown")
    beat = _time(attrs.get("last_heartbeat_at"))
    behind = max(0.0, as_of - beat) if beat is not None and as_of is not None else None
    return CameraHealth(
        state=state,
        last_heartbeat=_at(beat) if beat is not None else None,
        silent_for_s=behind,
        silent=state == "online" and behind is not None and behind > SILENT_AFTER_S,
    )


def with_heartbeat(attrs: dict[str, Any], kept: DeviceState | None) -> dict[str, Any]:
    """A camera's attributes with the last heartbeat the hub took of it, when that is newer
    than the one the video platform's record says."""
    if kept is None:
        return attrs
    listed = _time(attrs.get("last_heartbeat_at"))
    if listed is not None and listed > kept.at.timestamp():
        return attrs
    status = kept.state.get("status") or attrs.get("status")
    return {**attrs, "status": status, "last_heartbeat_at": kept.at.isoformat()}


def health_counts(
    cameras: Iterable[Record],
    by: Callable[[Record], str | None],
    heartbeats: Mapping[str, DeviceState] | None = None,
) -> tuple[HealthCounts, list[HealthCounts], float | None]:
    """(totals, per group, the platform's newest heartbeat), the heartbeats the hub took
    (``heartbeats``, by camera) over the records'."""
    beat = heartbeats or {}
    rows = [(r, with_heartbeat(r.attrs, beat.get(r.key))) for r in cameras]
    beats = [b for _, a in rows if (b := _time(a.get("last_heartbeat_at"))) is not None]
    as_of = max(beats) if beats else None
    totals = HealthCounts(None)
    groups: dict[str | None, HealthCounts] = {}
    for r, attrs in rows:
        h = health_of(attrs, as_of)
        key = by(r)
        for g in (totals, groups.setdefault(key, HealthCounts(key))):
            g.total += 1
            if h.state in ("online", "offline", "fault"):
                setattr(g, h.state, getattr(g, h.state) + 1)
            g.silent += 1 if h.silent else 0
    ordered = [groups[k] for k in sorted(groups, key=lambda k: (k is None, k or ""))]
    return totals, ordered, as_of


# ---------------------------------------------------------------------------------------------
# Video events and cases


def event_name(reading: Reading) -> str | None:
    raw = reading.extra.get("event")
    if not isinstance(raw, str):
        return None
    return raw if raw in EVENT_TYPES else EVENT_BY_CODE.get(raw, raw)


def event_key(camera: str, code: str, reading: Reading) -> str:
    ident = reading.extra.get("eventId")
    stamp = str(ident) if isinstance(ident, str | int) else f"{reading.at:.3f}"
    return f"{camera}:{stamp}:{code}"[:128]


class SharpEyesServices:
    """Built once per hub process; the network is loaded from the store on first use."""

    def __init__(self, hub: HubServices | None, store: RecordStore) -> None:
        self.hub = hub
        self.store = store
        # the network (positions, cells, coverage) from the records: no readings of its own
        self.net_model = ReadModel(store.engine, (), self._load_net, records=("Camera", "GridCell"))
        # the cameras' states from their heartbeats, per street: outages
        self.outage_model = ReadModel(
            store.engine, (CAMERA_HEARTBEAT,), self._load_outages, records=("Camera", "Street")
        )
        self._seen: set[str] = set()
        self._seen_lock = threading.Lock()

    @property
    def net(self) -> CameraNet:
        return self.net_model.get()

    def _load_net(self, _stored: Stored) -> CameraNet:
        return CameraNet(self.store.scan("Camera"), self.store.scan("GridCell"))

    def _load_outages(self, stored: Stored) -> OutageWatch:
        return OutageWatch(
            self.store.scan("Camera"), self.store.scan("Street"), stored[CAMERA_HEARTBEAT]
        )

    @property
    def outages(self) -> OutageWatch:
        return self.outage_model.get()

    def check_heartbeat(self, reading: Reading) -> str | None:
        if reading.id not in self.net.index:
            return f"no camera {reading.id!r}"
        status = reading.extra.get("status")
        if status is not None and status not in STATES:
            return f"status must be one of {', '.join(STATES)}"
        return None

    def on_heartbeats(self, readings: Sequence[Reading]) -> list[Alarm]:
        # a heartbeat is a state (kept in device_state); a street's cameras going down
        # together is an outage
        return self.outages.evaluate(readings)

    def describe_heartbeat(self, reading: Reading) -> dict[str, Any]:
        return {
            "status": reading.extra.get("status") or "在线",
            "down_since": self.outages.down_since(reading.id),
        }

    def health(self, key: str, kept: DeviceState | None) -> CameraHealth | None:
        """A camera's health: its last heartbeat as the hub stored it, else as the platform
        reported it, against the newest heartbeat of either (call from a thread)."""
        net = self.net
        i = net.index.get(key)
        if i is None:
            return None
        stored = state.newest(self.store.engine, CAMERA_HEARTBEAT)
        beats = [b for b in (net.as_of, stored.timestamp() if stored else None) if b is not None]
        return health_of(with_heartbeat(net.attrs[i], kept), max(beats) if beats else None)

    def check_event(self, reading: Reading) -> str | None:
        net = self.net
        i = net.index.get(reading.id)
        if i is None:
            return f"no camera {reading.id!r}"
        name = event_name(reading)
        if name is None:
            return "event (the analytics that fired, e.g. 烟火识别) is required"
        if name in IDENTIFICATIONS:
            return f"{name} produces identifications, not incidents: not taken here"
        if name not in EVENT_TYPES:
            return f"event {name!r}: one of {', '.join(EVENT_TYPES)}"
        if name not in (net.attrs[i].get("ai_capabilities") or []):
            return f"camera {reading.id} has no {name} analytics"
        conf = reading.extra.get("confidence")
        if conf is not None and (
            isinstance(conf, bool) or not isinstance(conf, int | float) or not 0 <= conf <= 1
        ):
            return "confidence must be a number between 0 and 1"
        snap = reading.extra.get("snapshotUrl")
        if snap is not None and (not isinstance(snap, str) or not snap.startswith("http")):
            return "snapshotUrl must be an http(s) URL"
        key = event_key(reading.id, EVENT_TYPES[name][0], reading)
        with self._seen_lock:
            if key in self._seen or self.store.get(EVENT_KIND, key) is not None:
                return f"event {key} was received already"
        return None

    def on_events(self, readings: Sequence[Reading]) -> list[Alarm]:
        """Telemetry handler (a worker thread): events become records, alarms and cases."""
        net = self.net
        alarms, stored = [], []
        for r in sorted(readings, key=lambda r: r.at):
            name = event_name(r)
            assert name is not None
            code, category, sub, severity = EVENT_TYPES[name]
            key = event_key(r.id, code, r)
            with self._seen_lock:
                if key in self._seen:  # twice in one batch
                    continue
                self._seen.add(key)
            i = net.index[r.id]
            a = net.attrs[i]
            lon, lat = float(net.lon[i]), float(net.lat[i])
            cell = net.cell[i]
            when = _at(r.at)
            place = str(a.get("name") or r.id)
            text = f"{place}（{a.get('street') or ''}）视频分析 {name}：{sub}"
            case = self._file_case(text, lon, lat, category, sub, when)
            alarm = Alarm(
                id=f"video.{code}:{key}",
                kind=f"video.{code}",
                severity=severity,
                subject_type="Camera",
                subject_key=r.id,
                message=text,
                at=when,
                value=r.extra.get("confidence"),
                lon=lon,
                lat=lat,
                grid_cell=cell,
                source=key,
            )
            alarms.append(alarm)
            stored.append(
                Record(
                    kind=EVENT_KIND,
                    key=key,
                    source_system="cameras",  # as the video platform's analytics produced it
                    source_id=str(r.extra.get("eventId") or key),
                    fetched_at=when,
                    attrs={
                        "event_type": code,
                        "event_name": name,
                        "camera": r.id,
                        "camera_name": place,
                        "at": when.isoformat(),
                        "confidence": r.extra.get("confidence"),
                        "snapshot_url": r.extra.get("snapshotUrl"),
                        "street": a.get("street"),
                        "grid_cell": cell,
                        "case": case,
                        "alarm": alarm.id,
                    },
                    geometry={"type": "Point", "coordinates": [lon, lat]},
                    datum="GCJ-02",
                )
            )
        if stored:
            self.store.upsert(stored)
        return alarms

    def _file_case(
        self, text: str, lon: float, lat: float, category: str, sub: str, when: datetime
    ) -> str | None:
        if self.hub is None:
            return None
        try:
            desk = case_desk(self.hub)
        except LookupError:
            return None
        local = when.astimezone(CHINA)
        try:
            report = CaseIntake(
                channel=CASE_CHANNEL,
                title=text[:200],
                description=f"{text}。发现时间 {local:%Y-%m-%d %H:%M:%S}，"
                "由雪亮工程视频分析自动立案。",
                lon=lon,
                lat=lat,
                category=category,
                subcategory=desk.subcategory_code(category, sub),
            )
            filed = desk.file(report, Caller(f"app:{APP_NAME}", ("operator",)))
        except Exception as exc:  # outside the grid, catalog not loaded: the alarm stands
            log.warning("no case for a video event: %s", exc)
            return None
        for update in filed.updates:
            self._publish(update)
        return filed.followed

    def _publish(self, update: dict[str, Any]) -> None:
        if self.hub is None:
            return
        try:
            import anyio.from_thread

            anyio.from_thread.run(self.hub.live.publish_case, update)
        except Exception:  # not in a worker thread of the event loop: no live update
            log.debug("case update not published", exc_info=True)


def services(hub: HubServices) -> SharpEyesServices:
    app = SharpEyesServices(hub, hub.store)
    app.net_model.follow_records(hub.feed)
    app.outage_model.follow_records(hub.feed)
    hub.live.register(VIDEO_EVENT, app.on_events, app.check_event)
    hub.live.register(
        CAMERA_HEARTBEAT,
        app.on_heartbeats,
        app.check_heartbeat,
        app.describe_heartbeat,
        app.outage_model.follow(OutageWatch.refresh),
    )
    return app
