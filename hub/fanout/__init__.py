"""Live fan-out between hub workers (GraphQL subscriptions, cache invalidation, policy reloads)
and shared rate-limit counters: in-process by default, Redis when ``CITYHUB_FANOUT_URL`` names
one (``redis://host:port/db[?prefix=NAME]``, ``rediss://`` for TLS)."""

from __future__ import annotations

from hub.fanout.interface import Broadcast, RateCounter, Subscription
from hub.fanout.memory import MemoryBroadcast, MemoryRateCounter

REDIS_SCHEMES = {"redis", "rediss", "unix"}


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else ""


def open_broadcast(url: str = "") -> Broadcast:
    """The fan-out backend a URL names: empty or ``memory://`` (one process), or Redis."""
    scheme = _scheme(url)
    if scheme in {"", "memory"}:
        return MemoryBroadcast()
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
    "Subscription",
    "open_broadcast",
    "open_rate_counter",
]
