"""Reference (oracle) for ``GeofenceSet``: the same rules with the exact reference grid."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from .grid import ReferenceGrid


class ReferenceGeofenceSet:
    def __init__(self, utc_offset_hours: float = 8.0) -> None:
        self.offset = utc_offset_hours * 3600.0
        self.zones: dict[Any, tuple[ReferenceGrid, str, list[tuple[int, int]]]] = {}
        self.bindings: dict[Any, list[Any]] = {}
        self.inside: dict[Any, list[Any]] = {}
        self.violating: dict[Any, list[Any]] = {}
        self.last: dict[Any, float] = {}

    def add(self, fid: Any, polygon: Any, kind: str, windows: list[tuple[int, int]]) -> None:
        self.zones[fid] = (ReferenceGrid([polygon]), kind, windows)

    def bind(self, vid: Any, fid: Any) -> None:
        self.bindings.setdefault(vid, [])
        if fid not in self.bindings[vid]:
            self.bindings[vid].append(fid)

    def _active(self, fid: Any, t: float) -> bool:
        windows = self.zones[fid][2]
        minute = math.floor(((t + self.offset) % 86400.0) / 60.0) % 1440
        for s, e in windows:
            if (s <= minute < e) if s <= e else (minute >= s or minute < e):
                return True
        return not windows

    def check(
        self,
        vids: Sequence[Any],
        lons: Sequence[float],
        lats: Sequence[float],
        times: Sequence[float],
    ) -> list[tuple[int, str, Any, Any, str | None]]:
        order = list(self.zones)  # insertion order == slot order
        events: list[tuple[int, str, Any, Any, str | None]] = []
        for i, (v, x, y, t) in enumerate(zip(vids, lons, lats, times, strict=True)):
            now = [f for f in order if self.zones[f][0].locate(x, y) >= 0]
            before = self.inside.get(v, [])
            events += [(i, "exit", v, f, None) for f in before if f not in now]
            events += [(i, "enter", v, f, None) for f in now if f not in before]
            viol: dict[Any, str] = {}
            for f in now:
                if self.zones[f][1] == "forbidden" and self._active(f, t):
                    viol[f] = "in_forbidden_zone"
            for f in self.bindings.get(v, []):
                if self._active(f, t) and f not in now:
                    viol[f] = "off_corridor"
                elif not self._active(f, t) and f in now:
                    viol[f] = "outside_window"
            was = self.violating.get(v, [])
            for f in sorted(viol, key=order.index):
                if f not in was:
                    events.append((i, "violation", v, f, viol[f]))
            self.violating[v] = list(viol)
            self.inside[v] = now
            self.last[v] = t
        return events
