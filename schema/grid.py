"""The grid: 743 cells, one inspector each ("one cell, one inspector")."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.classification import classified
from schema.context import records
from schema.interfaces import Located, Sourced
from schema.nodes import RecordNode
from schema.record import Record
from schema.scalars import GeoJSON


@strawberry.federation.type(
    keys=["id", "code"],
    description="A grid cell: the unit of grid management, walked by one inspector.",
)
class GridCell(RecordNode, Located, Sourced):
    KIND = "GridCell"
    REFERENCE_FIELDS = ("code",)
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
    def computed(cls, record: Record) -> dict[str, object]:
        return {"inspector_key": record.attrs.get("inspector")}

    @strawberry.field(description="The cell's grid inspector", metadata=classified("internal"))
    async def inspector(self, info: strawberry.Info) -> Inspector | None:
        if not self.inspector_key:
            return None
        record = await records(info).load("Inspector", self.inspector_key)
        return Inspector.from_record(record) if record else None


@strawberry.federation.type(
    keys=["id"], description="A grid inspector (网格员). Personal fields are masked by policy."
)
class Inspector(RecordNode, Located, Sourced):
    KIND = "Inspector"
    REFERENCE_FIELDS = ()  # by global id only
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
    def computed(cls, record: Record) -> dict[str, object]:
        a = record.attrs  # whole: the policy masks personal fields when they are served
        return {"duties": list(a.get("duty_categories") or []), "grid_cell_key": a.get("grid_cell")}

    @strawberry.field(
        description="The grid cell the inspector walks", metadata=classified("internal")
    )
    async def grid_cell(self, info: strawberry.Info) -> GridCell | None:
        if not self.grid_cell_key:
            return None
        record = await records(info).load("GridCell", self.grid_cell_key)
        return GridCell.from_record(record) if record else None


__all__ = ["GeoJSON", "GridCell", "Inspector"]
