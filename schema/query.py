"""The root Query of the shared schema (the apps add their fields in later steps)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.entity import Entity, EntityQueries
from schema.fields import record_by_key, record_connection
from schema.grid import GridCell, Inspector
from schema.search import SearchQueries


@strawberry.type
class GridQueries:
    grid_cells = record_connection(GridCell, "The city's grid cells, in code order")
    grid_cell = record_by_key(GridCell, "One grid cell by its hub key")
    inspectors = record_connection(Inspector, "The grid inspectors")


TYPES: list[type] = [GridCell, Inspector, Entity]


def query_type() -> type:
    """A fresh root Query type. Fresh per schema: strawberry's relay ``node`` fields bind
    their resolver to the schema that first sees them."""

    @strawberry.type(name="Query")
    class Query(GridQueries, EntityQueries, SearchQueries):
        node: relay.Node = relay.node(description="Fetch any object by its global id")
        nodes: list[relay.Node] = relay.node(description="Fetch objects by their global ids")

    return Query
