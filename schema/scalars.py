"""Scalars of the shared schema; ``SCALARS`` goes into the schema config's scalar_map."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

_GEOMETRY_TYPES = frozenset(
    {
        "Point",
        "MultiPoint",
        "LineString",
        "MultiLineString",
        "Polygon",
        "MultiPolygon",
        "GeometryCollection",
    }
)


def _parse_geojson(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or value.get("type") not in _GEOMETRY_TYPES:
        raise ValueError("GeoJSON must be a geometry object with a GeoJSON 'type'")
    return value


GeoJSON = NewType("GeoJSON", dict[str, Any])


def geojson(geometry: dict[str, Any] | None) -> GeoJSON | None:
    """A record's geometry (validated when the record was made) as the GeoJSON scalar."""
    return GeoJSON(geometry) if geometry is not None else None


SCALARS: Mapping[object, ScalarDefinition] = {
    GeoJSON: strawberry.scalar(
        name="GeoJSON",
        description=(
            "A GeoJSON geometry object (RFC 7946 structure). Coordinates are lon/lat in the "
            "datum named beside it (the city's map layers use GCJ-02)."
        ),
        specified_by_url="https://www.rfc-editor.org/rfc/rfc7946",
        serialize=lambda value: value,
        parse_value=_parse_geojson,
    )
}
