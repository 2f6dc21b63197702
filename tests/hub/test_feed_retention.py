"""The change feed's retention: old entries go, a chunk at a time and by one worker at a time,
never the newest and never past what the knowledge graph has taken (a graph left behind
still catches up from the feed)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import update

from hub import feed, feed_retention
from hub.store import RecordStore
from hub.store.tables import FeedRow

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def fill(store: RecordStore, n: int, *, days_ago: float) -> None:
    with store.engine.begin() as conn:
        feed.append_many(
            conn, [{"topic": "reading", "kind": "Tank", "key": f"T-{i}"} for i in range(n)]
        )
    with store.engine.begin() as conn:  # backdate what was just written
        conn.execute(
            update(FeedRow)
            .where(FeedRow.seq > feed.head(conn) - n)
            .values(at=NOW - timedelta(days=days_ago))
        )


def seqs(store: RecordStore) -> list[int]:
    return [e.seq for e in feed.read_after(store.engine, 0, limit=100_000)]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_retention, "CHUNK", 7)  # several chunks in a small feed
    monkeypatch.setattr(feed_retention, "KEEP_NEWEST", 5)


def test_entries_older_than_the_retention_are_deleted_oldest_first(
    store: RecordStore, small_chunks: None
) -> None:
    fill(store, 30, days_ago=10)
    fill(store, 20, days_ago=1)
    kept = seqs(store)[30:]
    deleted = feed_retention.prune(store.engine, before=NOW - timedelta(days=7))
    assert deleted == 30
    assert seqs(store) == kept
    assert feed.head(store.engine) == kept[-1]  # numbering goes on from the same head


def test_the_newest_entries_stay_however_old(store: RecordStore, small_chunks: None) -> None:
    fill(store, 12, days_ago=30)
    newest = seqs(store)[-5:]
    assert feed_retention.prune(store.engine, before=NOW) == 7
    assert seqs(store) == newest


def test_nothing_past_the_graphs_position_is_deleted(
    store: RecordStore, small_chunks: None
) -> None:
    """A graph left behind (no worker ran for longer than the retention) must still find
    its entries in the feed."""
    fill(store, 40, days_ago=10)
    everything = seqs(store)
    graph_at = everything[9]
    assert feed_retention.prune(store.engine, before=NOW, upto=graph_at) == 10
    assert seqs(store) == everything[10:]
    assert [e.seq for e in feed.read_after(store.engine, graph_at)] == everything[10:]


async def test_one_worker_at_a_time_prunes(store: RecordStore, small_chunks: None) -> None:
    fill(store, 40, days_ago=10)
    calls: list[str] = []

    def position_of(worker: str) -> int:
        calls.append(worker)
        return 0  # the graph keeps no position: no bound

    workers = [
        asyncio.create_task(
            feed_retention.keep_pruned(
                store.engine,
                retention_s=7 * 86400,
                every_s=0.05,
                holder=worker,
                graph_position=partial(position_of, worker),
                clock=lambda: NOW,
            )
        )
        for worker in ("A", "B")
    ]
    try:
        async with asyncio.timeout(10):
            while len(seqs(store)) > 5 or len(calls) < 4:
                await asyncio.sleep(0.05)
    finally:
        for task in workers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    assert len(seqs(store)) == 5
    assert len(set(calls)) == 1  # the lease's holder did every pass
