"""Camera outages: a street's cameras going down together (a cut fibre, a power failure) are
one incident, not a hundred camera states.

The heartbeats (``camera.heartbeat``, the platform's state of each camera) say when a camera
*goes* down — online before, offline (离线) or fault (故障) now. When, within
``OUTAGE_WINDOW_S`` of a street's latest heartbeat, at least ``OUTAGE_MIN_CAMERAS`` of its
cameras and ``OUTAGE_SHARE`` of them have gone down (and are still down), the street is in an
outage: one ``camera.outage`` alarm per episode. The episode ends when fewer than half that
many of the cameras that went down are still down. Cameras already down when the hub first
heard of them (the platform's backlog) start no episode.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.live import Alarm, Reading
from hub.state import DeviceState
from schema.record import Record

CAMERA_OUTAGE = "camera.outage"
OUTAGE_WINDOW_S = 900.0
OUTAGE_MIN_CAMERAS = 5
OUTAGE_SHARE = 0.2
ONLINE = "在线"
DOWN = ("离线", "故障")


def _time(value: Any) -> float | None:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class StreetCameras:
    name: str
    key: str  # the Street record's key, the name when the hub has no such record
    cameras: int

    @property
    def threshold(self) -> int:
        return max(OUTAGE_MIN_CAMERAS, math.ceil(OUTAGE_SHARE * self.cameras))


class OutageWatch:
    """Cameras' states and when they went down, per street (thread-safe)."""

    def __init__(
        self,
        cameras: Iterable[Record],
        streets: Iterable[Record],
        stored: dict[str, DeviceState] | None = None,
    ) -> None:
        street_key = {str(s.attrs.get("name")): s.key for s in streets if s.attrs.get("name")}
        self.street: dict[str, str] = {}
        self.place: dict[str, tuple[float, float]] = {}
        self.status: dict[str, str] = {}
        self.at: dict[str, float] = {}
        counts: dict[str, int] = {}
        for c in cameras:
            name = c.attrs.get("street")
            if not name:
                continue
            self.street[c.key] = str(name)
            counts[str(name)] = counts.get(str(name), 0) + 1
            self.status[c.key] = str(c.attrs.get("status") or ONLINE)
            self.at[c.key] = _time(c.attrs.get("last_heartbeat_at")) or 0.0
            if c.geometry and c.geometry.get("type") == "Point":
                lon, lat = c.geometry["coordinates"][:2]
                self.place[c.key] = (float(lon), float(lat))
        self.streets = {n: StreetCameras(n, street_key.get(n, n), k) for n, k in counts.items()}
        self.members: dict[str, list[str]] = {}
        for key, name in self.street.items():
            self.members.setdefault(name, []).append(key)
        self.went_down: dict[str, float] = {}  # camera: when it went down (while down)
        self.outages: dict[str, float] = {}  # street: since when
        self.lock = threading.Lock()
        self.refresh(stored or {})

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the heartbeats other workers stored (or stored before a restart): their
        states and when they went down; no alarm (the worker that took them raised it)."""
        with self.lock:
            touched = set()
            for key, kept in stored.items():
                if key not in self.street or kept.at.timestamp() <= self.at.get(key, 0.0):
                    continue
                self.status[key] = str(kept.state.get("status") or ONLINE)
                self.at[key] = kept.at.timestamp()
                since = kept.state.get("down_since")
                if isinstance(since, int | float):
                    self.went_down[key] = float(since)
                else:
                    self.went_down.pop(key, None)
                touched.add(self.street[key])
            self._judge(touched, raise_alarms=False)

    def evaluate(self, readings: Sequence[Reading]) -> list[Alarm]:
        with self.lock:
            touched = set()
            for r in sorted(readings, key=lambda r: r.at):
                street = self.street.get(r.id)
                if street is None or r.at < self.at.get(r.id, 0.0):
                    continue
                status = str(r.extra.get("status") or ONLINE)
                before = self.status.get(r.id, ONLINE)
                self.status[r.id], self.at[r.id] = status, r.at
                if status in DOWN and before not in DOWN:
                    self.went_down[r.id] = r.at
                elif status not in DOWN:
                    self.went_down.pop(r.id, None)
                touched.add(street)
            return self._judge(touched)

    def down_since(self, camera: str) -> float | None:
        with self.lock:
            return self.went_down.get(camera)

    def _judge(self, streets: set[str], raise_alarms: bool = True) -> list[Alarm]:
        alarms = []
        for name in sorted(streets):
            street = self.streets[name]
            members = self.members[name]
            down = {k: self.went_down[k] for k in members if k in self.went_down}
            latest = max((self.at[k] for k in members), default=0.0)
            recent = [k for k, t in down.items() if t >= latest - OUTAGE_WINDOW_S]
            if name in self.outages:
                if len(down) < street.threshold / 2:
                    del self.outages[name]  # the episode is over
                continue
            if len(recent) >= street.threshold:
                self.outages[name] = latest
                if raise_alarms:
                    alarms.append(self._alarm(street, recent, latest))
        return alarms

    def _alarm(self, street: StreetCameras, down: list[str], at: float) -> Alarm:
        points = [self.place[k] for k in down if k in self.place]
        lon = sum(p[0] for p in points) / len(points) if points else None
        lat = sum(p[1] for p in points) / len(points) if points else None
        return Alarm(
            id=f"{CAMERA_OUTAGE}:{street.key}:{at:.3f}",
            kind=CAMERA_OUTAGE,
            severity="alarm",
            subject_type="Street",
            subject_key=street.key,
            message=f"{street.name} 视频监控大面积离线：{len(down)}/{street.cameras} 路摄像机 "
            f"{OUTAGE_WINDOW_S / 60:.0f} 分钟内掉线",
            at=datetime.fromtimestamp(at, UTC),
            value=float(len(down)),
            lon=round(lon, 6) if lon is not None else None,
            lat=round(lat, 6) if lat is not None else None,
        )

    def in_outage(self) -> list[str]:
        with self.lock:
            return sorted(self.outages)
