"""Parsing polygons for the compiled core: GeoJSON mappings, features, shapely geometries or
coordinate arrays -> flat ring arrays (vertices, ring offsets, ring owners)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

Ring = npt.NDArray[np.float64]
PolygonRings = list[Ring]


def _ring(obj: Any, where: str) -> Ring:
    try:
        arr = np.asarray(obj)
    except ValueError as exc:  # ragged
        raise ValueError(f"{where}: a ring must be a sequence of (x, y) pairs") from exc
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{where}: coordinates must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[1] < 2:
        raise ValueError(f"{where}: a ring must have shape (n, 2), got {arr.shape}")
    return np.ascontiguousarray(arr[:, :2], dtype=np.float64)


def _depth(obj: Any) -> int:
    """Nesting depth of a coordinate structure: 1 for a pair, 2 for a ring, ..."""
    depth = 0
    while not isinstance(obj, (int, float, np.integer, np.floating)):
        if isinstance(obj, (str, bytes, Mapping)):
            raise TypeError(f"unexpected {type(obj).__name__} inside coordinates")
        if isinstance(obj, np.ndarray):
            return depth + obj.ndim
        try:
            obj = next(iter(obj))
        except StopIteration:
            return depth + 1
        except TypeError as exc:
            raise TypeError(f"coordinates must be numbers, got {type(obj).__name__}") from exc
        depth += 1
    return depth


def polygons_of(obj: Any, where: str = "geometry") -> list[PolygonRings]:
    """The polygons (each a list of rings) making up one cell or fence.

    Accepts a GeoJSON Polygon / MultiPolygon mapping, a Feature or a mapping with a
    ``"geometry"`` key, any object with ``__geo_interface__`` (shapely), or coordinates: an
    (n, 2) ring, a list of rings (Polygon coordinates) or a list of polygons.
    """
    if hasattr(obj, "__geo_interface__") and not isinstance(obj, Mapping):
        obj = obj.__geo_interface__
    if isinstance(obj, Mapping):
        if "geometry" in obj:
            return polygons_of(obj["geometry"], where)
        kind = obj.get("type")
        if kind not in ("Polygon", "MultiPolygon"):
            raise ValueError(f"{where}: expected a Polygon or MultiPolygon, got type {kind!r}")
        coords = obj.get("coordinates")
        if coords is None:
            raise ValueError(f"{where}: a {kind} without coordinates")
        if kind == "Polygon":
            return [[_ring(r, f"{where} ring {i}") for i, r in enumerate(coords)]]
        return [
            [_ring(r, f"{where} part {j} ring {i}") for i, r in enumerate(poly)]
            for j, poly in enumerate(coords)
        ]
    if isinstance(obj, (str, bytes)):
        raise TypeError(f"{where}: expected polygon coordinates, got {type(obj).__name__}")
    depth = _depth(obj)
    if depth == 2:
        return [[_ring(obj, where)]]
    if depth == 3:
        return [[_ring(r, f"{where} ring {i}") for i, r in enumerate(obj)]]
    if depth == 4:
        return [
            [_ring(r, f"{where} part {j} ring {i}") for i, r in enumerate(poly)]
            for j, poly in enumerate(obj)
        ]
    raise ValueError(f"{where}: cannot read polygon coordinates (nesting depth {depth})")


def key_of(obj: Any) -> str | None:
    """A cell's key when the item carries one (``{"key": ..., "geometry": ...}``)."""
    if isinstance(obj, Mapping):
        for name in ("key", "id"):
            if name in obj and obj[name] is not None:
                return str(obj[name])
        props = obj.get("properties")
        if isinstance(props, Mapping):
            for name in ("key", "id"):
                if name in props and props[name] is not None:
                    return str(props[name])
    return None


def flatten(
    items: Iterable[Any],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.int64], npt.NDArray[np.int64], int]:
    """Flatten cells into (xy (n, 2), ring_offsets (r + 1), ring_cells (r), n_cells)."""
    rings: list[Ring] = []
    owners: list[int] = []
    n = 0
    for n, item in enumerate(items, start=1):
        for poly in polygons_of(item, f"cell {n - 1}"):
            for ring in poly:
                rings.append(ring)
                owners.append(n - 1)
    offsets = np.zeros(len(rings) + 1, dtype=np.int64)
    if rings:
        np.cumsum([len(r) for r in rings], out=offsets[1:])
        xy = np.ascontiguousarray(np.concatenate(rings), dtype=np.float64)
    else:
        xy = np.zeros((0, 2), dtype=np.float64)
    return xy, offsets, np.asarray(owners, dtype=np.int64), n


def as_sequence(items: Any) -> Sequence[Any]:
    if isinstance(items, (str, bytes, Mapping)):
        raise TypeError("cells must be a sequence of polygons, not a single mapping or string")
    return list(items)
