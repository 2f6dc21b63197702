"""The grid: 743 cells covering Binhai New Area with no gap and no overlap.

How the cells are made (all seeded, all deterministic):

1. A 250 m lattice of sample points inside the real outline carries the population density
   (:mod:`simcity.binhai.streets`); the *seed density* is ``density ** 0.7`` so that urban
   cells come out a few tenths of a km² and rural / port cells tens of km².
2. 743 seeds are drawn from the lattice with that density, then moved by five rounds of
   density-weighted Lloyd relaxation (each seed to the weighted centroid of its lattice
   points), which evens the cells out without losing the density contrast.
3. The Voronoi edges of the seeds (built in a local metric projection, mapped back to lon/lat)
   and the outline's boundary are noded together with snap-rounding on a 1e-6° grid and
   polygonized. Every face inside the outline belongs to exactly one seed's cell. Because all
   cells come out of one noded linework, neighbouring cells share their edges vertex for
   vertex, and all coordinates already sit on the 6-decimal grid the files are written with:
   rounding cannot open gaps or overlaps.
4. A cell belongs to the street (街道/镇) whose centre is nearest; cells are numbered within
   their street north to south, west to east: ``BH-<STREET>-<nnn>`` / ``<街道>第N网格``.
5. Population per cell integrates the density over the lattice and is scaled (largest
   remainder) so the cells add up to the district's total exactly.
"""

from __future__ import annotations

from collections import defaultdict
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from shapely.geometry.base import BaseGeometry

from simcity.binhai.outline import (
    GRID_SIZE,
    area_km2,
    from_local,
    outline,
    outline_mapping,
    to_geojson,
    to_local,
)
from simcity.binhai.streets import STREETS, TOTAL_POPULATION, population_density

GRID_CELL_COUNT = 743
DEFAULT_SEED = 2019
LATTICE_M = 250.0
SEED_DENSITY_EXPONENT = 0.7
LLOYD_ROUNDS = 5

__all__ = [
    "GRID_CELL_COUNT",
    "cell_index",
    "cell_shapes",
    "district_outline",
    "grid_cells",
    "largest_remainder",
    "street_shapes",
]


def district_outline() -> dict[str, Any]:
    """The district's boundary as a GeoJSON mapping (MultiPolygon, lon/lat, GCJ-02)."""
    mapping = outline_mapping()
    return {"type": mapping["type"], "coordinates": mapping["coordinates"]}


