"""A record: one entity as one source system described it, with provenance.

Connectors produce records, the store keeps them, GraphQL types are built from them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)


class RecordError(ValueError):
    """A record is malformed; the message says which field and why."""


Datum = Literal["GCJ-02", "WGS-84", "BD-09"]

_GEOMETRY_TYPES = {
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
}
_KIND = re.compile(r"^[A-Z][A-Za-z0-9]{0,63}$")


class Record(BaseModel):
    """One entity as a source system described it, plus where and when it came from."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: str = Field(description="Schema type, CamelCase: GridCell, FinanceFirm, ...")
    key: str = Field(min_length=1, max_length=128, description="Hub id, unique within kind")
    source_system: str = Field(min_length=1, max_length=64)
    source_id: str = Field(min_length=1, max_length=128)
    fetched_at: datetime = Field(description="When the connector read it from the source")
    ingested_at: datetime | None = Field(None, description="When the store accepted it")
    attrs: dict[str, Any] = Field(default_factory=dict)
    geometry: dict[str, Any] | None = None
    datum: Datum | None = None
    version: int | None = Field(
        None,
        ge=1,
        description="The stored row's version, bumped by every write of it (set when read "
        "from the store): a workflow step names the version it acts on",
    )

    @field_validator("kind")
    @classmethod
    def _kind(cls, value: str) -> str:
        if not _KIND.match(value):
            raise ValueError("must be a CamelCase type name such as GridCell")
        return value

    @field_validator("fetched_at", "ingested_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must carry a time zone offset")
        return value

    @field_validator("geometry")
    @classmethod
    def _geojson(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        kind = value.get("type")
        if kind not in _GEOMETRY_TYPES:
            raise ValueError(f"not a GeoJSON geometry type: {kind!r}")
        key = "geometries" if kind == "GeometryCollection" else "coordinates"
        if not isinstance(value.get(key), list):
            raise ValueError(f"a {kind} needs a '{key}' array")
        return value

    @model_validator(mode="after")
    def _datum_with_geometry(self) -> Record:
        if (self.geometry is None) != (self.datum is None):
            raise ValueError("geometry and datum go together: give both or neither")
        return self

    @classmethod
    def parse(cls, data: Any) -> Record:
        """Validate a decoded JSON object; raise RecordError naming the first bad field."""
        if not isinstance(data, dict):
            raise RecordError(f"a record must be a JSON object, got {type(data).__name__}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "record"
            message = str(first["msg"]).removeprefix("Value error, ")
            raise RecordError(f"{where}: {message}") from None

    def point(self) -> tuple[float, float] | None:
        """Where it is, (lon, lat), when its geometry is a point; else None."""
        g = self.geometry
        if g and g.get("type") == "Point":
            lon, lat = g["coordinates"][:2]
            return float(lon), float(lat)
        return None

    def stamped(self, when: datetime | None = None) -> Record:
        return self.model_copy(update={"ingested_at": when or datetime.now(UTC)})
