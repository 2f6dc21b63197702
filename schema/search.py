"""Full-text search across the city's records (Chinese text segmented)."""

from __future__ import annotations

import strawberry
from strawberry import relay

from schema.context import graph, search
from schema.entity import Entity

MAX_PAGE = 100
_CURSOR = "search"


@strawberry.type(description="A search result: a record, why it matched, and its entity.")
class SearchHit:
    kind: str
    key: str
    title: str
    snippet: str = strawberry.field(description="Where it matched, matches in [brackets]")
    score: float = strawberry.field(description="Relevance (BM25), higher is better")

    @strawberry.field(description="The knowledge-graph entity of this record")
    async def entity(self, info: strawberry.Info) -> Entity | None:
        found = await graph(info).entity_of(self.kind, self.key)
        return Entity.of(found) if found else None


@strawberry.type
class SearchEdge:
    cursor: str
    node: SearchHit


@strawberry.type(description="A page of search results, best first")
class SearchConnection:
    total_count: int
    edges: list[SearchEdge]
    page_info: relay.PageInfo


@strawberry.type
class SearchQueries:
    @strawberry.field(
        description="Full-text search (Chinese or codes) over firms, news, "
        "service items and cases; `types` narrows to record kinds"
    )
    async def search(
        self,
        info: strawberry.Info,
        query: str,
        types: list[str] | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> SearchConnection:
        if not 0 <= first <= MAX_PAGE:
            raise ValueError(f"first must be between 0 and {MAX_PAGE}, got {first}")
        if not query.strip():
            raise ValueError("query must not be empty")
        offset = 0
        if after:
            try:
                prefix, value = relay.from_base64(after)
                offset = int(value) + 1
                if prefix != _CURSOR:
                    raise ValueError
            except Exception:
                raise ValueError(f"invalid cursor {after!r}") from None
        page = await search(info).search(query, kinds=types, limit=first, offset=offset)
        edges = [
            SearchEdge(
                cursor=relay.to_base64(_CURSOR, offset + i),
                node=SearchHit(
                    kind=h.kind,
                    key=h.key,
                    title=h.title,
                    snippet=h.snippet,
                    score=round(h.score, 4),
                ),
            )
            for i, h in enumerate(page.hits)
        ]
        return SearchConnection(
            total_count=page.total,
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=offset + len(edges) < page.total,
                has_previous_page=offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
