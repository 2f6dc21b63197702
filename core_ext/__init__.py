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
from .grid import GridIndex
from .masking import mask_rows
from .points import PointIndex

__all__ = [
    "EARTH_RADIUS_M",
    "GridIndex",
    "PointIndex",
    "gcj02_to_wgs84",
    "gcj02_to_wgs84_many",
    "haversine_m",
    "haversine_m_many",
    "mask_rows",
    "wgs84_to_gcj02",
    "wgs84_to_gcj02_many",
]
