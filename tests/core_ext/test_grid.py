"""GridIndex: exact point -> cell lookup vs the exact reference and shapely."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import shape

from core_ext import GridIndex
from core_ext.reference.grid import ReferenceGrid
from core_ext.reference.tessellations import jittered_lattice

SQUARES = [  # 2 x 2 unit squares: 0 SW, 1 SE, 2 NW, 3 NE
    [[0, 0], [1, 0], [1, 1], [0, 1]],
    [[1, 0], [2, 0], [2, 1], [1, 1]],
    [[0, 1], [1, 1], [1, 2], [0, 2]],
    [[1, 1], [2, 1], [2, 2], [1, 2]],
]


def test_on_edge_rule_east_then_north() -> None:
    g = GridIndex([[ring] for ring in SQUARES])
    assert g.locate(0.5, 0.5) == 0 and g.locate(1.5, 1.5) == 3
    assert g.locate(1.0, 0.5) == 1  # shared vertical edge -> east cell
    assert g.locate(0.5, 1.0) == 2  # shared horizontal edge -> north cell
    assert g.locate(1.0, 1.0) == 3  # shared corner -> north-east cell
    assert g.locate(0.0, 0.5) == 0  # west side of the union: inside
    assert g.locate(0.5, 0.0) == 0  # south side: inside
    assert g.locate(2.0, 0.5) == -1  # east side: outside
    assert g.locate(0.5, 2.0) == -1  # north side: outside
    assert g.locate(2.0, 2.0) == -1 and g.locate(0.0, 0.0) == 0
    assert g.locate(-1.0, 0.5) == -1 and g.locate(5.0, 5.0) == -1
    many = g.locate_many([1.0, 0.5, 1.0, 2.0], [0.5, 1.0, 1.0, 0.5])
    assert many.dtype == np.int32 and many.tolist() == [1, 2, 3, -1]


def test_holes_and_multipart(lattice: tuple[list[dict[str, Any]], np.ndarray]) -> None:
    cells, _ = lattice
    g = GridIndex(cells)
    assert g.n_cells == len(cells) == len(g)
    island = len(cells) - 1
    c = np.mean(np.asarray(cells[island]["coordinates"][0][:4]), axis=0)
    assert g.locate(*c) == island  # inside the hole: the island cell
    # both parts of the multipolygon cell 0
    for poly in cells[0]["coordinates"]:
        q = np.mean(np.asarray(poly[0][:4]), axis=0)
        assert g.locate(*q) == 0


def test_hole_left_empty() -> None:
    shell = [[0, 0], [4, 0], [4, 4], [0, 4]]
    hole = [[1, 1], [1, 3], [3, 3], [3, 1]]
    g = GridIndex([{"type": "Polygon", "coordinates": [shell, hole]}])
    assert g.locate(2, 2) == -1 and g.locate(0.5, 2) == 0 and g.locate(3.5, 2) == 0
    assert g.locate(3, 2) == 0  # east side of the hole is the polygon's west... boundary rule
    assert g.locate(1, 2) == -1  # west side of the hole: displaced east -> in the hole


def _check_against_reference(cells: list[Any], xs: np.ndarray, ys: np.ndarray) -> None:
    g = GridIndex(cells, max_buckets=64)
    g2 = GridIndex(cells)
    ref = ReferenceGrid(cells)
    got = g.locate_many(xs, ys)
    got2 = g2.locate_many(xs, ys)
    want = [ref.locate(float(x), float(y)) for x, y in zip(xs, ys, strict=True)]
    assert got.tolist() == want
    assert got2.tolist() == want
    assert [g.locate(float(x), float(y)) for x, y in zip(xs, ys, strict=True)] == want


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(2, 5), st.integers(2, 5))
def test_matches_exact_reference_including_boundaries(seed: int, nx: int, ny: int) -> None:
    cells, pts = jittered_lattice(nx, ny, seed, straight_every=2)
    rng = np.random.default_rng(seed)
    flat = pts.reshape(-1, 2)
    lo, hi = flat.min(axis=0), flat.max(axis=0)
    random = rng.uniform(lo - 0.002, hi + 0.002, (150, 2))
    vertices = flat[rng.integers(0, len(flat), 40)]
    # points on straight (axis-aligned) lattice lines, exactly on edges
    on_h = np.column_stack([rng.uniform(lo[0], hi[0], 30), np.full(30, pts[0, 0, 1])])
    on_v = np.column_stack([np.full(30, pts[0, 0, 0]), rng.uniform(lo[1], hi[1], 30)])
    mids = (flat[:-1] + flat[1:]) / 2  # nearly on edges
    q = np.concatenate([random, vertices, on_h, on_v, mids[:40]])
    _check_against_reference(cells, q[:, 0].copy(), q[:, 1].copy())


def test_lattice_vs_shapely(lattice: tuple[list[dict[str, Any]], np.ndarray]) -> None:
    cells, pts = lattice
    g = GridIndex(cells)
    geoms = [shape(c) for c in cells]
    flat = pts.reshape(-1, 2)
    lo, hi = flat.min(axis=0), flat.max(axis=0)
    rng = np.random.default_rng(3)
    q = rng.uniform(lo - 0.001, hi + 0.001, (200_000, 2))
    _compare_with_shapely(g, geoms, q[:, 0].copy(), q[:, 1].copy())


def _compare_with_shapely(
    g: GridIndex, geoms: list[Any], xs: np.ndarray, ys: np.ndarray
) -> tuple[int, int]:
    """Interior points: equal to shapely.contains_xy. Boundary points: a touching cell, and
    never -1 inside the union. Returns (interior count, boundary count)."""
    got = g.locate_many(xs, ys)
    tree = shapely.STRtree(geoms)
    points = shapely.points(xs, ys)
    want = np.full(len(xs), -1)
    p_idx, c_idx = tree.query(points, predicate="within")  # point within cell
    # lowest index wins on overlaps (there are none in a tessellation)
    order = np.lexsort((-c_idx, p_idx))
    want[p_idx[order]] = c_idx[order]
    t_idx, tc_idx = tree.query(points, predicate="intersects")
    touching: dict[int, set[int]] = {}
    for p, c in zip(t_idx.tolist(), tc_idx.tolist(), strict=True):
        touching.setdefault(p, set()).add(c)
    on_boundary = np.zeros(len(xs), dtype=bool)
    for p in touching:
        if want[p] < 0:
            on_boundary[p] = True
    interior = ~on_boundary
    mismatch = np.flatnonzero(got[interior] != want[interior])
    assert mismatch.size == 0, (
        f"{mismatch.size} interior points differ from shapely, e.g. index "
        f"{np.flatnonzero(interior)[mismatch[:5]]}"
    )
    union = shapely.union_all(geoms)
    for p in np.flatnonzero(on_boundary).tolist():
        c = int(got[p])
        if c >= 0:
            assert c in touching[p]
        else:
            assert not shapely.contains_xy(union, xs[p], ys[p])
    return int(interior.sum()), int(on_boundary.sum())


def test_real_binhai_cells_vs_shapely(binhai_cells: list[dict[str, Any]]) -> None:
    g = GridIndex(binhai_cells)
    assert g.n_cells == 743 and g.keys[0] == binhai_cells[0]["key"]
    geoms = [shape(c["geometry"]) for c in binhai_cells]
    rng = np.random.default_rng(2019)
    x0, y0, x1, y1 = g.bounds
    n = 300_000
    uniform = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)])
    verts = np.concatenate([shapely.get_coordinates(gm) for gm in geoms])
    on_vertex = verts[rng.integers(0, len(verts), 20_000)]
    near_vertex = on_vertex + rng.normal(0, 1e-9, on_vertex.shape)
    # points on edges (rounded: on or within an ulp of the edge) and near them
    a = verts[:-1]
    b = verts[1:]
    t = rng.uniform(0, 1, (len(a), 1))
    on_edge = a + t * (b - a)
    near_edge = on_edge + rng.normal(0, 1e-10, on_edge.shape)
    q = np.concatenate([uniform, on_vertex, near_vertex, on_edge, near_edge])
    interior, boundary = _compare_with_shapely(g, geoms, q[:, 0].copy(), q[:, 1].copy())
    assert interior > 300_000 and boundary > 10_000
    # every exact vertex gets exactly one answer, and a cell it touches unless outside
    key = g.locate_key(117.7, 39.0)
    assert key is not None and key.startswith("BH-")


def test_raw_coordinate_forms_agree() -> None:
    shell = [[0.0, 0.0], [3.0, 0.0], [3.0, 3.0], [0.0, 3.0]]
    hole = [[1.0, 1.0], [1.0, 2.0], [2.0, 2.0], [2.0, 1.0]]
    forms = [
        {"type": "Polygon", "coordinates": [shell, hole]},
        {"key": "A", "geometry": {"type": "Polygon", "coordinates": [shell, hole]}},
        shape({"type": "Polygon", "coordinates": [shell, hole]}),
        [shell, hole],
        [[shell, hole]],
        {"type": "MultiPolygon", "coordinates": [[shell, hole]]},
    ]
    for form in forms:
        g = GridIndex([form])
        assert g.locate_many([0.5, 1.5, 2.5], [0.5, 1.5, 2.5]).tolist() == [0, -1, 0]
    assert GridIndex([np.array(shell)]).locate(1.5, 1.5) == 0
    assert GridIndex([forms[1]]).keys == ["A"]
    assert GridIndex([]).locate(0.0, 0.0) == -1


def test_bad_polygons_rejected() -> None:
    bowtie = [[0, 0], [2, 2], [2, 0], [0, 2]]
    with pytest.raises(ValueError, match="self-intersecting"):
        GridIndex([[bowtie]])
    with pytest.raises(ValueError, match="fewer than 3"):
        GridIndex([[[[0, 0], [1, 1], [0, 0]]]])
    with pytest.raises(ValueError, match=r"zero area|self-intersecting"):
        GridIndex([[[[0, 0], [1, 1], [2, 2]]]])
    shell = [[0, 0], [4, 0], [4, 4], [0, 4]]
    crossing_hole = [[3, 1], [5, 1], [5, 2], [3, 2]]
    with pytest.raises(ValueError, match="self-intersecting"):
        GridIndex([{"type": "Polygon", "coordinates": [shell, crossing_hole]}])
    with pytest.raises(ValueError, match="finite"):
        GridIndex([[[[0, 0], [1, np.nan], [0, 1]]]])
    with pytest.raises(ValueError, match="Polygon or MultiPolygon"):
        GridIndex([{"type": "LineString", "coordinates": [[0, 0], [1, 1]]}])
    with pytest.raises(TypeError):
        GridIndex([[[["a", "b"], ["c", "d"], ["e", "f"]]]])
    with pytest.raises(TypeError):
        GridIndex({"type": "Polygon", "coordinates": [shell]})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        GridIndex([[[[0, 0], [1, 0], [1, 1]], [[0], [1]]]])


def test_bad_points_rejected() -> None:
    g = GridIndex([[ring] for ring in SQUARES])
    with pytest.raises(ValueError, match="finite"):
        g.locate(float("nan"), 0.5)
    with pytest.raises(ValueError, match="finite"):
        g.locate(0.5, float("inf"))
    with pytest.raises(ValueError, match="index 2"):
        g.locate_many([0.5, 0.5, np.nan], [0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match="index 5000"):
        xs = np.full(10_000, 0.5)
        xs[5000] = -np.inf
        g.locate_many(xs, np.full(10_000, 0.5))
    with pytest.raises(ValueError, match="same length"):
        g.locate_many([0.5, 0.5], [0.5])
    with pytest.raises(TypeError):
        g.locate_many(["a"], ["b"])
    with pytest.raises(TypeError):
        g.locate("a", 0.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="one-dimensional"):
        g.locate_many(np.zeros((2, 2)), np.zeros((2, 2)))
    assert g.locate_many([], []).shape == (0,)
    assert g.locate_many(np.array([1, 1]), np.array([0, 1])).tolist() == [1, 3]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000), st.integers(3, 40), st.sampled_from([None, 16, 256, 4096]))
def test_overlapping_cells_match_the_reference(seed: int, n: int, max_buckets: int | None) -> None:
    """Overlapping cells (registered sites inside bigger ones, widened by a margin): the
    lowest index containing a point wins, also where a lower cell's edge runs through the
    fine bucket and the point lies only in a higher one (found by the muck-truck app's 384
    widened places: a point inside its own site answered -1)."""
    rng = np.random.default_rng(seed)
    polys = []
    for _ in range(n):
        cx, cy = rng.uniform(0, 10, 2)
        r = rng.uniform(0.05, 3.0)
        k = int(rng.integers(3, 24))
        a = np.sort(rng.uniform(0, 2 * np.pi, k))
        if len(np.unique(a)) < 3:
            continue
        poly = shapely.Polygon(np.c_[cx + r * np.cos(a), cy + r * np.sin(a)])
        if poly.is_valid and poly.area > 0:
            polys.append(shapely.geometry.mapping(poly))
    if not polys:
        return
    g = GridIndex(polys, max_buckets=max_buckets)
    ref = ReferenceGrid(polys)
    xs, ys = rng.uniform(-1, 11, 3000), rng.uniform(-1, 11, 3000)
    got = g.locate_many(xs, ys).tolist()
    assert got == [ref.locate(x, y) for x, y in zip(xs, ys, strict=True)]
