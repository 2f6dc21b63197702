"""The graph and search as resolvers reach them: blocking backends run off the event loop."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool

from hub.graph import Entity, GraphStore, Member, Relation, Subgraph
from hub.policy.search import TypeCount
from hub.search import SEARCHABLE_KINDS, SearchIndex, SearchPage


class GraphSourceAdapter:
    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    async def entity(self, entity_id: str) -> Entity | None:
        return await run_in_threadpool(self.graph.entity, entity_id)

    async def entity_of(self, kind: str, key: str) -> Entity | None:
        return await run_in_threadpool(self.graph.entity_of, kind, key)

    async def members(self, entity_id: str) -> list[Member]:
        return await run_in_threadpool(self.graph.members, entity_id)

    async def relations(self, entity_id: str) -> list[Relation]:
        return await run_in_threadpool(self.graph.relations, [entity_id])

    async def entity_ids_of(self, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], str]:
        return await run_in_threadpool(self.graph.entity_ids_of, refs)

    async def entities(self, ids: Sequence[str]) -> dict[str, Entity]:
        return await run_in_threadpool(self.graph.entities, ids)

    async def members_of(self, entity_ids: Sequence[str]) -> list[Member]:
        return await run_in_threadpool(self.graph.members_of, entity_ids)

    async def relations_of(self, entity_ids: Sequence[str]) -> list[Relation]:
        return await run_in_threadpool(self.graph.relations, entity_ids)

    async def neighbourhood(self, entity_id: str, hops: int, limit: int) -> Subgraph:
        return await run_in_threadpool(self.graph.neighbourhood, entity_id, hops, limit)

    async def path(self, a: str, b: str, max_hops: int) -> list[Relation] | None:
        return await run_in_threadpool(self.graph.path, a, b, max_hops)


class SearchSourceAdapter:
    def __init__(self, index: SearchIndex) -> None:
        self.index = index

    async def search(
        self,
        query: str,
        *,
        kinds: Sequence[str] | None,
        limit: int,
        offset: int,
        any_word: bool = False,
    ) -> SearchPage:
        return await run_in_threadpool(
            lambda: self.index.search(
                query, kinds=kinds, limit=limit, offset=offset, any_word=any_word
            )
        )

    async def counts(self, query: str, *, kinds: Sequence[str] | None) -> list[TypeCount]:
        """Matches per searched type, every one (no policy: enforcement off)."""
        wanted = sorted(SEARCHABLE_KINDS.intersection(kinds) if kinds else SEARCHABLE_KINDS)
        out = []
        for kind in wanted:
            page = await self.search(query, kinds=[kind], limit=0, offset=0)
            out.append(TypeCount(kind, page.total, False))
        return out
