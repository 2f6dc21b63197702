"""Reference (oracle) for ``PointIndex``: a dict and linear scans.

Same semantics: points on the unit sphere, ranked by squared chord (computed with the same
formula as the Rust code, so rankings agree bit for bit), ties by first insertion; metres are
``2 R asin(chord / 2)``; ``within`` keeps points whose metres are <= the radius.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from .geodesy import EARTH_RADIUS_M, _check

PointId = int | str


def unit_vector(lon: float, lat: float) -> tuple[float, float, float]:
    la, lo = math.radians(lat), math.radians(lon)
    c = math.cos(la)
    return (c * math.cos(lo), c * math.sin(lo), math.sin(la))


def chord2(a: tuple[float, float, float], b: tuple[float, float, float]) -> float:
    dx, dy, dz = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return dx * dx + dy * dy + dz * dz


def chord2_to_m(c2: float) -> float:
    return 2.0 * EARTH_RADIUS_M * math.asin(min(math.sqrt(c2) / 2.0, 1.0))


@dataclass
class _Point:
    lon: float
    lat: float
    on_duty: bool
    category: str
    seq: int


class ReferencePointIndex:
    def __init__(self) -> None:
        self.points: dict[PointId, _Point] = {}
        self.seq = 0

    def upsert(
        self, id: PointId, lon: float, lat: float, *, on_duty: bool = True, category: str = ""
    ) -> None:
        _check(lon, lat)
        old = self.points.get(id)
        if old is None:
            self.points[id] = _Point(lon, lat, on_duty, category, self.seq)
            self.seq += 1
        else:
            old.lon, old.lat, old.on_duty, old.category = lon, lat, on_duty, category

    def move(self, id: PointId, lon: float, lat: float) -> None:
        _check(lon, lat)
        p = self.points[id]
        p.lon, p.lat = lon, lat

    def remove(self, id: PointId) -> None:
        del self.points[id]

    def _ranked(
        self, lon: float, lat: float, on_duty: bool | None, categories: Iterable[str] | None
    ) -> list[tuple[float, int, PointId]]:
        _check(lon, lat)
        q = unit_vector(lon, lat)
        cats = None if categories is None else set(categories)
        out = []
        for pid, p in self.points.items():
            if on_duty is not None and p.on_duty != on_duty:
                continue
            if cats is not None and p.category not in cats:
                continue
            out.append((chord2(q, unit_vector(p.lon, p.lat)), p.seq, pid))
        out.sort(key=lambda t: (t[0], t[1]))
        return out

    def nearest(
        self,
        lon: float,
        lat: float,
        k: int = 1,
        *,
        on_duty: bool | None = None,
        categories: Iterable[str] | None = None,
    ) -> list[tuple[PointId, float]]:
        ranked = self._ranked(lon, lat, on_duty, categories)[:k]
        return [(pid, chord2_to_m(c2)) for c2, _, pid in ranked]

    def within(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        *,
        on_duty: bool | None = None,
        categories: Iterable[str] | None = None,
    ) -> list[tuple[PointId, float]]:
        ranked = self._ranked(lon, lat, on_duty, categories)
        return [(pid, chord2_to_m(c2)) for c2, _, pid in ranked if chord2_to_m(c2) <= radius_m]
