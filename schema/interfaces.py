"""Interfaces shared by the city's types: where a thing is, and where its data came from."""

from __future__ import annotations

from datetime import datetime

import strawberry

from schema.scalars import GeoJSON


@strawberry.type(description="Where a record came from: which system, its id there, when.")
class Provenance:
    system: str = strawberry.field(description="Source system id, e.g. grid-management")
    source_id: str = strawberry.field(description="The record's id in its source system")
    fetched_at: datetime = strawberry.field(description="When the hub read it from the source")
    ingested_at: datetime = strawberry.field(description="When the hub stored it")


@strawberry.interface(description="Something with a place on the city map.")
class Located:
    geometry: GeoJSON | None = strawberry.field(description="Shape or position, lon/lat")
    datum: str | None = strawberry.field(description="Datum of the coordinates: GCJ-02 or WGS-84")


@strawberry.interface(description="Something whose data comes from a source system.")
class Sourced:
    source: Provenance
