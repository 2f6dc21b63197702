"""Stubs for the Rust extension ``core_ext._core`` (PyO3). Use the ``core_ext`` facade."""

from typing import Literal, Self

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

__version__: str
EARTH_RADIUS_M: float

def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]: ...
def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]: ...
def wgs84_to_gcj02_many(lons: F64, lats: F64) -> tuple[F64, F64]: ...
def gcj02_to_wgs84_many(lons: F64, lats: F64) -> tuple[F64, F64]: ...
def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float: ...
def haversine_m_many(lons1: F64, lats1: F64, lons2: F64, lats2: F64) -> F64: ...

I32 = npt.NDArray[np.int32]
I64 = npt.NDArray[np.int64]

class GridIndex:
    """Exact point -> cell lookup over polygons (flat-array constructor; see core_ext.grid)."""

    def __new__(
        cls,
        xy: F64,
        ring_offsets: I64,
        ring_cells: I64,
        n_cells: int,
        max_buckets: int | None = None,
    ) -> Self: ...
    def locate(self, x: float, y: float) -> int: ...
    def locate_many(self, xs: F64, ys: F64) -> I32: ...
    def _probe_many(self, xs: F64, ys: F64) -> I32: ...
    @property
    def n_cells(self) -> int: ...
    @property
    def bounds(self) -> tuple[float, float, float, float]: ...
    def stats(self) -> dict[str, int]: ...
    def __len__(self) -> int: ...

class PointIndex:
    """Moving points by id with on-duty / category attributes (see core_ext.points)."""

    def __new__(cls) -> Self: ...
    def upsert(
        self, id: int | str, lon: float, lat: float, *, on_duty: bool = True, category: str = ""
    ) -> None: ...
    def upsert_many(
        self,
        ids: I64 | list[int] | list[str],
        lons: F64,
        lats: F64,
        on_duty: npt.NDArray[np.bool_] | None = None,
        categories: list[str] | None = None,
    ) -> None: ...
    def move(self, id: int | str, lon: float, lat: float) -> None: ...
    def move_many(self, ids: I64 | list[int] | list[str], lons: F64, lats: F64) -> None: ...
    def set_attributes(
        self, id: int | str, *, on_duty: bool | None = None, category: str | None = None
    ) -> None: ...
    def remove(self, id: int | str) -> None: ...
    def get(self, id: int | str) -> tuple[float, float, bool, str]: ...
    def nearest(
        self,
        lon: float,
        lat: float,
        k: int = 1,
        *,
        on_duty: bool | None = None,
        categories: list[str] | None = None,
    ) -> list[tuple[int | str, float]]: ...
    def within(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        *,
        on_duty: bool | None = None,
        categories: list[str] | None = None,
    ) -> list[tuple[int | str, float]]: ...
    def nearest_many(
        self,
        lons: F64,
        lats: F64,
        k: int = 1,
        *,
        on_duty: bool | None = None,
        categories: list[str] | None = None,
    ) -> tuple[I64, F64]: ...
    def ids(self) -> list[int | str]: ...
    def __len__(self) -> int: ...
    def __contains__(self, id: object) -> bool: ...

TANK_HIGH: int
TANK_HIGH_HIGH: int
TANK_LOW: int
TANK_RATE: int
TANK_STALE: int

def smoke_index(
    features: F64, weights: F64, kinds: I64, p1: F64, p2: F64, bands: F64
) -> tuple[F64, I32, F64]: ...

class TankMonitor:
    """Tank alarm evaluation with per-tank limits (see core_ext.risk)."""

    def __new__(
        cls,
        ids: I64 | list[int | str],
        high: F64,
        high_high: F64,
        low: F64,
        max_rate_per_min: F64,
        stale_after_s: F64,
    ) -> Self: ...
    def evaluate(
        self, tank_ids: I64 | list[int | str], values: F64, times: F64
    ) -> tuple[I32, F64]: ...
    def stale(self, now: float) -> list[int | str]: ...
    def last_reading(self, id: int | str) -> tuple[float, float] | None: ...
    def __len__(self) -> int: ...

class GeofenceSet:
    """Zones with rules; batch checks of vehicle fixes (see core_ext.geofence)."""

    def __new__(cls, utc_offset_hours: float = 8.0) -> Self: ...
    def _add_zone(
        self,
        fence_id: int | str,
        xy: F64,
        ring_offsets: I64,
        kind: str,
        windows: list[tuple[int, int]],
    ) -> None: ...
    def bind(self, vehicle_id: int | str, corridor_id: int | str) -> None: ...
    def remove_zone(self, fence_id: int | str) -> None: ...
    def state(self, vehicle_id: int | str) -> list[int | str]: ...
    def forget(self, vehicle_id: int | str) -> None: ...
    def check(
        self, vehicle_ids: I64 | list[int | str], lons: F64, lats: F64, times: F64
    ) -> list[
        tuple[int, Literal["enter", "exit", "violation"], int | str, int | str, str | None]
    ]: ...
    def __len__(self) -> int: ...

# personal data in free text (core_ext.pii): character offsets, kinds as in core_ext.pii.KINDS
def find_pii(text: str) -> list[tuple[int, int, str]]: ...
def mask_pii(text: str) -> str: ...
