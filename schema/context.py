"""What resolvers may ask of the hub: the request context's record source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from strawberry import Info

from schema.record import Record


class RecordSource(Protocol):
    """Read access to stored records, batched per request. The hub supplies it."""

    async def load(self, kind: str, key: str) -> Record | None: ...

    async def load_many(self, kind: str, keys: Sequence[str]) -> list[Record | None]: ...

    async def page(
        self,
        kind: str,
        *,
        after: str | None,
        before: str | None,
        limit: int,
        from_end: bool,
    ) -> list[Record]: ...

    async def any_from(self, kind: str, key: str, *, forward: bool) -> bool: ...

    async def count(self, kind: str) -> int: ...


class GraphSource(Protocol):
    """The knowledge graph, as resolvers see it; entities and relations are the hub's
    ``hub.graph.model`` objects (plain dataclasses)."""

    async def entity(self, entity_id: str) -> Any | None: ...

    async def entity_of(self, kind: str, key: str) -> Any | None: ...

    async def members(self, entity_id: str) -> list[Any]: ...

    async def relations(self, entity_id: str) -> list[Any]: ...

    async def neighbourhood(self, entity_id: str, hops: int, limit: int) -> Any: ...

    async def path(self, a: str, b: str, max_hops: int) -> list[Any] | None: ...


class SearchSource(Protocol):
    async def search(
        self, query: str, *, kinds: Sequence[str] | None, limit: int, offset: int
    ) -> Any: ...

    async def counts(self, query: str, *, kinds: Sequence[str] | None) -> list[Any]: ...


class HasRecords(Protocol):
    records: RecordSource
    graph: GraphSource
    search: SearchSource


def records(info: Info) -> RecordSource:
    """The record source of the request a resolver is answering."""
    context: HasRecords = info.context
    return context.records


def graph(info: Info) -> GraphSource:
    context: HasRecords = info.context
    return context.graph


def search(info: Info) -> SearchSource:
    context: HasRecords = info.context
    return context.search
