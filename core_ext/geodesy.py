"""Datums and distances: WGS-84 <-> GCJ-02 and great-circle distance, scalar and vectorised.

GPS positions arrive in WGS-84; the city's map layers are GCJ-02 (the public "eviltransform"
algorithm, Krasovsky ellipsoid, only inside China's bounding box — outside it the input is
returned unchanged). The reverse conversion iterates the forward one until its image is within
1e-12 degree. Coordinates are degrees; NaN/inf, longitudes outside [-180, 180] or latitudes
outside [-90, 90] raise ``ValueError``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import as_f64, real_scalar

EARTH_RADIUS_M: float = _core.EARTH_RADIUS_M

FloatArray = npt.NDArray[np.float64]


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    """Convert one WGS-84 position to GCJ-02; returns ``(lon, lat)``."""
    return _core.wgs84_to_gcj02(real_scalar("lon", lon), real_scalar("lat", lat))


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    """Convert one GCJ-02 position back to WGS-84; returns ``(lon, lat)``."""
    return _core.gcj02_to_wgs84(real_scalar("lon", lon), real_scalar("lat", lat))


def wgs84_to_gcj02_many(lons: Any, lats: Any) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`wgs84_to_gcj02` over arrays of equal length (GIL released)."""
    return _core.wgs84_to_gcj02_many(as_f64("lons", lons), as_f64("lats", lats))


def gcj02_to_wgs84_many(lons: Any, lats: Any) -> tuple[FloatArray, FloatArray]:
    """Vectorised :func:`gcj02_to_wgs84` over arrays of equal length (GIL released)."""
    return _core.gcj02_to_wgs84_many(as_f64("lons", lons), as_f64("lats", lats))


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres between two positions (mean Earth radius)."""
    return _core.haversine_m(
        real_scalar("lon1", lon1),
        real_scalar("lat1", lat1),
        real_scalar("lon2", lon2),
        real_scalar("lat2", lat2),
    )


def haversine_m_many(lons1: Any, lats1: Any, lons2: Any, lats2: Any) -> FloatArray:
    """Element-wise great-circle distances in metres (GIL released).

    All four arguments are 1-D arrays of one length; a scalar (or length-1 array) on either
    side is broadcast, so ``haversine_m_many(lon, lat, lons, lats)`` measures from one point.
    """
    arrays = [
        np.atleast_1d(as_f64(name, np.atleast_1d(np.asarray(v))))
        for name, v in (("lons1", lons1), ("lats1", lats1), ("lons2", lons2), ("lats2", lats2))
    ]
    lengths = {a.shape[0] for a in arrays}
    if len(lengths - {1}) > 1:
        raise ValueError(
            "arrays must have the same length (or length 1 to broadcast): "
            + ", ".join(str(a.shape[0]) for a in arrays)
        )
    n = max(lengths)
    arrays = [np.ascontiguousarray(np.broadcast_to(a, (n,))) for a in arrays]
    return _core.haversine_m_many(*arrays)
