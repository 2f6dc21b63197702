"""Fan-out and counters on Redis: pub/sub between hub workers, counters as expiring keys.

URL: ``redis://[user:password@]host:port/db[?prefix=NAME]`` (``rediss://`` for TLS). Every
channel and key gets the prefix (default ``cityhub:``), so hubs sharing a Redis stay apart.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub


def _split(url: str) -> tuple[str, str]:
    """(URL for redis-py, prefix) — the prefix is ours, so it is taken off the query."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    prefix = query.pop("prefix", ["cityhub"])[0] + ":"
    rest = "&".join(f"{k}={v}" for k, values in query.items() for v in values)
    return urlunsplit(parts._replace(query=rest)), prefix


class _PubSubSubscription:
    def __init__(self, pubsub: PubSub) -> None:
        self._pubsub = pubsub

    async def __aiter__(self) -> AsyncIterator[str]:
        while True:
            message = await self.next(timeout=None)
            if message is not None:
                yield message

    async def next(self, timeout: float | None = None) -> str | None:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            wait = 1.0 if deadline is None else max(deadline - loop.time(), 0.0)
            message: dict[str, Any] | None = await self._pubsub.get_message(
                ignore_subscribe_messages=True, timeout=wait
            )
            if message is not None and message["type"] == "message":
                data = message["data"]
                return data.decode() if isinstance(data, bytes) else str(data)
            if deadline is not None and loop.time() >= deadline:
                return None


class RedisBroadcast:
    def __init__(self, url: str) -> None:
        target, self.prefix = _split(url)
        self.client = aioredis.Redis.from_url(target)

    async def publish(self, channel: str, message: str) -> None:
        await self.client.publish(self.prefix + channel, message)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[_PubSubSubscription]:
        pubsub = self.client.pubsub()
        try:
            await pubsub.subscribe(self.prefix + channel)
            # Wait for the server's confirmation: from here on nothing published is missed.
            while True:
                reply = await pubsub.get_message(timeout=5.0)
                if reply is None:
                    raise ConnectionError(f"Redis did not confirm SUBSCRIBE {channel!r}")
                if reply["type"] == "subscribe":
                    break
            yield _PubSubSubscription(pubsub)
        finally:
            await pubsub.aclose()

    async def close(self) -> None:
        await self.client.aclose()


class RedisRateCounter:
    def __init__(self, url: str) -> None:
        target, self.prefix = _split(url)
        self.client = aioredis.Redis.from_url(target)

    async def hit(self, key: str, window_s: float) -> int:
        name = f"{self.prefix}rate:{key}"
        async with self.client.pipeline(transaction=True) as pipe:
            # The window opens with the first hit (SET NX with its expiry); INCR keeps the TTL.
            pipe.set(name, 0, nx=True, px=max(int(window_s * 1000), 1))
            pipe.incr(name)
            _, count = await pipe.execute()
        return int(count)

    async def close(self) -> None:
        await self.client.aclose()
