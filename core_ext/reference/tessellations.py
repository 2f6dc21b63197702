"""Synthetic tessellations with exactly shared edges, for tests and benchmarks."""

from __future__ import annotations

from typing import Any

import numpy as np


def jittered_lattice(
    nx: int, ny: int, seed: int, *, straight_every: int = 3
) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Quads over a jittered (nx+1) x (ny+1) lattice: edges are shared exactly.

    Every ``straight_every``-th lattice row/column is not jittered, so some edges are exactly
    horizontal or vertical. Cell 0 is a two-part MultiPolygon (the first and last quads);
    the quad at the centre has a hole filled by an island cell (the last cell).
    Returns (cells as GeoJSON mappings, lattice points (ny+1, nx+1, 2)).
    """
    rng = np.random.default_rng(seed)
    xs = np.arange(nx + 1, dtype=float)
    ys = np.arange(ny + 1, dtype=float)
    pts = np.stack(np.meshgrid(xs, ys), axis=-1) + rng.uniform(-0.3, 0.3, (ny + 1, nx + 1, 2))
    for j in range(0, ny + 1, straight_every):
        pts[j, :, 1] = float(j)
    for i in range(0, nx + 1, straight_every):
        pts[:, i, 0] = float(i)
    pts = 117.0 + pts * 0.01  # lon/lat-ish magnitudes
    quads = []
    for j in range(ny):
        for i in range(nx):
            ring = [pts[j, i], pts[j, i + 1], pts[j + 1, i + 1], pts[j + 1, i], pts[j, i]]
            quads.append([[float(x), float(y)] for x, y in ring])
    centre = (ny // 2) * nx + nx // 2
    c = np.mean(np.asarray(quads[centre][:4]), axis=0)
    hole = [[c[0] - 0.001, c[1] - 0.001], [c[0] + 0.001, c[1] - 0.001],
            [c[0] + 0.001, c[1] + 0.001], [c[0] - 0.001, c[1] + 0.001],
            [c[0] - 0.001, c[1] - 0.001]]  # fmt: skip
    cells: list[dict[str, Any]] = []
    cells.append({"type": "MultiPolygon", "coordinates": [[quads[0]], [quads[-1]]]})
    for k in range(1, len(quads) - 1):
        rings = [quads[k], hole[::-1]] if k == centre else [quads[k]]
        cells.append({"type": "Polygon", "coordinates": rings})
    cells.append({"type": "Polygon", "coordinates": [hole]})
    return cells, pts
