"""The change feed on SQLite and on a real PostgreSQL: written in the write's transaction,
read by sequence, and a sequence order that is commit order (a follower never skips a row)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub import feed
from hub.apps.citizen_service.services import CitizenServiceCentre, Intake
from hub.cases import Caller
from hub.fanout import Broadcast, MemoryBroadcast, open_broadcast
from hub.store import RecordStore
from schema.record import Record

REDIS_URL = os.environ.get("CITYHUB_TEST_REDIS_URL", "")


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


async def test_the_follower_hands_each_topic_in_order_and_retries_a_failing_handler(
    store: RecordStore,
) -> None:
    store.upsert([report("before")])  # before the follower: not its business
    follower = feed.FeedFollower(store.engine, poll_s=0.05)
    records: list[str] = []
    alarms: list[str] = []
    attempts: list[list[str]] = []

    def take_records(entries: list[feed.FeedEntry]) -> None:
        records.extend(e.key or "" for e in entries)

    async def flaky_alarms(entries: list[feed.FeedEntry]) -> None:
        attempts.append([e.key or "" for e in entries])
        if len(attempts) < 3:
            raise RuntimeError("the alarm desk is away")
        alarms.extend(e.key or "" for e in entries)

    follower.on("record", take_records)
    follower.on("alarm", flaky_alarms)
    task = asyncio.create_task(follower.run())
    try:
        store.upsert([report("C-1"), report("C-2")])
        with store.engine.begin() as conn:
            feed.append(conn, "alarm", key="T-1")
            feed.append(conn, "reading", key="ignored")
        store.upsert([report("C-3")])
        with store.engine.begin() as conn:
            feed.append(conn, "alarm", key="T-2")
        await follower.caught_up(timeout=15)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert records == ["C-1", "C-2", "C-3"]
    # the failed batch came again, never skipped; then the rest, each once, in order
    assert attempts[0] == attempts[1] == attempts[2][: len(attempts[0])]
    assert alarms == ["T-1", "T-2"]
    assert follower.position == feed.head(store.engine)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def fanout(request: pytest.FixtureRequest) -> Broadcast:
    if request.param == "memory":
        return MemoryBroadcast()
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CITYHUB_TEST_REDIS_URL is unset: run the suite with scripts/test.sh")
        pytest.skip("CITYHUB_TEST_REDIS_URL is unset (scripts/test.sh starts Redis)")
    return open_broadcast(f"{REDIS_URL}?prefix=t_{uuid.uuid4().hex[:12]}")


async def test_a_write_in_one_worker_wakes_the_follower_of_another(
    store_url: str, fanout: Broadcast
) -> None:
    """Two workers (two engines on one store, one fan-out): a follower that would poll only
    every 30 s still sees the other worker's write at once, woken on ``cityhub.feed``."""
    worker_a, worker_b = RecordStore.from_url(store_url), RecordStore.from_url(store_url)
    worker_a.migrate()
    followers = [feed.FeedFollower(w.engine, poll_s=30) for w in (worker_a, worker_b)]
    seen: dict[int, list[tuple[str, float]]] = {0: [], 1: []}
    for n, follower in enumerate(followers):
        follower.on(
            "record",
            lambda entries, n=n: seen[n].extend((e.key or "", time.monotonic()) for e in entries),
        )
    tasks = [asyncio.create_task(f.run(fanout)) for f in followers]
    try:
        await asyncio.sleep(0.2)  # both listening, each past its first look at the feed
        for i in range(5):
            written = time.monotonic()
            await asyncio.to_thread(worker_a.upsert, [report(f"A-{i}")])
            for _ in range(200):
                if len(seen[1]) > i:
                    break
                await asyncio.sleep(0.01)
            assert [k for k, _ in seen[1]] == [f"A-{j}" for j in range(i + 1)]
            assert seen[1][-1][1] - written < 1.0
        await asyncio.sleep(0.1)
        assert [k for k, _ in seen[0]] == [f"A-{j}" for j in range(5)]
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await fanout.close()
        worker_a.close()
        worker_b.close()


@pytest.fixture
def city_copy(demo_store: RecordStore, tmp_path: Path) -> str:
    """A copy of the demo city's store, so the filings here stay here."""
    source = sqlite3.connect(demo_store.engine.url.database or "")
    target = sqlite3.connect(tmp_path / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    return f"sqlite:///{tmp_path / 'hub.db'}"


def test_two_workers_each_list_every_concurrent_filing(city_copy: str) -> None:
    """The fault step 10 closes: of 200 concurrent filings the store had 292 rows but the
    workers listed 285 and 287 for good (rows commit out of timestamp order, and a catch-up
    by time skipped them). Two centres on one store, each filing from 4 threads while
    listing all the time: each lists every row the store holds, by the feed's sequence."""
    stores = [RecordStore.from_url(city_copy) for _ in range(2)]
    centres = [CitizenServiceCentre(s) for s in stores]
    places = [
        (float(r.geometry["coordinates"][0]), float(r.geometry["coordinates"][1]))
        for r in stores[0].scan("Inspector")
        if r.geometry
    ]
    assert len(places) >= 8
    for centre in centres:
        centre.cases()  # each worker has caught up once before the filings start
    filed: list[str] = []
    done = threading.Event()

    def file(centre: CitizenServiceCentre, n: int) -> None:
        for i in range(25):
            lon, lat = places[(n * 25 + i) % len(places)]  # where an inspector stands
            intake = Intake(
                channel="grid", description=f"路灯不亮 {n}-{i}", lon=lon, lat=lat, category="C02"
            )
            record = centre.file(intake, Caller("test", ("operator",))).record
            filed.append(record.key)

    def keep_listing(centre: CitizenServiceCentre) -> None:
        while not done.is_set():
            centre.cases()

    listers = [threading.Thread(target=keep_listing, args=(c,)) for c in centres]
    filers = [threading.Thread(target=file, args=(centres[n % 2], n)) for n in range(8)]
    for t in [*listers, *filers]:
        t.start()
    for t in filers:
        t.join(120)
    done.set()
    for t in listers:
        t.join(60)
    stored = {r.key for r in stores[0].scan("ServiceCase")}
    assert len(filed) == 200 and set(filed) <= stored
    for centre in centres:
        assert set(centre.cases()) == stored
    for s in stores:
        s.close()


@pytest.mark.postgres
async def test_on_postgresql_a_write_wakes_another_worker_with_no_fan_out(
    store_url: str,
) -> None:
    """On PostgreSQL the write's own NOTIFY (sent at its commit) wakes the follower of
    another engine, with no fan-out at all and a poll of 30 s."""
    if not store_url.startswith("postgresql"):
        pytest.skip("NOTIFY is PostgreSQL's")
    writer, reader = RecordStore.from_url(store_url), RecordStore.from_url(store_url)
    writer.migrate()
    follower = feed.FeedFollower(reader.engine, poll_s=30)
    seen: list[str] = []
    follower.on("record", lambda entries: seen.extend(e.key or "" for e in entries))
    task = asyncio.create_task(follower.run())
    try:
        await asyncio.sleep(0.3)  # listening, past its first look at the feed
        for i in range(5):
            written = time.monotonic()
            await asyncio.to_thread(writer.upsert, [report(f"N-{i}")])
            while len(seen) <= i and time.monotonic() - written < 1.0:
                await asyncio.sleep(0.005)
            assert seen == [f"N-{j}" for j in range(i + 1)], "not woken within 1 s"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        writer.close()
        reader.close()
