"""Live fan-out between hub workers (GraphQL subscriptions, cache invalidation, policy reloads)
and shared rate-limit counters: in-process by default (``memory://?max_pending=N`` bounds each
subscriber's queue, 1000 messages by default), Redis when ``CITYHUB_FANOUT_URL`` names one
(``redis://host:port/db[?prefix=NAME]``, ``rediss://`` for TLS; there the Redis server's
``client-output-buffer-limit pubsub`` bounds what a slow subscriber may hold)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from hub.fanout.interface import Broadcast, RateCounter, Subscription
from hub.fanout.memory import MAX_PENDING, MemoryBroadcast, MemoryRateCounter, SubscriberTooSlow

REDIS_SCHEMES = {"redis", "rediss", "unix"}


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


def _max_pending(url: str) -> int:
    """``memory://?max_pending=N``: how far one subscriber may fall behind."""
    values = parse_qs(urlsplit(url).query).get("max_pending")
    if not values:
        return MAX_PENDING
    try:
        found = int(values[0])
    except ValueError:
        found = 0
    if found < 1:
        raise ValueError("CITYHUB_FANOUT_URL: max_pending must be a whole number >= 1")
    return found


def open_broadcast(url: str = "") -> Broadcast:
    """The fan-out backend a URL names: empty or ``memory://`` (one process), or Redis."""
    scheme = _scheme(url)
    if scheme in {"", "memory"}:
        return MemoryBroadcast(_max_pending(url))
    if scheme in REDIS_SCHEMES:
        from hub.fanout.redis_backend import RedisBroadcast

        return RedisBroadcast(url)
    raise ValueError(f"CITYHUB_FANOUT_URL: unsupported fan-out backend {scheme!r}")


def open_rate_counter(url: str = "") -> RateCounter:
    """Rate-limit counters on the same backend as the fan-out."""
    scheme = _scheme(url)
    if scheme in {"", "memory"}:
        return MemoryRateCounter()
    if scheme in REDIS_SCHEMES:
        from hub.fanout.redis_backend import RedisRateCounter

        return RedisRateCounter(url)
    raise ValueError(f"CITYHUB_FANOUT_URL: unsupported fan-out backend {scheme!r}")


__all__ = [
    "Broadcast",
    "MemoryBroadcast",
    "MemoryRateCounter",
    "RateCounter",
    "SubscriberTooSlow",
    "Subscription",
    "open_broadcast",
    "open_rate_counter",
]
