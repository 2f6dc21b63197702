"""Reads the apps' resolvers share, all through the request's record source (so the policy
applies): Relay nodes by id, the visible records of some keys, and every row of a kind that a
figure may count."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool

from schema.context import records
from schema.record import Record

_CHUNK = 1000


async def nodes(
    kind: str, build: Any, info: strawberry.Info, ids: Iterable[str], required: bool
) -> list[Any]:
    """``resolve_nodes`` for a record kind: built records in the order of ``ids``."""
    keys = list(ids)
    found = await records(info).load_many(kind, keys)
    if required:
        missing = [k for k, r in zip(keys, found, strict=True) if r is None]
        if missing:
            raise LookupError(f"no {kind} with id {missing[0]!r}")
    return [build(r) if r is not None else None for r in found]


async def load_all(info: strawberry.Info, kind: str, keys: list[str], build: Any) -> list[Any]:
    """The records of ``keys`` the policy lets the request see, built."""
    found = await records(info).load_many(kind, keys)
    return [build(r) for r in found if r is not None]


async def scan_servable(info: strawberry.Info, kind: str) -> tuple[list[Record], bool]:
    """Every row of ``kind`` the request's policy lets its figures count, and whether those
    rows may also be served (not when the policy grants counts only: the rows are then read
    from the store here, filtered by the policy's row filter, and never served)."""
    policy = getattr(info.context, "policy", None)
    if policy is not None:
        counted = await policy.countable(kind)  # the policy decides; this only reads
        if not counted.readable:
            store = info.context.hub.store
            rows = await run_in_threadpool(lambda: list(store.scan(kind)))
            return [r for r in rows if counted.check(r)], False
    found: list[Record] = []
    after: str | None = None
    while True:
        page = await records(info).page(
            kind, after=after, before=None, limit=_CHUNK, from_end=False
        )
        found.extend(page)
        if len(page) < _CHUNK:
            return found, True
        after = page[-1].key


async def scan(info: strawberry.Info, kind: str) -> list[Record]:
    """Every row of ``kind`` the request's policy lets its figures count."""
    return (await scan_servable(info, kind))[0]
