"""The breadth-first neighbourhood walk, shared by every backend so `limit` cuts the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from hub.graph.model import Entity, Relation, Subgraph


class _Readable(Protocol):
    def entity(self, entity_id: str) -> Entity | None: ...

    def entities(self, ids: Sequence[str]) -> dict[str, Entity]: ...

    def relations(self, entity_ids: Sequence[str]) -> list[Relation]: ...


def neighbourhood(graph: _Readable, entity_id: str, hops: int, limit: int) -> Subgraph:
    """Entities within ``hops`` relations of one entity, hop by hop, at most ``limit``."""
    sub = Subgraph()
    root = graph.entity(entity_id)
    if root is None:
        return sub
    sub.entities[root.id] = root
    seen: set[Relation] = set()
    frontier = [root.id]
    for _ in range(max(hops, 0)):
        found: dict[str, None] = {}  # an ordered set
        for rel in graph.relations(frontier):
            if rel in seen:
                continue
            new_ends = [e for e in (rel.src, rel.dst) if e not in sub.entities and e not in found]
            if len(sub.entities) + len(found) + len(new_ends) > limit:
                continue  # the edge would reach past the limit
            found.update(dict.fromkeys(new_ends))
            seen.add(rel)
            sub.relations.append(rel)
        frontier = list(found)
        sub.entities.update(graph.entities(frontier))
        if not frontier or len(sub.entities) >= limit:
            break
    return sub
