"""What resolvers may ask of the hub: the request context's record source."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

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


class HasRecords(Protocol):
    records: RecordSource


def records(info: object) -> RecordSource:
    """The record source of the request a resolver is answering."""
    context: HasRecords = info.context  # type: ignore[attr-defined]
    return context.records
