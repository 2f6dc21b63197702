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


@strawberry.type(description="Matches of one record type")
class SearchTypeCount:
    type: str
    count: int | None = strawberry.field(
        description="null when withheld: fewer than the policy's minimum group (counts only)"
    )
    suppressed: bool


@strawberry.type(description="A page of search results, best first")
class SearchConnection:
    total_count: int = strawberry.field(description="The hits you may see, on every page")
    edges: list[SearchEdge]
    page_info: relay.PageInfo
    query: strawberry.Private[str]
    types: strawberry.Private[list[str] | None]

    @strawberry.field(
        description="Matches per record type you may count: the hits you may see, or, for a "
        "type served to you as counts only, its matches (figures under the policy's k)"
    )
    async def counts_by_type(self, info: strawberry.Info) -> list[SearchTypeCount]:
        found = await search(info).counts(self.query, kinds=self.types)
        return [SearchTypeCount(type=c.type, count=c.count, suppressed=c.suppressed) for c in found]


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
            query=query,
            types=types,
            total_count=page.total,
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=offset + len(edges) < page.total,
                has_previous_page=offset > 0,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )
