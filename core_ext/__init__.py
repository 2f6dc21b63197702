"""cityhub's compiled core: the city brain's hot paths, typed.

Rust (PyO3, ``core_ext._core``) holds the index structures and numeric batch kernels, which
release the GIL; Cython (``core_ext._masking``) holds loops that touch Python objects. Every
function has a plain-Python oracle in :mod:`core_ext.reference`.
"""

from __future__ import annotations

from .geodesy import (
    EARTH_RADIUS_M,
    gcj02_to_wgs84,
    gcj02_to_wgs84_many,
    haversine_m,
    haversine_m_many,
    wgs84_to_gcj02,
    wgs84_to_gcj02_many,
)
from .geofence import GeofenceEvent, GeofenceRule, GeofenceSet, TimeWindow
from .grid import GridIndex
from .masking import mask_rows
from .pii import PiiSpan, find_pii, mask_pii
from .points import PointIndex
from .risk import (
    SMOKE_DIMENSIONS,
    TANK_HIGH,
    TANK_HIGH_HIGH,
    TANK_LOW,
    TANK_RATE,
    TANK_STALE,
    SmokeIndexConfig,
    SmokeIndexResult,
    TankEvaluation,
    TankLimits,
    TankMonitor,
    Transform,
    evaluate_tank_readings,
    smoke_index,
)

__all__ = [
    "EARTH_RADIUS_M",
    "SMOKE_DIMENSIONS",
    "TANK_HIGH",
    "TANK_HIGH_HIGH",
    "TANK_LOW",
    "TANK_RATE",
    "TANK_STALE",
    "GeofenceEvent",
    "GeofenceRule",
    "GeofenceSet",
    "GridIndex",
    "PiiSpan",
    "PointIndex",
    "SmokeIndexConfig",
    "SmokeIndexResult",
    "TankEvaluation",
    "TankLimits",
    "TankMonitor",
    "TimeWindow",
    "Transform",
    "evaluate_tank_readings",
    "find_pii",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_many",
    "haversine_m",
    "haversine_m_many",
    "mask_pii",
    "mask_rows",
    "smoke_index",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_many",
]