@lru_cache(maxsize=1)
def population_lattice() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lattice points inside the outline: (local x/y, lon/lat, density weight)."""
    district = outline()
    local_bounds = to_local(np.array(district.bounds).reshape(2, 2))
    (x0, y0), (x1, y1) = local_bounds
    xs = np.arange(x0 + LATTICE_M / 2, x1, LATTICE_M)
    ys = np.arange(y0 + LATTICE_M / 2, y1, LATTICE_M)
    gx, gy = np.meshgrid(xs, ys)
    local = np.column_stack([gx.ravel(), gy.ravel()])
    lonlat = from_local(local)
    inside = shapely.contains_xy(district, lonlat[:, 0], lonlat[:, 1])
    local, lonlat = local[inside], lonlat[inside]
    density = population_density(lonlat[:, 0], lonlat[:, 1])
    return local, lonlat, density


def _nearest(points: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """Index of the nearest seed for each point (exact GEOS distances; ties → lowest index)."""
    tree = shapely.STRtree(shapely.points(seeds))
    src, dst = tree.query_nearest(shapely.points(points), all_matches=True)
    out = np.full(len(points), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(out, src, dst)
    return out


def _place_seeds(seed: int) -> np.ndarray:
    """743 seeds in local metres, denser where people are."""
    local, _, density = population_lattice()
    weight = density**SEED_DENSITY_EXPONENT
    rng = np.random.default_rng(np.random.SeedSequence([seed, 743]))
    picks = rng.choice(len(local), size=GRID_CELL_COUNT, replace=False, p=weight / weight.sum())
    seeds = local[np.sort(picks)] + rng.uniform(-LATTICE_M / 2, LATTICE_M / 2, (GRID_CELL_COUNT, 2))
    for _ in range(LLOYD_ROUNDS):
        owner = _nearest(local, seeds)
        wsum = np.bincount(owner, weights=weight, minlength=GRID_CELL_COUNT)
        wx = np.bincount(owner, weights=weight * local[:, 0], minlength=GRID_CELL_COUNT)
        wy = np.bincount(owner, weights=weight * local[:, 1], minlength=GRID_CELL_COUNT)
        has = wsum > 0
        seeds[has, 0] = wx[has] / wsum[has]
        seeds[has, 1] = wy[has] / wsum[has]
    return np.round(seeds, 3)


def _faces(seeds_local: np.ndarray) -> tuple[list[BaseGeometry], np.ndarray]:
    """Polygonized faces of (Voronoi edges ∪ outline boundary) inside the outline, and owners."""
    district = outline()
    env = MultiPoint([tuple(p) for p in seeds_local]).envelope.buffer(50_000)
    edges = shapely.voronoi_polygons(
        MultiPoint([tuple(p) for p in seeds_local]), extend_to=env, only_edges=True
    )
    edges_ll = shapely.transform(edges, from_local)
    linework = shapely.union_all([edges_ll, district.boundary], grid_size=GRID_SIZE)
    polys = shapely.get_parts(shapely.polygonize(shapely.get_parts(linework)))
    reps = shapely.point_on_surface(polys)
    rep_xy = shapely.get_coordinates(reps)
    inside = shapely.contains_xy(district, rep_xy[:, 0], rep_xy[:, 1])
    faces = [p for p, keep in zip(polys, inside, strict=True) if keep]
    owners = _nearest(to_local(rep_xy[inside]), seeds_local)
    return faces, owners


def _merge(parts: list[BaseGeometry]) -> BaseGeometry:
    if len(parts) == 1:
        return parts[0]
    merged = shapely.union_all(parts, grid_size=GRID_SIZE)
    if isinstance(merged, Polygon | MultiPolygon):
        return merged
    polys = [g for g in shapely.get_parts(merged) if isinstance(g, Polygon)]
    return MultiPolygon(polys)


def largest_remainder(weights: np.ndarray, total: int) -> np.ndarray:
    """Integers proportional to ``weights`` adding up to ``total`` exactly (Hamilton's method)."""
    weights = np.asarray(weights, dtype=float)
    if weights.sum() <= 0:
        weights = np.ones_like(weights)
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    short = total - int(base.sum())
    order = np.lexsort((np.arange(len(quota)), -(quota - base)))
    base[order[:short]] += 1
    return base


@lru_cache(maxsize=4)
def _build(seed: int) -> tuple[tuple[dict[str, Any], ...], tuple[BaseGeometry, ...]]:
    seeds_local = _place_seeds(seed)
    faces, owners = _faces(seeds_local)
    by_owner: dict[int, list[BaseGeometry]] = defaultdict(list)
    for face, owner in zip(faces, owners, strict=True):
        by_owner[int(owner)].append(face)
    if len(by_owner) != GRID_CELL_COUNT:
        raise RuntimeError(f"grid construction gave {len(by_owner)} cells, not {GRID_CELL_COUNT}")
    geoms = [_merge(by_owner[i]) for i in range(GRID_CELL_COUNT)]
    reps = shapely.get_coordinates(shapely.point_on_surface(np.array(geoms, dtype=object)))

    # streets: nearest street centre to the cell's representative point
    centres = to_local(np.array([[s.lon, s.lat] for s in STREETS]))
    street_of = _nearest(to_local(reps), centres)
    missing = set(range(len(STREETS))) - set(street_of.tolist())
    if missing:
        raise RuntimeError(f"streets without cells: {[STREETS[i].name for i in sorted(missing)]}")

    # population: lattice density summed per cell (plus density × area for lattice-free cells)
    local, _, density = population_lattice()
    owner = _nearest(local, seeds_local)
    cell_area = (LATTICE_M / 1000) ** 2
    weight = np.bincount(owner, weights=density * cell_area, minlength=GRID_CELL_COUNT)
    areas = np.array([area_km2(g) for g in geoms])
    empty = weight <= 0
    if empty.any():
        weight[empty] = population_density(reps[empty, 0], reps[empty, 1]) * areas[empty]
    population = largest_remainder(weight, TOTAL_POPULATION)

    # number cells inside each street: north → south, then west → east
    order = sorted(
        range(GRID_CELL_COUNT),
        key=lambda i: (int(street_of[i]), -round(reps[i, 1], 4), round(reps[i, 0], 4), i),
    )
    counters: dict[int, int] = defaultdict(int)
    cells: list[dict[str, Any]] = []
    shapes: list[BaseGeometry] = []
    for i in order:
        street = STREETS[int(street_of[i])]
        counters[int(street_of[i])] += 1
        n = counters[int(street_of[i])]
        code = f"BH-{street.code}-{n:03d}"
        cells.append(
            {
                "key": code,
                "code": code,
                "name": f"{street.name}第{n}网格",
                "street": street.name,
                "geometry": to_geojson(geoms[i]),
                "area_km2": round(float(areas[i]), 6),
                "population": int(population[i]),
            }
        )
        shapes.append(geoms[i])
    ranked = sorted(range(len(cells)), key=lambda j: cells[j]["key"])
    return tuple(cells[j] for j in ranked), tuple(shapes[j] for j in ranked)


def grid_cells(seed: int = DEFAULT_SEED) -> list[dict[str, Any]]:
    """The 743 grid cells, sorted by key.

    Each is ``{"key", "code", "name", "street", "geometry", "area_km2", "population"}``;
    geometry is a GeoJSON Polygon or MultiPolygon mapping in GCJ-02 lon/lat with 6 decimals.
    Cached: repeated calls are cheap (the dicts are fresh copies' shells: do not mutate the
    geometry lists).
    """
    cells, _ = _build(seed)
    return [dict(c) for c in cells]


def cell_shapes(seed: int = DEFAULT_SEED) -> dict[str, BaseGeometry]:
    """Cell key → shapely geometry (same coordinates as the GeoJSON), in key order."""
    cells, shapes = _build(seed)
    return {c["key"]: g for c, g in zip(cells, shapes, strict=True)}


class CellIndex:
    """Point → grid cell lookups over one seed's grid (an STRtree over the cells)."""

    def __init__(self, seed: int = DEFAULT_SEED) -> None:
        cells, shapes = _build(seed)
        self.keys = [c["key"] for c in cells]
        self.streets = [c["street"] for c in cells]
        self.shapes = list(shapes)
        self.tree = shapely.STRtree(self.shapes)

    def locate(self, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
        """Index of the containing cell for each point (-1 if outside every cell)."""
        pts = shapely.points(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
        out = np.full(len(pts), -1, dtype=np.int64)
        hits = self.tree.query(pts, predicate="intersects")
        # hits[0] = point index, hits[1] = cell index; on a shared edge keep the lowest cell
        for p, c in sorted(zip(hits[0].tolist(), hits[1].tolist(), strict=True), reverse=True):
            out[p] = c
        return out

    def locate_one(self, lon: float, lat: float) -> int:
        return int(self.locate(np.array([lon]), np.array([lat]))[0])


@lru_cache(maxsize=4)
def cell_index(seed: int = DEFAULT_SEED) -> CellIndex:
    return CellIndex(seed)


def street_shapes(seed: int = DEFAULT_SEED) -> dict[str, BaseGeometry]:
    """Street name → union of its cells (lon/lat), in the order of STREETS."""
    cells, shapes = _build(seed)
    parts: dict[str, list[BaseGeometry]] = defaultdict(list)
    for c, g in zip(cells, shapes, strict=True):
        parts[c["street"]].append(g)
    return {s.name: _merge(parts[s.name]) for s in STREETS}


def inside_district(geom: BaseGeometry | Point, tolerance_m: float = 1.0) -> bool:
    """Whether ``geom`` lies inside the outline, allowing ``tolerance_m`` metres."""
    tol_deg = tolerance_m / 111_000
    return bool(outline().buffer(tol_deg).covers(geom))
