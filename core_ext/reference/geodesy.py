"""Reference (oracle) for datum conversion and great-circle distance, in plain Python.

GCJ-02 is the public "eviltransform" algorithm (Krasovsky ellipsoid); the reverse conversion
iterates the forward one. Same formulas, same operation order as the Rust kernels.
"""

from __future__ import annotations

import math

KRASOVSKY_A = 6378245.0
KRASOVSKY_EE = 0.00669342162296594323
EARTH_RADIUS_M = 6371008.8
REVERSE_TOLERANCE_DEG = 1e-12
REVERSE_MAX_ITER = 40


def out_of_china(lon: float, lat: float) -> bool:
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _transform(x: float, y: float) -> tuple[float, float]:
    pi = math.pi
    xy = x * y
    abs_x = math.sqrt(abs(x))
    x_pi = x * pi
    y_pi = y * pi
    d = 20.0 * math.sin(6.0 * x_pi) + 20.0 * math.sin(2.0 * x_pi)
    lat = d
    lon = d
    lat += 20.0 * math.sin(y_pi) + 40.0 * math.sin(y_pi / 3.0)
    lon += 20.0 * math.sin(x_pi) + 40.0 * math.sin(x_pi / 3.0)
    lat += 160.0 * math.sin(y_pi / 12.0) + 320.0 * math.sin(y_pi / 30.0)
    lon += 150.0 * math.sin(x_pi / 12.0) + 300.0 * math.sin(x_pi / 30.0)
    lat *= 2.0 / 3.0
    lon *= 2.0 / 3.0
    lat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * xy + 0.2 * abs_x
    lon += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * xy + 0.1 * abs_x
    return lat, lon


def _delta(lon: float, lat: float) -> tuple[float, float]:
    pi = math.pi
    dlat, dlon = _transform(lon - 105.0, lat - 35.0)
    rad_lat = lat / 180.0 * pi
    magic = math.sin(rad_lat)
    magic = 1.0 - KRASOVSKY_EE * magic * magic
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * pi)
    dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * math.cos(rad_lat) * pi)
    return dlon, dlat


def _check(lon: float, lat: float) -> None:
    if not (math.isfinite(lon) and math.isfinite(lat)):
        raise ValueError(f"coordinates must be finite: lon={lon}, lat={lat}")
    if not -180.0 <= lon <= 180.0:
        raise ValueError(f"longitude must be within [-180, 180]: {lon}")
    if not -90.0 <= lat <= 90.0:
        raise ValueError(f"latitude must be within [-90, 90]: {lat}")


def wgs84_to_gcj02(lon: float, lat: float) -> tuple[float, float]:
    _check(lon, lat)
    if out_of_china(lon, lat):
        return lon, lat
    dlon, dlat = _delta(lon, lat)
    return lon + dlon, lat + dlat


def gcj02_to_wgs84(lon: float, lat: float) -> tuple[float, float]:
    _check(lon, lat)
    if out_of_china(lon, lat):
        return lon, lat
    wlon, wlat = lon, lat
    for _ in range(REVERSE_MAX_ITER):
        glon, glat = wgs84_to_gcj02(wlon, wlat)
        dlon, dlat = glon - lon, glat - lat
        if abs(dlon) < REVERSE_TOLERANCE_DEG and abs(dlat) < REVERSE_TOLERANCE_DEG:
            break
        wlon -= dlon
        wlat -= dlat
    return wlon, wlat


def haversine_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    _check(lon1, lat1)
    _check(lon2, lat2)
    p1 = math.radians(lat1)
    p2 = math.radians(lat2)
    s_lat = math.sin(math.radians(lat2 - lat1) / 2.0)
    s_lon = math.sin(math.radians(lon2 - lon1) / 2.0)
    a = s_lat * s_lat + math.cos(p1) * math.cos(p2) * s_lon * s_lon
    return 2.0 * EARTH_RADIUS_M * math.asin(min(math.sqrt(a), 1.0))
