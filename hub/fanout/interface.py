"""The fan-out and rate-counter interfaces every backend implements (in-process, Redis)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Protocol


class Subscription(Protocol):
    """Messages on one channel, oldest first, from the moment the subscription is entered."""

    def __aiter__(self) -> AsyncIterator[str]: ...

    async def next(self, timeout: float | None = None) -> str | None:
        """The next message, or None after ``timeout`` seconds without one."""
        ...


class Broadcast(Protocol):
    async def publish(self, channel: str, message: str) -> None:
        """Send to every current subscriber of the channel, in every worker."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[Subscription]:
        """``async with b.subscribe("alarms") as sub: async for message in sub: ...`` —
        listening from when the block is entered until it is left."""
        ...

    async def close(self) -> None: ...


class RateCounter(Protocol):
    async def hit(self, key: str, window_s: float) -> int:
        """Count one hit on ``key``; returns the hits in its current window (which opens at
        the first hit and lasts ``window_s`` seconds), shared by every worker."""
        ...

    async def close(self) -> None: ...
