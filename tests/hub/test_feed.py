"""The change feed on SQLite and on a real PostgreSQL: written in the write's transaction,
read by sequence, and a sequence order that is commit order (a follower never skips a row)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from hub import feed
from hub.store import RecordStore
from schema.record import Record


def report(key: str, kind: str = "ServiceCase", **attrs: object) -> Record:
    return Record(
        kind=kind,
        key=key,
        source_system="citizen-hotline",
        source_id=f"src-{key}",
        fetched_at=datetime(2026, 6, 1, 9, 30, tzinfo=UTC),
        attrs={"title": f"report {key}", **attrs},
    )


def test_every_upsert_appends_one_record_entry_per_record(store: RecordStore) -> None:
    start = feed.head(store.engine)
    assert start == 0
    store.upsert([report("C-2"), report("C-1"), report("C-1", urgent=True)])
    store.upsert([report("G-1", kind="GridCell")])
    entries = feed.read_after(store.engine, start)
    assert [(e.topic, e.kind, e.key, e.op) for e in entries] == [
        ("record", "ServiceCase", "C-1", "upsert"),
        ("record", "ServiceCase", "C-2", "upsert"),
        ("record", "GridCell", "G-1", "upsert"),
    ]
    seqs = [e.seq for e in entries]
    assert seqs == sorted(seqs) and len(set(seqs)) == 3
    assert feed.head(store.engine) == seqs[-1]
    assert feed.read_after(store.engine, seqs[0], limit=1)[0].key == "C-2"
    assert [e.key for e in feed.read_after(store.engine, 0, kinds=["GridCell"])] == ["G-1"]
    assert all(e.at.tzinfo is not None for e in entries)


def test_an_entry_exists_exactly_when_its_write_committed(store: RecordStore) -> None:
    with pytest.raises(RuntimeError), store.engine.begin() as conn:
        feed.append(conn, "alarm", kind="Tank", key="T-1", payload={"level": "HH"})
        raise RuntimeError("the write failed after its append")
    assert feed.read_after(store.engine, 0) == []
    with store.engine.begin() as conn:
        feed.append(conn, "alarm", kind="Tank", key="T-1", payload={"level": "HH"})
        feed.append_many(conn, [{"topic": "policy", "key": "partner-x", "op": "publish"}])
    got = feed.read_after(store.engine, 0)
    assert [(e.topic, e.key, e.op, e.payload) for e in got] == [
        ("alarm", "T-1", "upsert", {"level": "HH"}),
        ("policy", "partner-x", "publish", None),
    ]
    assert [e.topic for e in feed.read_after(store.engine, 0, topics=["policy"])] == ["policy"]


def test_sequence_order_is_commit_order(store: RecordStore) -> None:
    """A transaction that appended first and commits late holds back later appenders, so a
    follower that read past a sequence never finds an older one committed behind it."""
    first_appended = threading.Event()
    release = threading.Event()

    def slow_writer() -> None:
        with store.engine.begin() as conn:
            feed.append(conn, "case.step", key="slow")
            first_appended.set()
            release.wait(5)

    slow = threading.Thread(target=slow_writer)
    slow.start()
    assert first_appended.wait(5)
    fast_done = threading.Event()

    def fast_writer() -> None:
        with store.engine.begin() as conn:
            feed.append(conn, "case.step", key="fast")
        fast_done.set()

    fast = threading.Thread(target=fast_writer)
    fast.start()
    time.sleep(0.3)
    # the later appender waits for the earlier one's commit (the advisory lock on
    # PostgreSQL, the single writer on SQLite) ...
    assert not fast_done.is_set()
    assert feed.read_after(store.engine, 0) == []
    release.set()
    slow.join(10)
    fast.join(10)
    # ... so sequence order is commit order
    assert [e.key for e in feed.read_after(store.engine, 0)] == ["slow", "fast"]


def test_a_follower_reading_by_sequence_misses_no_concurrent_write(store: RecordStore) -> None:
    writers, per_writer = 6, 25
    seen: list[feed.FeedEntry] = []
    done = threading.Event()

    def follow() -> None:
        position = 0
        while True:
            finished = done.is_set()
            got = feed.read_after(store.engine, position, limit=7)
            seen.extend(got)
            if got:
                position = got[-1].seq
            elif finished:
                return

    def write(w: int) -> None:
        for i in range(per_writer):
            store.upsert([report(f"W{w}-{i:03d}")])

    follower = threading.Thread(target=follow)
    follower.start()
    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    done.set()
    follower.join(60)
    assert store.count("ServiceCase") == writers * per_writer
    assert sorted(e.key for e in seen) == sorted(
        f"W{w}-{i:03d}" for w in range(writers) for i in range(per_writer)
    )
    assert [e.seq for e in seen] == sorted({e.seq for e in seen})
