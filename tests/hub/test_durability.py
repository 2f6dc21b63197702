"""Durability under kill -9 (issue 14, Tests): a bounded stream of case filings and tank
readings from 10 clients (idempotency keys on both; a request that got no answer is sent
again with the same keys), the hub — one ``cityhub serve`` process — killed with SIGKILL
mid-stream and started again, three times. Then every acknowledged write is in the store and
none is there twice. The stream and its counts are bench/durability.py's (a longer run there,
``python -m bench --only durability``); the PostgreSQL test server runs with fsync=off, which
a process kill does not reach."""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from bench.durability import CLIENTS, report, run
from hub import feed
from hub.idempotency import FILED_STALE_S, Idempotency, InProgress, Ticket
from hub.store import RecordStore
from hub.store.tables import IdempotencyRow

ITEMS = 16  # writes per client: half filings, half batches of readings


def test_every_acknowledged_write_survives_three_kills_once(store_url: str, tmp_path: Path) -> None:
    redis = os.environ.get("CITYHUB_TEST_REDIS_URL", "")
    fanout = ""
    if store_url.startswith("postgresql") and redis:
        fanout = f"{redis}?prefix=t_{uuid.uuid4().hex[:12]}"
    cases, batches = run(store_url, tmp_path, items=ITEMS, kills=3, fanout=fanout)
    print()
    report(f"durability, {store_url.split(':', 1)[0]}", cases, batches)
    for result in (cases, batches):
        assert not result.errors, result.errors[:3]
        assert not result.unanswered, result.unanswered[:3]
        assert result.total("acknowledged") == CLIENTS * ITEMS // 2
        assert result.total("lost") == 0
        assert result.total("duplicates") == 0
        assert result.total("stored") == result.total("acknowledged")
    # the kills landed mid-stream: writes were acknowledged before and after each one
    periods = zip(cases.periods, batches.periods, strict=True)
    acknowledged = [c.acknowledged + b.acknowledged for c, b in periods]
    assert all(acknowledged), acknowledged


def test_a_claim_left_by_a_killed_worker_is_taken_over_and_files_once(
    store: RecordStore,
) -> None:
    """What made a retry after a kill wait a minute (``IDEMPOTENCY_IN_PROGRESS``, longest
    wait 60.4 s above on PostgreSQL): a filing's claim is taken over after
    ``FILED_STALE_S``, and since its answer commits with the filing, a takeover never files
    twice — of two filings of one key, the second to commit rolls back."""
    keys = Idempotency(store.engine, hashlib.sha256(b"test kek").digest())
    scope, who = "test.file", "user:ops"

    def filing(key: str) -> Callable[[Ticket | None], dict[str, Any]]:
        def file(ticket: Ticket | None) -> dict[str, Any]:
            assert ticket is not None
            answer = {"case": f"CASE-{key}"}
            with store.engine.begin() as conn:  # the filing and its answer: one transaction
                feed.append(conn, "record", kind="ServiceCase", key=answer["case"])
                ticket.keep(answer)(conn)
            return answer

        return file

    def filed(key: str) -> int:
        return sum(e.key == f"CASE-{key}" for e in feed.read_after(store.engine, 0))

    def age(key: str, seconds: float) -> None:  # as the clock would, past the claim
        with store.engine.begin() as conn:
            conn.execute(
                update(IdempotencyRow)
                .where(IdempotencyRow.key == Idempotency._id(who, key))
                .values(created_at=datetime.now(UTC) - timedelta(seconds=seconds))
            )

    # a worker claimed "k1" and was killed before its filing committed
    assert keys.claim(scope, who, "k1") is None
    with pytest.raises(InProgress):  # a retry at once: the first may still be running
        keys.filed(scope, who, "k1", filing("k1"))
    age("k1", FILED_STALE_S + 1)
    assert keys.filed(scope, who, "k1", filing("k1")) == ({"case": "CASE-k1"}, False)
    assert keys.filed(scope, who, "k1", filing("k1")) == ({"case": "CASE-k1"}, True)
    assert filed("k1") == 1

    # a slow worker overtaken: the retry files, the slow one's filing then rolls back
    assert keys.claim(scope, who, "k2") is None
    slow = Ticket(keys, scope, who, "k2")
    age("k2", FILED_STALE_S + 1)
    assert keys.filed(scope, who, "k2", filing("k2")) == ({"case": "CASE-k2"}, False)
    with pytest.raises(InProgress):
        filing("k2")(slow)
    assert filed("k2") == 1
