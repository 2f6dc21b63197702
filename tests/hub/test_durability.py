"""Durability under kill -9 (issue 14, Tests): a bounded stream of case filings and tank
readings from 10 clients (idempotency keys on both; a request that got no answer is sent
again with the same keys), the hub — one ``cityhub serve`` process — killed with SIGKILL
mid-stream and started again, three times. Then every acknowledged write is in the store and
none is there twice. The stream and its counts are bench/durability.py's (a longer run there,
``python -m bench --only durability``); the PostgreSQL test server runs with fsync=off, which
a process kill does not reach."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from bench.durability import CLIENTS, report, run

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
