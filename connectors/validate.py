"""Checks a record must pass before the hub keeps it: credit codes and where it lies.

* every attribute named ``uscc`` or ending in ``_uscc`` must be a valid unified social
  credit code (GB 32100 check digits) when it is given;
* a point must lie inside the city's area (a small tolerance for GPS jitter at the edge);
  other geometries must have their bounds inside the area's bounds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import shapely
from shapely.geometry.base import BaseGeometry

from schema.record import Record
from schema.uscc import USCCError, validate_uscc


@dataclass
class RecordValidator:
    area: BaseGeometry | None = None
    tolerance_deg: float = 0.01  # about 1 km

    def __post_init__(self) -> None:
        self._zone: BaseGeometry | None = None
        self._bounds: tuple[float, float, float, float] | None = None
        if self.area is not None:
            self._zone = self.area.buffer(self.tolerance_deg)
            shapely.prepare(self._zone)
            self._bounds = self._zone.bounds

    def reason(self, record: Record) -> str | None:
        """Why the record must be quarantined, or None when it is fine."""
        for name, value in record.attrs.items():
            if (name == "uscc" or name.endswith("_uscc")) and value not in (None, ""):
                try:
                    validate_uscc(str(value))
                except USCCError as exc:
                    return f"invalid credit code in {name!r} ({value!r}): {exc}"
        if record.geometry is not None and self._zone is not None:
            return self._where(record.geometry)
        return None

    def _where(self, geometry: dict[str, Any]) -> str | None:
        assert self._zone is not None and self._bounds is not None
        if geometry["type"] == "Point":
            coords = geometry["coordinates"]
            if len(coords) < 2 or not all(isinstance(c, int | float) for c in coords[:2]):
                return f"point coordinates are not numbers: {coords!r}"
            lon, lat = float(coords[0]), float(coords[1])
            if not shapely.contains_xy(self._zone, lon, lat):
                return f"coordinates outside the district: ({lon}, {lat})"
            return None
        try:
            minx, miny, maxx, maxy = shapely.geometry.shape(geometry).bounds
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            return f"geometry is not valid GeoJSON: {exc}"
        bx0, by0, bx1, by1 = self._bounds
        if minx < bx0 or miny < by0 or maxx > bx1 or maxy > by1:
            return f"geometry extends outside the district: bounds ({minx}, {miny}, {maxx}, {maxy})"
        return None
