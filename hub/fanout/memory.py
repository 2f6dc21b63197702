"""The in-process fan-out and counters: one worker, zero set-up."""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class _QueueSubscription:
    def __init__(self, queue: asyncio.Queue[str]) -> None:
        self._queue = queue

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self._queue.get()

    async def next(self, timeout: float | None = None) -> str | None:
        try:
            return await asyncio.wait_for(self._queue.get(), timeout)
        except TimeoutError:
            return None


class MemoryBroadcast:
    def __init__(self) -> None:
        self._queues: defaultdict[str, set[asyncio.Queue[str]]] = defaultdict(set)

    async def publish(self, channel: str, message: str) -> None:
        for queue in list(self._queues.get(channel, ())):
            queue.put_nowait(message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_QueueSubscription]:
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._queues[channel].add(queue)
        try:
            yield _QueueSubscription(queue)
        finally:
            self._queues[channel].discard(queue)
            if not self._queues[channel]:
                del self._queues[channel]

    async def close(self) -> None:
        self._queues.clear()


class MemoryRateCounter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, float]] = {}

    async def hit(self, key: str, window_s: float) -> int:
        now = time.monotonic()
        count, ends = self._windows.get(key, (0, 0.0))
        if now >= ends:
            count, ends = 0, now + window_s
        self._windows[key] = (count + 1, ends)
        if len(self._windows) > 100_000:  # forget closed windows now and then
            self._windows = {k: v for k, v in self._windows.items() if v[1] > now}
        return count + 1

    async def close(self) -> None:
        self._windows.clear()
