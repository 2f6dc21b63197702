"""Relay cursor connections over the store, paged by key (keyset pagination)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import strawberry
from strawberry import relay
from strawberry.relay.types import NodeType

from schema.context import records
from schema.record import Record

MAX_PAGE = 1000
DEFAULT_PAGE = 100
_CURSOR_PREFIX = "record"

T = TypeVar("T")


class PageError(ValueError):
    """Bad pagination arguments; shown to the client as a GraphQL error."""


@strawberry.type(name="Connection", description="A page of a list, with cursors.")
class CountedConnection(relay.Connection[NodeType]):
    total_count: int = strawberry.field(description="How many items the whole list has")


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


async def paginate(
    info: Any,
    kind: str,
    build: Callable[[Record], T],
    *,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> CountedConnection[Any]:
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
    size = last if from_end else (first if first is not None else DEFAULT_PAGE)
    assert size is not None
    # One extra row tells whether there is a next (or previous) page.
    rows = await source.page(
        kind, after=after_key, before=before_key, limit=size + 1, from_end=from_end
    )
    more = len(rows) > size
    if more:
        rows = rows[1:] if from_end else rows[:size]
    edges = [relay.Edge(cursor=encode_cursor(r.key), node=build(r)) for r in rows]
    if from_end:
        has_previous = more
        has_next = bool(before_key) and await source.any_from(kind, before_key, forward=True)
    else:
        has_next = more
        has_previous = bool(after_key) and await source.any_from(kind, after_key, forward=False)
    return CountedConnection(
        edges=edges,
        page_info=relay.PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        total_count=await source.count(kind),
    )
