"""``GridIndex``: which grid cell is this report in? Exact point -> cell lookup.

Built from polygons (GeoJSON Polygon/MultiPolygon mappings, features such as
``simcity.binhai.geography.grid_cells()`` items, shapely geometries, or coordinate arrays);
multi-part cells and holes are supported. Invalid (self-intersecting) polygons raise
``ValueError``.

**On-edge rule** (half-open): a point exactly on an edge or vertex belongs to the cell that
contains the point displaced by an infinitesimal (ε, ε²), i.e. the cell to its **east**, and on
a horizontal edge the cell to its **north**. So a point on an edge shared by two cells belongs to
exactly one of them; a point on the outer boundary of the grid belongs to the cell only when
it lies on a west or south side of it. Points strictly inside a cell give the same answer as
``shapely.contains_xy``. If cells overlap, the lowest index wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import as_f64, real_scalar
from ._polygons import as_sequence, flatten, key_of


class GridIndex(_core.GridIndex):
    """Exact point -> cell index lookup over polygons.

    ``GridIndex(cells, max_buckets=None)``: ``cells`` is a sequence of polygons (see module
    docs). ``locate(lon, lat) -> int`` (-1 outside) and ``locate_many(lons, lats) -> int32
    array`` (GIL released). ``keys`` holds each cell's ``"key"`` when the items carried one.
    """

    keys: list[str | None]

    def __new__(cls, cells: Iterable[Any], *, max_buckets: int | None = None) -> GridIndex:
        items = as_sequence(cells)
        xy, offsets, owners, n = flatten(items)
        if max_buckets is not None and (
            isinstance(max_buckets, bool) or not isinstance(max_buckets, int)
        ):
            raise TypeError("max_buckets must be an int")
        self = super().__new__(cls, xy, offsets, owners, n, max_buckets)
        self.keys = [key_of(item) for item in items]
        return self

    def locate_many(self, lons: Any, lats: Any) -> npt.NDArray[np.int32]:
        """Cell index for every point (-1 outside); ``ValueError`` on NaN/inf or unequal lengths."""
        return super().locate_many(as_f64("lons", lons), as_f64("lats", lats))

    def locate_key(self, lon: float, lat: float) -> str | None:
        """The key of the cell containing the point, or None outside every cell."""
        i = self.locate(real_scalar("lon", lon), real_scalar("lat", lat))
        return None if i < 0 else self.keys[i]

    def __repr__(self) -> str:
        return f"GridIndex({self.n_cells} cells, bounds={self.bounds})"
