"""The grid: 743 cells, one inspector each ("one cell, one inspector")."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import strawberry
from strawberry import relay

from schema.classification import classified
from schema.context import records
from schema.federation import reference_record, representation_key
from schema.interfaces import Located, Provenance, Sourced
from schema.record import Record
from schema.scalars import GeoJSON, geojson

N = TypeVar("N")


def provenance(record: Record) -> Provenance:
    return Provenance(
        system=record.source_system,
        source_id=record.source_id,
        fetched_at=record.fetched_at,
        ingested_at=record.ingested_at or record.fetched_at,
    )


async def _nodes(
    kind: str,
    build: Callable[[Record], N],
    info: strawberry.Info,
    ids: Iterable[str],
    required: bool,
) -> list[N | None]:
    keys = list(ids)
    found = await records(info).load_many(kind, keys)
    if required:
        missing = [k for k, r in zip(keys, found, strict=True) if r is None]
        if missing:
            raise LookupError(f"no {kind} with id {missing[0]!r}")
    return [build(r) if r is not None else None for r in found]


@strawberry.federation.type(
    keys=["id", "code"],
    description="A grid cell: the unit of grid management, walked by one inspector.",
)
class GridCell(relay.Node, Located, Sourced):
    id: relay.NodeID[str]
    code: str = strawberry.field(
        description="Grid code, e.g. BH-XG-001", metadata=classified("public")
    )
    name: str = strawberry.field(
        description="Chinese name, e.g. 新港街道第3网格", metadata=classified("public")
    )
    street: str | None = strawberry.field(
        description="The street (街道) or town (镇) it is in", metadata=classified("public")
    )
    area_km2: float = strawberry.field(
        description="Area in square kilometres", metadata=classified("public")
    )
    population: int | None = strawberry.field(
        description="Estimated residents", metadata=classified("internal")
    )
    inspector_key: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, record: Record) -> GridCell:
        a = record.attrs
        return cls(
            id=record.key,
            code=a["code"],
            name=a["name"],
            street=a.get("street"),
            area_km2=a["area_km2"],
            population=a.get("population"),
            geometry=geojson(record.geometry),
            datum=record.datum,
            source=provenance(record),
            inspector_key=a.get("inspector"),
        )

    @classmethod
    # relay.Node's is overloaded on `required`; one signature serves both here
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[GridCell | None]:
        return await _nodes("GridCell", cls.from_record, info, node_ids, required)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, **representation: Any) -> GridCell:
        """A gateway's reference, by global ``id`` or by ``code`` (the cell's hub key)."""
        key = representation_key(representation, "GridCell", "code")
        return cls.from_record(await reference_record(info, "GridCell", key))

    @strawberry.field(description="The cell's grid inspector", metadata=classified("internal"))
    async def inspector(self, info: strawberry.Info) -> Inspector | None:
        if not self.inspector_key:
            return None
        record = await records(info).load("Inspector", self.inspector_key)
        return Inspector.from_record(record) if record else None


@strawberry.federation.type(
    keys=["id"], description="A grid inspector (网格员). Personal fields are masked by policy."
)
class Inspector(relay.Node, Located, Sourced):
    id: relay.NodeID[str]
    name: str = strawberry.field(
        description="Name (personal data)", metadata=classified("personal", "name")
    )
    phone: str | None = strawberry.field(
        description="Mobile phone (personal data)", metadata=classified("personal", "phone")
    )
    duties: list[str] = strawberry.field(
        description="Duty category codes the inspector covers", metadata=classified("internal")
    )
    on_duty: bool = strawberry.field(description="On duty now", metadata=classified("internal"))
    grid_cell_key: strawberry.Private[str | None]

    @classmethod
    def from_record(cls, record: Record) -> Inspector:
        a = record.attrs  # whole: the policy masks personal fields when they are served
        return cls(
            id=record.key,
            name=a.get("name") or "",
            phone=a.get("phone"),
            duties=list(a.get("duty_categories") or []),
            on_duty=bool(a.get("on_duty")),
            geometry=geojson(record.geometry),
            datum=record.datum,
            source=provenance(record),
            grid_cell_key=a.get("grid_cell"),
        )

    @classmethod
    # relay.Node's is overloaded on `required`; one signature serves both here
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Inspector | None]:
        return await _nodes("Inspector", cls.from_record, info, node_ids, required)

    @classmethod
    async def resolve_reference(cls, info: strawberry.Info, **representation: Any) -> Inspector:
        key = representation_key(representation, "Inspector")
        return cls.from_record(await reference_record(info, "Inspector", key))

    @strawberry.field(
        description="The grid cell the inspector walks", metadata=classified("internal")
    )
    async def grid_cell(self, info: strawberry.Info) -> GridCell | None:
        if not self.grid_cell_key:
            return None
        record = await records(info).load("GridCell", self.grid_cell_key)
        return GridCell.from_record(record) if record else None


__all__ = ["GeoJSON", "GridCell", "Inspector"]
