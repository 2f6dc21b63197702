"""A device's history as GraphQL: buckets of its readings, downsampled in the store
(``hub.state.history``), declared once (:func:`history_field`) and served on every device
type: tanks, vehicles, muck trucks, water-quality stations, river and ponding gauges, pump
stations, gates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Protocol

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.state import HistoryBucket, history
from schema.classification import classified

INTERNAL = classified("internal")
MEASURE = "What the buckets aggregate, of those the field names (default: the first)"
# a vehicle's fixes: their speed
SPEED = {"speedKmh": ("speedKmh",)}


@strawberry.type(
    description="The readings of one device in [start, start + every): how many and their "
    "values' average, minimum and maximum (null when none carried a value)"
)
class ReadingBucket:
    start: datetime = strawberry.field(metadata=INTERNAL)
    count: int = strawberry.field(metadata=INTERNAL)
    average: float | None = strawberry.field(metadata=INTERNAL)
    minimum: float | None = strawberry.field(metadata=INTERNAL)
    maximum: float | None = strawberry.field(metadata=INTERNAL)
    first_at: datetime = strawberry.field(description="Its first reading's time", metadata=INTERNAL)
    last_at: datetime = strawberry.field(description="Its last reading's time", metadata=INTERNAL)

    @classmethod
    def of(cls, b: HistoryBucket) -> ReadingBucket:
        return cls(
            start=b.start,
            count=b.count,
            average=b.average,
            minimum=b.minimum,
            maximum=b.maximum,
            first_at=b.first_at,
            last_at=b.last_at,
        )


async def reading_history(
    info: strawberry.Info,
    kind: str,
    ident: str,
    start: datetime,
    end: datetime,
    every: int,
    measure: tuple[str, ...] = (),
) -> list[ReadingBucket]:
    """Buckets of ``every`` seconds of the device's ``kind`` readings in [start, end); a
    ValueError (a clear GraphQL error) for an empty range, every < 1 or too many buckets."""
    engine = info.context.hub.store.engine
    buckets = await run_in_threadpool(history, engine, kind, ident, start, end, every, measure)
    return [ReadingBucket.of(b) for b in buckets]


class Device(Protocol):
    """A device type: its GraphQL id is the device's key."""

    @property
    def id(self) -> Any: ...


def history_field(
    kind: str, what: str, measures: Mapping[str, tuple[str, ...]] | None = None
) -> Any:
    """The ``history(from, to, every, measure)`` field of a device type whose readings are of
    ``kind``: buckets of ``what`` — the readings' value, or with ``measures`` the number the
    one named by ``measure`` (default: the first) finds at its path in what they said."""
    named = dict(measures or {})
    default = next(iter(named), None)
    listed = ", ".join(named) or "none: its readings' value"

    async def resolve(
        root: Device,
        info: strawberry.Info,
        from_: Annotated[datetime, strawberry.argument(name="from")],
        to: datetime,
        every: int = 60,
        measure: Annotated[str | None, strawberry.argument(description=MEASURE)] = None,
    ) -> list[ReadingBucket]:
        name = measure or default
        if name is not None and name not in named:
            raise ValueError(f"measure {name!r}: {listed}")
        path = named[name] if name is not None else ()
        return await reading_history(info, kind, str(root.id), from_, to, every, path)

    return strawberry.field(
        resolver=resolve,
        description=f"Its {what} in [from, to) by buckets of `every` seconds (aligned on the "
        f"epoch; empty buckets left out), downsampled in the store. Measures: {listed}",
        metadata=INTERNAL,
    )
