"""``PointIndex``: who is the nearest on-duty inspector? Moving points by id.

Points (inspectors, vehicles) have an id (``int`` or ``str``), a position in degrees (use one
datum throughout, e.g. GCJ-02 like the map layers), an ``on_duty`` flag and a duty
``category``. ``upsert`` / ``move`` / ``remove`` by id (unknown ids raise ``KeyError``);
``nearest(lon, lat, k, on_duty=..., categories=...)`` and ``within(lon, lat, radius_m, ...)``
return ``[(id, metres)]`` nearest first, ties broken by first insertion. Distances are
great-circle metres on the mean Earth sphere. Moves are O(1); the spatial grid is rebuilt
lazily (O(n)) on the first query after a move, so batches of moves between query batches are
cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import as_f64

PointId = int | str


def _categories(categories: str | Iterable[str] | None) -> list[str] | None:
    if categories is None:
        return None
    if isinstance(categories, str):
        return [categories]
    out = list(categories)
    if not all(isinstance(c, str) for c in out):
        raise TypeError("categories must be strings")
    return out


def _ids(ids: Any) -> Any:
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind in "iu":
            return np.ascontiguousarray(ids, dtype=np.int64)
        if ids.dtype.kind in "fcb":
            raise TypeError(f"ids must be ints or strs, got dtype {ids.dtype}")
        return ids.tolist()
    return ids


class PointIndex(_core.PointIndex):
    """Moving points by id with on-duty / category attributes; nearest and within queries."""

    def upsert_many(
        self,
        ids: Any,
        lons: Any,
        lats: Any,
        on_duty: Any = None,
        categories: Iterable[str] | None = None,
    ) -> None:
        """Insert or update many points at once (ids: int64 array or sequence of ids)."""
        duty = None
        if on_duty is not None:
            arr = np.asarray(on_duty)
            if arr.dtype != np.bool_:
                raise TypeError(f"on_duty must be booleans, got dtype {arr.dtype}")
            duty = np.ascontiguousarray(arr)
        cats = None if categories is None else _categories(categories)
        super().upsert_many(_ids(ids), as_f64("lons", lons), as_f64("lats", lats), duty, cats)

    def move_many(self, ids: Any, lons: Any, lats: Any) -> None:
        """Move many known points; ``KeyError`` (and no move at all) if one id is unknown."""
        super().move_many(_ids(ids), as_f64("lons", lons), as_f64("lats", lats))

    def nearest(
        self,
        lon: float,
        lat: float,
        k: int = 1,
        *,
        on_duty: bool | None = None,
        categories: str | Iterable[str] | None = None,
    ) -> list[tuple[PointId, float]]:
        """The ``k`` nearest accepted points as ``[(id, metres)]``, nearest first."""
        return super().nearest(lon, lat, k, on_duty=on_duty, categories=_categories(categories))

    def within(
        self,
        lon: float,
        lat: float,
        radius_m: float,
        *,
        on_duty: bool | None = None,
        categories: str | Iterable[str] | None = None,
    ) -> list[tuple[PointId, float]]:
        """Accepted points within ``radius_m`` metres as ``[(id, metres)]``, nearest first."""
        return super().within(
            lon, lat, radius_m, on_duty=on_duty, categories=_categories(categories)
        )

    def nearest_many(
        self,
        lons: Any,
        lats: Any,
        k: int = 1,
        *,
        on_duty: bool | None = None,
        categories: str | Iterable[str] | None = None,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """Batch :meth:`nearest` for integer ids: ``(ids (n, k), metres (n, k))``.

        Where fewer than ``k`` points are accepted, the distance is ``inf`` and the id ``-1``.
        """
        return super().nearest_many(
            as_f64("lons", lons),
            as_f64("lats", lats),
            k,
            on_duty=on_duty,
            categories=_categories(categories),
        )

    def __repr__(self) -> str:
        return f"PointIndex({len(self)} points)"
