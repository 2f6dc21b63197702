"""A device's history as GraphQL: buckets of its readings, downsampled in the store
(``hub.state.history``), served on the device types (``Tank.history``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.state import HistoryBucket, history
from schema.classification import classified

INTERNAL = classified("internal")


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
    info: strawberry.Info, kind: str, ident: str, start: datetime, end: datetime, every: int
) -> list[ReadingBucket]:
    """Buckets of ``every`` seconds of the device's ``kind`` readings in [start, end); a
    ValueError (a clear GraphQL error) for an empty range, every < 1 or too many buckets."""
    engine = info.context.hub.store.engine
    buckets = await run_in_threadpool(history, engine, kind, ident, start, end, every)
    return [ReadingBucket.of(b) for b in buckets]
