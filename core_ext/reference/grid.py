"""Reference (oracle) for ``GridIndex``: the crossing-number rule with exact rational
arithmetic, cell by cell. Same on-edge rule: a point on an edge belongs to the cell containing
the point displaced by (ε, ε²) — upward edges count when ``ay <= py < by`` and the point is
strictly left of them; horizontal edges never count. Lowest index wins on overlaps."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np

from .._polygons import polygons_of


def _orient(ax: float, ay: float, bx: float, by: float, px: float, py: float) -> int:
    fa, fb = Fraction(ax) - Fraction(px), Fraction(by) - Fraction(py)
    fc, fd = Fraction(ay) - Fraction(py), Fraction(bx) - Fraction(px)
    det = fa * fb - fc * fd
    return (det > 0) - (det < 0)


class ReferenceGrid:
    def __init__(self, cells: list[Any]) -> None:
        self.cells: list[list[tuple[float, float, float, float]]] = []
        for i, item in enumerate(cells):
            edges = []
            for poly in polygons_of(item, f"cell {i}"):
                for ring in poly:
                    pts = [(float(x), float(y)) for x, y in ring]
                    if pts and pts[0] == pts[-1]:
                        pts.pop()
                    for k in range(len(pts)):
                        (x1, y1), (x2, y2) = pts[k], pts[(k + 1) % len(pts)]
                        if y1 < y2:
                            edges.append((x1, y1, x2, y2))
                        elif y2 < y1:
                            edges.append((x2, y2, x1, y1))
            self.cells.append(edges)

    def contains(self, cell: int, x: float, y: float) -> bool:
        inside = False
        for ax, ay, bx, by in self.cells[cell]:
            if ay <= y < by and _orient(ax, ay, bx, by, x, y) > 0:
                inside = not inside
        return inside

    def locate(self, x: float, y: float) -> int:
        if not (np.isfinite(x) and np.isfinite(y)):
            raise ValueError("coordinates must be finite")
        for i in range(len(self.cells)):
            if self.contains(i, x, y):
                return i
        return -1
