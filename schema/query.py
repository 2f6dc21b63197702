"""The root Query of the shared schema (the apps add their fields in later steps)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.connection import CountedConnection, paginate
from schema.context import records
from schema.entity import Entity, EntityQueries
from schema.grid import GridCell, Inspector
from schema.search import SearchQueries


@strawberry.type
class GridQueries:
    @strawberry.field(description="The city's grid cells, in code order")
    async def grid_cells(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[GridCell]:
        return await paginate(
            info,
            "GridCell",
            GridCell.from_record,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="One grid cell by its hub key")
    async def grid_cell(self, info: strawberry.Info, key: str) -> GridCell | None:
        record = await records(info).load("GridCell", key)
        return GridCell.from_record(record) if record else None

    @strawberry.field(description="The grid inspectors")
    async def inspectors(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[Inspector]:
        return await paginate(
            info,
            "Inspector",
            Inspector.from_record,
            first=first,
            after=after,
            last=last,
            before=before,
        )


TYPES: list[type] = [GridCell, Inspector, Entity]


def query_type() -> type:
    """A fresh root Query type. Fresh per schema: strawberry's relay ``node`` fields bind
    their resolver to the schema that first sees them."""

    @strawberry.type(name="Query")
    class Query(GridQueries, EntityQueries, SearchQueries):
        node: relay.Node = relay.node(description="Fetch any object by its global id")
        nodes: list[relay.Node] = relay.node(description="Fetch objects by their global ids")

    return Query
