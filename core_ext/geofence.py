"""Geofences: has this truck entered a forbidden zone, or left its corridor?

A :class:`GeofenceSet` holds zones (polygons, same formats as :class:`~core_ext.GridIndex`)
with rules:

* **forbidden zone** — any vehicle inside while the zone is active violates it
  (reason ``"in_forbidden_zone"``);
* **allowed corridor** with time windows, for the vehicles bound to it (muck trucks): during a
  window a bound vehicle must be inside (``"off_corridor"`` otherwise); outside every window
  it must not be inside (``"outside_window"``).

Windows are ``(start_minute, end_minute)`` of the local day, half-open, wrapping past midnight
when start > end (``(22 * 60, 6 * 60)`` is 22:00-06:00); no windows means always active.
Times are epoch seconds; the local day uses ``utc_offset_hours`` (8 for China).

:meth:`GeofenceSet.check` takes a batch of fixes (vehicle id, lon, lat, time) in time order
per vehicle and returns :class:`GeofenceEvent` s — ``exit`` and ``enter`` on transitions, and
``violation`` when one begins — remembering each vehicle's last state between calls.
Containment follows GridIndex's on-edge rule (a point on an edge counts as inside when the
zone lies to its east, or north on a horizontal edge).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from . import _core
from ._arrays import as_f64
from ._polygons import flatten

ZoneKind = Literal["forbidden", "corridor"]
EventKind = Literal["enter", "exit", "violation"]
Id = int | str


@dataclass(frozen=True)
class TimeWindow:
    """``[start, end)`` minutes of the local day; wraps past midnight when start > end."""

    start_minute: int
    end_minute: int

    @staticmethod
    def hours(start: float, end: float) -> TimeWindow:
        return TimeWindow(round(start * 60), round(end * 60))


@dataclass(frozen=True)
class GeofenceRule:
    """A zone's rule: its kind and active windows (empty: always)."""

    kind: ZoneKind
    windows: tuple[TimeWindow, ...] = ()


@dataclass(frozen=True)
class GeofenceEvent:
    """One event of a check: the fix's ``index`` in the batch, its time and position."""

    kind: EventKind
    vehicle_id: Id
    fence_id: Id
    reason: str | None
    index: int
    time: float
    lon: float
    lat: float


def _windows(windows: Iterable[TimeWindow | tuple[int, int]] | None) -> list[tuple[int, int]]:
    out = []
    for w in windows or ():
        if isinstance(w, TimeWindow):
            out.append((w.start_minute, w.end_minute))
        else:
            start, end = w
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
                raise TypeError("window minutes must be ints")
            out.append((start, end))
    return out


def _ids_arg(ids: Any) -> Any:
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind in "iu":
            return np.ascontiguousarray(ids, dtype=np.int64)
        if ids.dtype.kind in "fcb":
            raise TypeError(f"vehicle ids must be ints or strs, got dtype {ids.dtype}")
        return ids.tolist()
    return ids


class GeofenceSet(_core.GeofenceSet):
    """Zones with rules; batch checks of vehicle fixes producing enter/exit/violation events."""

    def __init__(self, utc_offset_hours: float = 8.0) -> None:
        self.rules: dict[Id, GeofenceRule] = {}

    def _add(self, fence_id: Id, polygon: Any, rule: GeofenceRule) -> None:
        xy, offsets, _, _ = flatten([polygon])
        self._add_zone(fence_id, xy, offsets, rule.kind, _windows(rule.windows))
        self.rules[fence_id] = rule

    def add_forbidden_zone(
        self,
        fence_id: Id,
        polygon: Any,
        windows: Sequence[TimeWindow | tuple[int, int]] | None = None,
    ) -> None:
        """A zone no vehicle may be inside while active (always, unless ``windows``)."""
        ws = tuple(TimeWindow(*w) if isinstance(w, tuple) else w for w in windows or ())
        self._add(fence_id, polygon, GeofenceRule("forbidden", ws))

    def add_corridor(
        self,
        fence_id: Id,
        polygon: Any,
        windows: Sequence[TimeWindow | tuple[int, int]] | None = None,
        vehicles: Iterable[Id] = (),
    ) -> None:
        """An allowed corridor; bound vehicles keep to it in its windows, and off it outside."""
        ws = tuple(TimeWindow(*w) if isinstance(w, tuple) else w for w in windows or ())
        self._add(fence_id, polygon, GeofenceRule("corridor", ws))
        for v in vehicles:
            self.bind(v, fence_id)

    def remove_zone(self, fence_id: Id) -> None:
        """Remove a zone; ``KeyError`` if unknown."""
        super().remove_zone(fence_id)
        self.rules.pop(fence_id, None)

    # the facade takes any array-like and answers GeofenceEvents, not the raw tuples
    def check(  # type: ignore[override]
        self, vehicle_ids: Sequence[Id] | Any, lons: Any, lats: Any, times: Any
    ) -> list[GeofenceEvent]:
        """Check fixes (in time order per vehicle); returns the events in fix order."""
        x, y, t = as_f64("lons", lons), as_f64("lats", lats), as_f64("times", times)
        raw = super().check(_ids_arg(vehicle_ids), x, y, t)
        return [
            GeofenceEvent(kind, vid, fid, reason, i, float(t[i]), float(x[i]), float(y[i]))
            for i, kind, vid, fid, reason in raw
        ]
