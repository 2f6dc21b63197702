"""A hazardous-chemicals vehicle standing still off its route (``vehicle.stopped``).

A loaded tanker parked by the roadside is a risk of its own (theft, a leak nobody watches, a
driver asleep): the rule raises one alarm per stop when a vehicle has stood still — slower than
``STANDING_KMH``, within ``STOP_RADIUS_M`` of where it stopped — for ``STOP_MINUTES`` of its
fixes' time anywhere but a **haven**: a hazardous-chemicals site (its yard: a circle of the
site's area, at least ``SITE_RADIUS_M``) or an industrial park, both widened by
``HAVEN_MARGIN_M`` for GPS error at the gate. A fix without a speed counts as standing if it has
not moved. The alarm comes once per stop; moving on ends the stop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from core_ext import GridIndex
from schema.record import Record

VEHICLE_STOPPED = "vehicle.stopped"
STOP_MINUTES = 15.0
STOP_RADIUS_M = 50.0
STANDING_KMH = 5.0
SITE_RADIUS_M = 150.0
HAVEN_MARGIN_M = 50.0
_KY = 110_574.0  # metres per degree of latitude

Buffer = Callable[[dict[str, Any], float], dict[str, Any]]  # GeoJSON widened by metres


def havens(sites: Iterable[Record], parks: Iterable[Record], buffer: Buffer) -> GridIndex | None:
    """Where a vehicle may stand as long as it likes: the sites' yards and the parks."""
    places: list[dict[str, Any]] = []
    for site in sites:
        g = site.geometry
        if g and g.get("type") == "Point":
            area = float(site.attrs.get("area_m2") or 0.0)
            radius = max(SITE_RADIUS_M, math.sqrt(area / math.pi)) + HAVEN_MARGIN_M
            places.append({"key": site.key, "geometry": buffer(g, radius)})
    for park in parks:
        if park.geometry and park.geometry.get("type") in ("Polygon", "MultiPolygon"):
            places.append({"key": park.key, "geometry": buffer(park.geometry, HAVEN_MARGIN_M)})
    return GridIndex(places) if places else None


@dataclass
class Stop:
    t0: float
    lon: float
    lat: float
    reported: bool = False  # raised, or found to be in a haven: nothing more to say


class StopWatch:
    """Each vehicle's stop in progress (not thread-safe: the caller holds its lock)."""

    def __init__(self, havens: GridIndex | None, minutes: float = STOP_MINUTES) -> None:
        self.havens = havens
        self.seconds = minutes * 60.0
        self.stops: dict[int, Stop] = {}

    def check(self, idx: np.ndarray, rows: np.ndarray) -> list[tuple[int, int]]:
        """Fixes (``rows``: time, lon, lat, speed; in time order per vehicle) of vehicles
        ``idx``: the (vehicle, row) of each stop that passes the limit outside every haven."""
        found: list[tuple[int, int]] = []
        stops = self.stops
        for j, (i, (t, lon, lat, speed)) in enumerate(
            zip(idx.tolist(), rows.tolist(), strict=True)
        ):
            stop = stops.get(i)
            moved = stop is not None and _metres(stop.lon, stop.lat, lon, lat) > STOP_RADIUS_M
            standing = (speed < STANDING_KMH) if not math.isnan(speed) else not moved
            if not standing or stop is None or moved:
                if standing:
                    stops[i] = Stop(t, lon, lat)
                else:
                    stops.pop(i, None)
                continue
            if stop.reported or t - stop.t0 < self.seconds:
                continue
            stop.reported = True
            if self.havens is None or self.havens.locate(stop.lon, stop.lat) < 0:
                found.append((i, j))
        return found

    def state(self, i: int) -> list[float | bool] | None:
        """Vehicle ``i``'s stop, to store with its fix: [t0, lon, lat, reported]."""
        stop = self.stops.get(i)
        return None if stop is None else [stop.t0, stop.lon, stop.lat, stop.reported]

    def restore(self, i: int, kept: Any) -> None:
        """The stop a stored fix says vehicle ``i`` is in (or none)."""
        if isinstance(kept, list) and len(kept) == 4:
            t0, lon, lat, reported = kept
            self.stops[i] = Stop(float(t0), float(lon), float(lat), bool(reported))
        else:
            self.stops.pop(i, None)


def _metres(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    kx = 111_320.0 * math.cos(math.radians(lat0))
    return math.hypot((lon1 - lon0) * kx, (lat1 - lat0) * _KY)
