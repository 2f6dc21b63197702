"""The fan-out conformance suite: every backend must pass it (in-process, and a real Redis
started by scripts/test.sh)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator

import pytest

from hub.fanout import Broadcast, RateCounter, open_broadcast, open_rate_counter

REDIS_URL = os.environ.get("CITYHUB_TEST_REDIS_URL", "")
BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def backend_url(kind: str) -> str:
    if kind == "memory":
        return ""
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CITYHUB_TEST_REDIS_URL is unset: run the suite with scripts/test.sh")
        pytest.skip("CITYHUB_TEST_REDIS_URL is unset (scripts/test.sh starts Redis)")
    return f"{REDIS_URL}?prefix=t_{uuid.uuid4().hex[:12]}"  # each test its own namespace


@pytest.fixture(params=BACKENDS)
async def workers(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Broadcast, Broadcast]]:
    """Two hub workers' views of the fan-out (one shared object in-process)."""
    url = backend_url(request.param)
    first = open_broadcast(url)
    second = first if request.param == "memory" else open_broadcast(url)
    yield first, second
    await first.close()
    if second is not first:
        await second.close()


@pytest.fixture(params=BACKENDS)
async def counters(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[RateCounter, RateCounter]]:
    url = backend_url(request.param)
    first = open_rate_counter(url)
    second = first if request.param == "memory" else open_rate_counter(url)
    yield first, second
    await first.close()
    if second is not first:
        await second.close()


async def test_every_subscriber_in_every_worker_gets_messages_in_order(
    workers: tuple[Broadcast, Broadcast],
) -> None:
    a, b = workers
    async with a.subscribe("alarms") as on_a, b.subscribe("alarms") as on_b:
        for n in range(5):
            await a.publish("alarms", f"tank-{n} 液位过高")
        for sub in (on_a, on_b):
            got = [await sub.next(timeout=5) for _ in range(5)]
            assert got == [f"tank-{n} 液位过高" for n in range(5)]


async def test_channels_are_apart_and_nothing_arrives_unasked(
    workers: tuple[Broadcast, Broadcast],
) -> None:
    a, b = workers
    await a.publish("policies", "nobody listens")  # no subscriber: not an error
    async with b.subscribe("policies") as policies, b.subscribe("cache") as cache:
        await a.publish("cache", "invalidate Enterprise:E1")
        assert await cache.next(timeout=5) == "invalidate Enterprise:E1"
        assert await policies.next(timeout=0.3) is None


async def test_async_iteration_and_leaving(workers: tuple[Broadcast, Broadcast]) -> None:
    a, b = workers

    async def first_two() -> list[str]:
        seen: list[str] = []
        async with b.subscribe("gps") as sub:
            ready.set()
            async for message in sub:
                seen.append(message)
                if len(seen) == 2:
                    break
        return seen

    ready = asyncio.Event()
    task = asyncio.create_task(first_two())
    await asyncio.wait_for(ready.wait(), 5)
    await a.publish("gps", "津A12345 117.70,39.02")
    await a.publish("gps", "津A12345 117.71,39.03")
    assert await asyncio.wait_for(task, 5) == ["津A12345 117.70,39.02", "津A12345 117.71,39.03"]
    await a.publish("gps", "after everyone left")  # no subscriber left: fine


async def test_rate_counter_is_shared_and_windows_close(
    counters: tuple[RateCounter, RateCounter],
) -> None:
    a, b = counters
    assert [await a.hit("partner:water-bureau", 0.5) for _ in range(3)] == [1, 2, 3]
    assert await b.hit("partner:water-bureau", 0.5) == 4  # another worker, the same counter
    assert await b.hit("partner:finance-office", 0.5) == 1
    await asyncio.sleep(0.6)
    assert await a.hit("partner:water-bureau", 0.5) == 1
