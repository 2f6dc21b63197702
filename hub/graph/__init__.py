"""The knowledge graph: one entity per real firm, vehicle, person or place, across systems."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from hub.graph.build import BuildReport, build_graph
from hub.graph.interface import GraphStore
from hub.graph.model import Entity, Member, Relation, Subgraph
from hub.graph.sqlite_graph import SqliteGraph


def open_graph(url: str) -> GraphStore:
    """The graph backend a URL names: ``sqlite:///path`` (embedded), or Neo4j by
    ``neo4j://``/``bolt://`` (``+s``/``+ssc`` for TLS) ``host:port[/database][?graph=NAME]``."""
    if url.split("://", 1)[0] in {"neo4j", "neo4j+s", "neo4j+ssc", "bolt", "bolt+s", "bolt+ssc"}:
        from hub.graph.neo4j_graph import Neo4jGraph

        return Neo4jGraph(url)
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
