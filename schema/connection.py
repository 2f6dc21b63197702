"""The one shape of every list the hub serves: Relay cursor connections (``edges``,
``pageInfo``) with ``totalCount``, paged by key (keyset pagination) over the store or over a
list a rule has already filtered.

``totalCount`` is worked out only when a query selects it: a connection carries either the
number (a filtered list knows it for free) or the coroutine that counts (a store count is often
the slow part of a page), and GraphQL resolves the field only when it is asked for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry import relay

from schema.context import records
from schema.record import Record

MAX_PAGE = 1000
DEFAULT_PAGE = 100
_CURSOR_PREFIX = "record"

T = TypeVar("T")
R = TypeVar("R")

# how many items the whole list has: known already, or counted when asked
Count = int | Callable[[], Awaitable[int]]


class PageError(ValueError):
    """Bad pagination arguments; shown to the client as a GraphQL error."""


@strawberry.type(description="An edge in a connection.")
class Edge(Generic[T]):
    cursor: str = strawberry.field(description="A cursor for use in pagination")
    node: T = strawberry.field(description="The item at the end of the edge")


@strawberry.type(name="Connection", description="A page of a list, with cursors.")
class CountedConnection(Generic[T]):
    page_info: relay.PageInfo = strawberry.field(description="Pagination data for this connection")
    edges: list[Edge[T]] = strawberry.field(description="Contains the nodes in this connection")
    count: strawberry.Private[Count]

    @strawberry.field(description="How many items the whole list has")
    async def total_count(self) -> int:
        return self.count if isinstance(self.count, int) else await self.count()

    @classmethod
    def of(
        cls, edges: list[Edge[T]], *, count: Count, has_next: bool, has_previous: bool
    ) -> CountedConnection[T]:
        return cls(
            edges=edges,
            page_info=relay.PageInfo(
                has_next_page=has_next,
                has_previous_page=has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            count=count,
        )


def encode_cursor(key: str) -> str:
    return relay.to_base64(_CURSOR_PREFIX, key)


def decode_cursor(cursor: str) -> str:
    try:
        prefix, key = relay.from_base64(cursor)
    except Exception:
        raise PageError(f"invalid cursor {cursor!r}") from None
    if prefix != _CURSOR_PREFIX:
        raise PageError(f"invalid cursor {cursor!r}")
    return key


def page_size(first: int | None, default: int = DEFAULT_PAGE, limit: int = MAX_PAGE) -> int:
    size = default if first is None else first
    if not 0 <= size <= limit:
        raise PageError(f"first must be between 0 and {limit}, got {size}")
    return size


@dataclass(frozen=True)
class Window(Generic[R]):
    """One page cut from a list already in its order (filtered by a rule, ranked...)."""

    rows: list[R]
    start: int
    total: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.start > 0


def window(
    found: Sequence[R],
    key: Callable[[R], str],
    *,
    first: int | None,
    after: str | None,
    default: int = DEFAULT_PAGE,
    limit: int = MAX_PAGE,
    ranked: bool = False,
) -> Window[R]:
    """The page of ``found`` after the cursor ``after``: right after the row it names, or, if
    that row has left the list meanwhile, after the last key before it — in a list in key
    order; in a ``ranked`` one (riskiest first...) there is no such place, and the client
    starts again."""
    size = page_size(first, default, limit)
    start = 0
    if after:
        last = decode_cursor(after)
        keys = [key(r) for r in found]
        if last in keys:
            start = keys.index(last) + 1
        elif ranked:
            raise PageError("the cursor is not in the current list; start again")
        else:
            start = sum(1 for k in keys if k <= last)
    rows = list(found[start : start + size])
    return Window(rows, start, len(found), start + size < len(found))


def edges_of(rows: Sequence[R], key: Callable[[R], str], build: Callable[[R], T]) -> list[Edge[T]]:
    return [Edge(cursor=encode_cursor(key(r)), node=build(r)) for r in rows]


def from_rows(
    found: Sequence[R],
    key: Callable[[R], str],
    build: Callable[[R], T],
    *,
    first: int | None,
    after: str | None,
    default: int = DEFAULT_PAGE,
    limit: int = MAX_PAGE,
    servable: bool = True,
) -> CountedConnection[T]:
    """A page of a list a rule has already filtered and ordered; its length is the count.
    Not ``servable``: the caller may count the rows, not read them (no edges)."""
    cut = window(found, key, first=first, after=after, default=default, limit=limit)
    if not servable:
        return CountedConnection.of([], count=cut.total, has_next=False, has_previous=False)
    return CountedConnection.of(
        edges_of(cut.rows, key, build),
        count=cut.total,
        has_next=cut.has_next,
        has_previous=cut.has_previous,
    )


async def from_records(
    info: strawberry.Info,
    kind: str,
    found: Sequence[Record],
    build: Callable[[Record], T],
    *,
    first: int | None,
    after: str | None,
    default: int = DEFAULT_PAGE,
    build_off_loop: bool = False,
) -> CountedConnection[T]:
    """A page of records a rule found (from its read model), the page's rows read again
    through the request's policed source, fresh from the store; ``build_off_loop`` when
    building a node reads the store too."""
    cut = window(found, _key, first=first, after=after, default=default)
    loaded = await records(info).load_many(kind, [r.key for r in cut.rows])
    fresh = [r for r in loaded if r is not None]
    if build_off_loop:
        edges = await run_in_threadpool(edges_of, fresh, _key, build)
    else:
        edges = edges_of(fresh, _key, build)
    return CountedConnection.of(
        edges, count=cut.total, has_next=cut.has_next, has_previous=cut.has_previous
    )


def _key(record: Record) -> str:
    return record.key


async def paginate(
    info: strawberry.Info,
    kind: str,
    build: Callable[[Record], T],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> CountedConnection[T]:
    """One page of ``kind`` in key order, per the Relay cursor-connection spec."""
    if first is not None and last is not None:
        raise PageError("pass either first or last, not both")
    for name, value in (("first", first), ("last", last)):
        if value is not None and not 0 <= value <= MAX_PAGE:
            raise PageError(f"{name} must be between 0 and {MAX_PAGE}, got {value}")
    source = records(info)
    after_key = decode_cursor(after) if after else None
    before_key = decode_cursor(before) if before else None
    from_end = last is not None
    size = last if last is not None else (first if first is not None else DEFAULT_PAGE)
    # One extra row tells whether there is a next (or previous) page.
    rows = await source.page(
        kind, after=after_key, before=before_key, limit=size + 1, from_end=from_end
    )
    more = len(rows) > size
    if more:
        rows = rows[1:] if from_end else rows[:size]
    if from_end:
        has_previous = more
        has_next = before_key is not None and await source.any_from(kind, before_key, forward=True)
    else:
        has_next = more
        has_previous = after_key is not None and await source.any_from(
            kind, after_key, forward=False
        )

    async def count() -> int:
        return int(await source.count(kind))

    return CountedConnection.of(
        edges_of(rows, _key, build),
        count=count,
        has_next=has_next,
        has_previous=has_previous,
    )
