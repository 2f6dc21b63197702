"""The change feed's retention: entries older than the retention are deleted, a chunk at a time,
by one worker at a time (a lease), never past what the knowledge graph has taken.

The feed is how workers hear of writes, not the record of the city (the store is): a worker
starts from the feed's head after building its read models from the store, so only a worker
or a graph lagging by more than the retention could miss an entry — and the graph's kept
position bounds what is deleted, so a graph left behind (no worker ran for a week) still
catches up from the feed when one starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select

from hub.feed import head
from hub.ingest.lease import Lease
from hub.store.tables import FeedRow

log = logging.getLogger(__name__)

LEASE = "feed.retention"
CHUNK = 5000  # rows per delete: each chunk is its own short write, so writers are not held up
KEEP_NEWEST = 1000  # never delete the newest entries, however old (the head stays readable)


def prune(engine: Engine, *, before: datetime, upto: int | None = None) -> int:
    """Delete the entries written before ``before`` with a sequence at most ``upto`` (and
    never the newest :data:`KEEP_NEWEST`); returns how many were deleted."""
    limit = head(engine) - KEEP_NEWEST
    if upto is not None:
        limit = min(limit, upto)
    deleted = 0
    while limit > 0:
        # oldest first, in sequence order: the scan stops at the first CHUNK that match
        chunk = (
            select(FeedRow.seq)
            .where(FeedRow.seq <= limit, FeedRow.at < before)
            .order_by(FeedRow.seq)
            .limit(CHUNK)
            .scalar_subquery()
        )
        with engine.begin() as conn:
            gone = conn.execute(delete(FeedRow).where(FeedRow.seq.in_(chunk))).rowcount
        deleted += gone
        if gone < CHUNK:
            break
    return deleted


async def keep_pruned(
    engine: Engine,
    *,
    retention_s: float,
    every_s: float,
    holder: str,
    graph_position: Callable[[], int],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> None:
    """Prune every ``every_s`` in the worker holding the lease, until cancelled."""
    lease = Lease(engine, LEASE, holder)
    while True:
        try:
            if await asyncio.to_thread(lease.take, every_s * 2):
                before = clock() - timedelta(seconds=retention_s)
                # 0: the graph keeps no position (never built from this feed): no bound
                upto = await asyncio.to_thread(graph_position) or None
                n = await asyncio.to_thread(prune, engine, before=before, upto=upto)
                if n:
                    log.info("change feed: %d entries older than %s deleted", n, before)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a store hiccup: the feed grows a little longer meanwhile
            log.warning("feed retention: %s", str(exc).splitlines()[0][:200])
        await asyncio.sleep(every_s)
