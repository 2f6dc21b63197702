"""The knowledge graph: one entity per real firm, vehicle, person or place, across systems."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from hub.graph.build import BuildReport, build_graph
from hub.graph.interface import GraphStore
from hub.graph.model import Entity, Member, Relation, Subgraph
from hub.graph.sqlite_graph import SqliteGraph


def open_graph(url: str) -> GraphStore:
    """The graph backend a URL names: ``sqlite:///path`` (embedded)."""
    if make_url(url).get_backend_name() == "sqlite":
        return SqliteGraph(url)
    raise ValueError(f"CITYHUB_GRAPH_URL: unsupported graph backend {make_url(url).drivername!r}")


__all__ = [
    "BuildReport",
    "Entity",
    "GraphStore",
    "Member",
    "Relation",
    "SqliteGraph",
    "Subgraph",
    "build_graph",
    "open_graph",
]
