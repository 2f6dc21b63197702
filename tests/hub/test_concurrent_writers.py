"""Several hub workers writing at once: separate processes upserting overlapping and their own
records into one store (SQLite in WAL mode, and PostgreSQL), as N workers behind a load
balancer do. Nothing is lost, nothing deadlocks, each record ends as one writer left it."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime

from hub.store import RecordStore
from schema.record import Record

WORKERS = 4
ROUNDS = 10
SHARED = 300  # keys every worker writes, in a different order each
OWN = 200  # keys only one worker writes


def _records(worker: int, round_: int) -> list[Record]:
    when = datetime(2026, 11, 25, tzinfo=UTC)
    shared = [
        Record(
            kind="ServiceCase",
            key=f"SHARED-{i:04d}",
            source_system=f"worker-{worker}",
            source_id=str(i),
            fetched_at=when,
            attrs={"writer": worker, "round": round_},
        )
        for i in range(SHARED)
    ]
    # each worker walks the shared keys in its own order: lock order must not matter
    shared = shared[worker * 37 % SHARED :] + shared[: worker * 37 % SHARED]
    if worker % 2:
        shared.reverse()
    own = [
        Record(
            kind="ServiceCase",
            key=f"W{worker}-{round_:02d}-{i:04d}",
            source_system=f"worker-{worker}",
            source_id=str(i),
            fetched_at=when,
            attrs={"writer": worker, "round": round_},
        )
        for i in range(OWN)
    ]
    return shared + own + shared[:50]  # and a key twice in one batch: the last one wins


def _worker(url: str, worker: int, errors: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    store = RecordStore.from_url(url)
    try:
        for round_ in range(ROUNDS):
            store.upsert(_records(worker, round_))
    except Exception as exc:  # reported to the test, which fails with it
        errors.put(f"worker {worker}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    finally:
        store.close()


def test_concurrent_writers_lose_nothing(store: RecordStore, store_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    errors = context.Queue()
    workers = [context.Process(target=_worker, args=(store_url, w, errors)) for w in range(WORKERS)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(timeout=300)
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert not found, found
    assert all(p.exitcode == 0 for p in workers)
    assert store.count("ServiceCase") == SHARED + WORKERS * ROUNDS * OWN
    for key in ("SHARED-0000", "SHARED-0150", "SHARED-0299"):
        record = store.get("ServiceCase", key)
        assert record is not None
        # whole records: one writer's version, never a mix of two
        assert record.source_system == f"worker-{record.attrs['writer']}"
        assert record.attrs["round"] == ROUNDS - 1
