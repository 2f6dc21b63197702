"""The in-process fan-out and counters: one worker, zero set-up.

Each subscriber has its own queue, bounded: a subscriber that falls ``max_pending`` messages
behind (a socket that stopped reading) is ended with :class:`SubscriberTooSlow` and its queue
freed, rather than letting one slow client grow the worker's memory without limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

MAX_PENDING = 1000  # messages a subscriber may be behind (an alarm is ~0.5 KB)


class SubscriberTooSlow(Exception):
    """The subscriber fell too far behind and was dropped; it may subscribe again."""


class _QueueSubscription:
    def __init__(self, max_pending: int) -> None:
        # one place more than the bound, for the end marker that wakes a waiting reader
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(max_pending + 1)
        self.max_pending = max_pending
        self.dropped = False

    def offer(self, message: str) -> bool:
        """Queue a message; False when the subscriber is ``max_pending`` behind: it is then
        dropped, what it held is freed, and its reader gets :class:`SubscriberTooSlow`."""
        if self.dropped:
            return False
        if self._queue.qsize() >= self.max_pending:
            while not self._queue.empty():
                self._queue.get_nowait()
            self.dropped = True
            self._queue.put_nowait(None)
            return False
        self._queue.put_nowait(message)
        return True

    def pending(self) -> int:
        return self._queue.qsize()

    async def _get(self) -> str:
        message = None if self.dropped else await self._queue.get()
        if message is None:
            raise SubscriberTooSlow(
                f"the subscriber fell more than {self.max_pending} messages behind and was "
                "dropped; subscribe again"
            )
        return message

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            yield await self._get()

    async def next(self, timeout: float | None = None) -> str | None:
        try:
            return await asyncio.wait_for(self._get(), timeout)
        except TimeoutError:
            return None


class MemoryBroadcast:
    def __init__(self, max_pending: int = MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self.max_pending = max_pending
        self._subscribers: defaultdict[str, set[_QueueSubscription]] = defaultdict(set)

    async def publish(self, channel: str, message: str) -> None:
        for subscriber in list(self._subscribers.get(channel, ())):
            if not subscriber.offer(message):
                self._subscribers[channel].discard(subscriber)

    def subscribers(self, channel: str) -> list[_QueueSubscription]:
        """The channel's current subscribers (for tests and health figures)."""
        return list(self._subscribers.get(channel, ()))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_QueueSubscription]:
        subscriber = _QueueSubscription(self.max_pending)
        self._subscribers[channel].add(subscriber)
        try:
            yield subscriber
        finally:
            remaining = self._subscribers.get(channel)
            if remaining is not None:
                remaining.discard(subscriber)
                if not remaining:
                    del self._subscribers[channel]

    async def close(self) -> None:
        self._subscribers.clear()


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
