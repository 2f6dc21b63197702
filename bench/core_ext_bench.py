"""core_ext benchmarks: every figure is printed with its ratio against a baseline measured in
the same run, on the same machine, single-threaded.

  locate_many   1,000,000 points over the real 743 Binhai cells vs shapely (STRtree bounding-box
                query + contains_xy on prepared cells) and vs a numpy lookup table
  locate        one call from Python vs shapely's STRtree point query
  PointIndex    3,000 moving points, positions updated between query batches, vs scipy cKDTree
                rebuilt for each batch
  smoke_index   1,000,000 firms with explanations vs numpy without them
  datums        WGS-84 -> GCJ-02 and haversine on 1,000,000 points vs numpy

Usage: python -m bench [--quick] [--seed N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

import core_ext


def best_of(fn: Callable[[], Any], repeat: int, min_time: float = 0.0) -> float:
    """Best wall time of ``repeat`` runs (at least until ``min_time`` seconds in total)."""
    fn()  # warm-up
    best = float("inf")
    spent = 0.0
    runs = 0
    while runs < repeat or spent < min_time:
        t0 = time.perf_counter()
        fn()
        dt = time.perf_counter() - t0
        best = min(best, dt)
        spent += dt
        runs += 1
    return best


def line(name: str, value: str, ratio: float | None = None, base: str = "") -> None:
    r = f"  {ratio:8.1f}x vs {base}" if ratio is not None else ""
    print(f"  {name:<44} {value:>16}{r}", flush=True)


def load_cells(quick: bool) -> tuple[list[dict[str, Any]], str]:
    try:
        from simcity.binhai.geography import grid_cells
    except ImportError:  # the generator is not installed: a synthetic exact tessellation
        from core_ext.reference.tessellations import jittered_lattice

        cells, _ = jittered_lattice(28, 27, seed=2019)
        return cells, f"synthetic lattice ({len(cells)} cells; simcity not importable)"
    cells = grid_cells(seed=2019)
    return cells, f"real Binhai grid ({len(cells)} cells, seed 2019)"


def bench_grid(quick: bool, rng: np.random.Generator) -> None:
    import shapely
    from shapely.geometry import shape

    cells, what = load_cells(quick)
    n = 100_000 if quick else 1_000_000
    print(f"\nGridIndex.locate_many — {n:,} points uniform in the bounding box of the {what}")
    t0 = time.perf_counter()
    g = core_ext.GridIndex(cells)
    build = time.perf_counter() - t0
    x0, y0, x1, y1 = g.bounds
    xs = rng.uniform(x0, x1, n)
    ys = rng.uniform(y0, y1, n)
    geoms = [shape(c.get("geometry", c)) for c in cells]
    for gm in geoms:
        shapely.prepare(gm)
    tree = shapely.STRtree(geoms)

    def shapely_locate() -> np.ndarray:
        pts = shapely.points(xs, ys)
        p_idx, c_idx = tree.query(pts)  # bounding-box candidates
        hit = shapely.contains_xy(np.take(geoms, c_idx), xs[p_idx], ys[p_idx])
        out = np.full(n, -1, dtype=np.int32)
        out[p_idx[hit]] = c_idx[hit]
        return out

    # numpy lookup table: cells rasterised once at ~20 m, then fancy indexing (approximate)
    res = 1024 if quick else 4096
    gx = x0 + (np.arange(res) + 0.5) * (x1 - x0) / res
    gy = y0 + (np.arange(res) + 0.5) * (y1 - y0) / res
    t1 = time.perf_counter()
    mx, my = np.meshgrid(gx, gy)
    table = g.locate_many(mx.ravel(), my.ravel()).reshape(res, res)
    table_build = time.perf_counter() - t1
    sx, sy = res / (x1 - x0), res / (y1 - y0)

    def numpy_locate() -> np.ndarray:
        ix = np.minimum(((xs - x0) * sx).astype(np.intp), res - 1)
        iy = np.minimum(((ys - y0) * sy).astype(np.intp), res - 1)
        return table[iy, ix]

    ours = g.locate_many(xs, ys)
    base = shapely_locate()
    # shapely's contains_xy excludes boundary points; random points never hit one
    assert (ours == base).all(), "GridIndex and shapely disagree"
    lut_wrong = int((numpy_locate() != ours).sum())
    rep = 3 if quick else 7
    t_ours = best_of(lambda: g.locate_many(xs, ys), rep, 0.5)
    t_shp = best_of(shapely_locate, 1)
    t_np = best_of(numpy_locate, rep)
    st = g.stats()
    line("GridIndex build", f"{build * 1e3:.1f} ms")
    print(
        f"    ({st['buckets_x']}x{st['buckets_y']} buckets, {st['refined_buckets']} refined, "
        f"{st['record_buckets']} with edge records, {st['bytes'] / 1e6:.1f} MB)"
    )
    line("GridIndex.locate_many", f"{n / t_ours / 1e6:.1f} M pts/s", t_shp / t_ours, "shapely")
    line("  shapely STRtree + contains_xy (prepared)", f"{n / t_shp / 1e6:.2f} M pts/s")
    line("GridIndex.locate_many", f"{n / t_ours / 1e6:.1f} M pts/s", t_np / t_ours, "numpy LUT")
    line(
        f"  numpy lookup table {res}x{res}",
        f"{n / t_np / 1e6:.1f} M pts/s",
    )
    print(
        f"    (LUT built in {table_build:.2f} s; it is approximate: {lut_wrong:,} of {n:,} "
        f"points ({lut_wrong / n:.2%}) get a wrong cell; GridIndex matches shapely on all)"
    )

    # single call latency
    pts = list(zip(xs[:1000].tolist(), ys[:1000].tolist(), strict=True))
    loc = g.locate

    def many_single() -> None:
        for x, y in pts:
            loc(x, y)

    t_single = best_of(many_single, 5 if quick else 20) / len(pts)
    shp_pts = [shapely.Point(x, y) for x, y in pts[:200]]

    def shapely_single() -> None:
        for p in shp_pts:
            tree.query(p, predicate="within")

    t_shp_single = best_of(shapely_single, 3) / len(shp_pts)
    line(
        "GridIndex.locate, one call from Python",
        f"{t_single * 1e9:.0f} ns",
        t_shp_single / t_single,
        "shapely",
    )
    line("  shapely STRtree.query(point, 'within')", f"{t_shp_single * 1e9:.0f} ns")


def bench_points(quick: bool, rng: np.random.Generator) -> None:
    from scipy.spatial import cKDTree

    n, q, k = 3000, 1000, 5
    batches = 10 if quick else 60
    print(
        f"\nPointIndex — {n:,} moving points; per batch: move all, then {q:,} "
        f"nearest(k={k}) queries; {batches} batches"
    )
    ids = np.arange(n, dtype=np.int64)
    lon0 = rng.uniform(117.2, 118.0, n)
    lat0 = rng.uniform(38.6, 39.3, n)
    moves = []
    lon, lat = lon0, lat0
    for _ in range(batches):
        lon = lon + rng.normal(0, 2e-4, n)
        lat = lat + rng.normal(0, 2e-4, n)
        moves.append((lon, lat))
    queries = [(rng.uniform(117.2, 118.0, q), rng.uniform(38.6, 39.3, q)) for _ in moves]
    idx = core_ext.PointIndex()
    idx.upsert_many(ids, lon0, lat0)

    def ours() -> None:
        for (mx, my), (qx, qy) in zip(moves, queries, strict=True):
            idx.move_many(ids, mx, my)
            idx.nearest_many(qx, qy, k)

    def unit(lo: np.ndarray, la: np.ndarray) -> np.ndarray:
        lo, la = np.radians(lo), np.radians(la)
        c = np.cos(la)
        return np.column_stack([c * np.cos(lo), c * np.sin(lo), np.sin(la)])

    def kdtree() -> None:
        for (mx, my), (qx, qy) in zip(moves, queries, strict=True):
            cKDTree(unit(mx, my)).query(unit(qx, qy), k)

    # same neighbours
    idx.move_many(ids, *moves[-1])
    got, _ = idx.nearest_many(*queries[-1], k)
    _, want = cKDTree(unit(*moves[-1])).query(unit(*queries[-1]), k)
    agree = float((got == want).mean())
    rep = 3 if quick else 7
    t_ours = best_of(ours, rep) / batches
    t_kd = best_of(kdtree, rep) / batches
    line(
        "PointIndex move_many + nearest_many",
        f"{t_ours * 1e3:.3f} ms/batch",
        t_kd / t_ours,
        "cKDTree",
    )
    line("  scipy cKDTree rebuilt + query", f"{t_kd * 1e3:.3f} ms/batch")
    print(f"    (same neighbours as cKDTree for {agree:.2%} of the {q * k:,} results)")
    single = best_of(lambda: [idx.nearest(117.6, 39.0, 5) for _ in range(200)], 5) / 200
    line("PointIndex.nearest(k=5), one call", f"{single * 1e6:.2f} us")


def numpy_smoke(x: np.ndarray, cfg: core_ext.SmokeIndexConfig) -> tuple[np.ndarray, np.ndarray]:
    """The smoke index in numpy, scores and levels only (no explanations)."""
    w = np.asarray(cfg.weights, dtype=np.float64)
    factor = 100.0 * w / w.sum()
    score = np.zeros(len(x))
    for d, t in enumerate(cfg.transforms):
        col = x[:, d]
        if t.kind == "linear":
            v = np.clip((col - t.p1) * (1.0 / (t.p2 - t.p1)), 0.0, 1.0)
        elif t.kind == "log":
            v = np.clip(np.log1p(np.maximum(col, 0.0)) * (1.0 / np.log1p(t.p1)), 0.0, 1.0)
        else:
            v = 1.0 / (1.0 + np.exp((t.p1 - col) * (1.0 / t.p2)))
        score += v * factor[d]
    levels = np.searchsorted(np.asarray(cfg.bands), score, side="left").astype(np.int32)
    return score, levels


def bench_smoke(quick: bool, rng: np.random.Generator) -> None:
    n = 100_000 if quick else 1_000_000
    print(f"\nsmoke_index — {n:,} firms x 5 dimensions (default config: 3 linear, 2 log)")
    x = np.column_stack(
        [
            rng.uniform(0, 1, n),
            rng.lognormal(4, 2, n),
            rng.uniform(0, 40, n),
            rng.exponential(2, n),
            rng.poisson(5, n).astype(float),
        ]
    )
    cfg = core_ext.SmokeIndexConfig()
    r = core_ext.smoke_index(x, cfg)
    s, lv = numpy_smoke(x, cfg)
    assert np.allclose(r.scores, s, atol=1e-9) and (r.levels == lv).mean() > 0.9999
    rep = 3 if quick else 7
    t_ours = best_of(lambda: core_ext.smoke_index(x, cfg), rep)
    t_np = best_of(lambda: numpy_smoke(x, cfg), rep)
    line(
        "smoke_index with contributions",
        f"{n / t_ours / 1e6:.1f} M firms/s",
        t_np / t_ours,
        "numpy",
    )
    line("  numpy, scores + levels only", f"{n / t_np / 1e6:.1f} M firms/s")


def bench_datums(quick: bool, rng: np.random.Generator) -> None:
    from core_ext.reference import geodesy as ref

    n = 100_000 if quick else 1_000_000
    print(f"\ndatums and distances — {n:,} points")
    lon = rng.uniform(117.2, 118.0, n)
    lat = rng.uniform(38.6, 39.3, n)

    def np_gcj(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x, y = lon - 105.0, lat - 35.0
        pi = np.pi
        d = 20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)
        dlat = (
            d
            + 20.0 * np.sin(y * pi)
            + 40.0 * np.sin(y * pi / 3.0)
            + 160.0 * np.sin(y * pi / 12.0)
            + 320.0 * np.sin(y * pi / 30.0)
        ) * (2.0 / 3.0)
        dlon = (
            d
            + 20.0 * np.sin(x * pi)
            + 40.0 * np.sin(x * pi / 3.0)
            + 150.0 * np.sin(x * pi / 12.0)
            + 300.0 * np.sin(x * pi / 30.0)
        ) * (2.0 / 3.0)
        dlat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
        dlon += 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
        rad = lat / 180.0 * pi
        magic = 1.0 - ref.KRASOVSKY_EE * np.sin(rad) ** 2
        sm = np.sqrt(magic)
        dlat = dlat * 180.0 / ((ref.KRASOVSKY_A * (1 - ref.KRASOVSKY_EE)) / (magic * sm) * pi)
        dlon = dlon * 180.0 / (ref.KRASOVSKY_A / sm * np.cos(rad) * pi)
        return lon + dlon, lat + dlat

    gx, gy = core_ext.wgs84_to_gcj02_many(lon, lat)
    nx, ny = np_gcj(lon, lat)
    assert np.allclose(gx, nx, atol=1e-9) and np.allclose(gy, ny, atol=1e-9)
    rep = 3 if quick else 5
    t_ours = best_of(lambda: core_ext.wgs84_to_gcj02_many(lon, lat), rep)
    t_np = best_of(lambda: np_gcj(lon, lat), rep)
    line("wgs84_to_gcj02_many", f"{n / t_ours / 1e6:.1f} M pts/s", t_np / t_ours, "numpy")
    line("  numpy eviltransform", f"{n / t_np / 1e6:.1f} M pts/s")

    def np_hav() -> np.ndarray:
        p1, p2 = np.radians(lat), np.radians(gy)
        a = (
            np.sin((p2 - p1) / 2) ** 2
            + np.cos(p1) * np.cos(p2) * np.sin(np.radians(gx - lon) / 2) ** 2
        )
        return 2 * core_ext.EARTH_RADIUS_M * np.arcsin(np.minimum(np.sqrt(a), 1.0))

    t_ours = best_of(lambda: core_ext.haversine_m_many(lon, lat, gx, gy), rep)
    t_np = best_of(np_hav, rep)
    line("haversine_m_many", f"{n / t_ours / 1e6:.1f} M pairs/s", t_np / t_ours, "numpy")
    line("  numpy haversine", f"{n / t_np / 1e6:.1f} M pairs/s")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ap.add_argument("--quick", action="store_true", help="small sizes: a smoke run of seconds")
    ap.add_argument("--seed", type=int, default=2019)
    ap.add_argument("--only", choices=["grid", "points", "smoke", "datums"], action="append")
    args = ap.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    print(
        f"cityhub core_ext benchmarks{' (quick)' if args.quick else ''} — python "
        f"{sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} CPUs, "
        "single-threaded; best of several runs"
    )
    for name, fn in (
        ("grid", bench_grid),
        ("points", bench_points),
        ("smoke", bench_smoke),
        ("datums", bench_datums),
    ):
        if not args.only or name in args.only:
            fn(args.quick, rng)
    return 0
