"""The breadth-first walks, shared by every backend (and by the policy's view of the graph) so
`limit` cuts the same way and a path is found the same way."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from hub.graph.model import Entity, Relation, Subgraph

# A breadth-first path search stops widening past this many entities: a grid cell links to
# thousands of residents, and a path through everyone is no answer.
FRONTIER_CAP = 20_000


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


def expand(came_from: dict[str, Relation | None], rels: Iterable[Relation]) -> list[str]:
    """One breadth-first step of a path search: the entities ``rels`` reach from the ones
    already reached, each noted in ``came_from`` with the first relation that reached it."""
    reached: list[str] = []
    for rel in rels:
        for here, there in ((rel.src, rel.dst), (rel.dst, rel.src)):
            if here in came_from and there not in came_from:
                came_from[there] = rel
                reached.append(there)
    return reached


def unwind(came_from: dict[str, Relation | None], end: str) -> list[Relation]:
    """The chain of relations ``expand`` noted, from the start to ``end``."""
    chain: list[Relation] = []
    node = end
    while (rel := came_from[node]) is not None:
        chain.append(rel)
        node = rel.src if rel.dst == node else rel.dst
    chain.reverse()
    return chain
