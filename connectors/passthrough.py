"""Live pass-through at query time: a timeout, a circuit breaker and a short TTL cache.

A resolver that must show a source's *current* value (a camera's status, a pump's state)
calls :meth:`LivePassThrough.get`. A fresh cached answer is served without a call; otherwise
the source is called under a timeout. After ``failure_threshold`` failures in a row the
breaker opens and calls fail fast with :class:`~connectors.errors.CircuitOpen` (or serve the
last known value, marked stale) until ``reset_after_s`` has passed; then one trial call is let
through (half-open) and its outcome closes or re-opens the breaker.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar

from connectors.errors import CircuitOpen, ConnectorError, SourceUnavailable

T = TypeVar("T")
State = Literal["closed", "open", "half-open"]


class CircuitBreaker:
    def __init__(
        self,
        failure_threshold: int = 3,
        reset_after_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.reset_after_s = reset_after_s
        self.clock = clock
        self.failures = 0
        self.opened_at: float | None = None
        self._trial = False

    @property
    def state(self) -> State:
        if self.opened_at is None:
            return "closed"
        if self.clock() - self.opened_at >= self.reset_after_s:
            return "half-open"
        return "open"

    def allow(self) -> bool:
        state = self.state
        if state == "closed":
            return True
        if state == "half-open" and not self._trial:
            self._trial = True
            return True
        return False

    def success(self) -> None:
        self.failures = 0
        self.opened_at = None
        self._trial = False

    def failure(self) -> None:
        self.failures += 1
        self._trial = False
        if self.opened_at is not None or self.failures >= self.failure_threshold:
            self.opened_at = self.clock()


class TTLCache(Generic[T]):
    def __init__(
        self, ttl_s: float = 5.0, max_items: int = 4096, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self.clock = clock
        self._items: OrderedDict[str, tuple[float, T]] = OrderedDict()

    def get(self, key: str, *, allow_stale: bool = False) -> T | None:
        item = self._items.get(key)
        if item is None:
            return None
        stored, value = item
        if not allow_stale and self.clock() - stored > self.ttl_s:
            return None
        return value

    def put(self, key: str, value: T) -> None:
        self._items[key] = (self.clock(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)


@dataclass(frozen=True)
class LiveValue(Generic[T]):
    value: T
    source: Literal["live", "cache", "stale"]


class LivePassThrough(Generic[T]):
    def __init__(
        self,
        fetch: Callable[[str], Awaitable[T]],
        *,
        timeout_s: float = 2.0,
        breaker: CircuitBreaker | None = None,
        cache: TTLCache[T] | None = None,
        serve_stale: bool = True,
    ) -> None:
        self.fetch = fetch
        self.timeout_s = timeout_s
        self.breaker = breaker or CircuitBreaker()
        self.cache: TTLCache[T] = cache or TTLCache()
        self.serve_stale = serve_stale
        self.calls = 0

    async def get(self, key: str) -> LiveValue[T]:
        cached = self.cache.get(key)
        if cached is not None:
            return LiveValue(cached, "cache")
        if not self.breaker.allow():
            return self._fallback(key, CircuitOpen(f"circuit open for {key}: source failing"))
        self.calls += 1
        try:
            async with asyncio.timeout(self.timeout_s):
                value = await self.fetch(key)
        except TimeoutError:
            self.breaker.failure()
            return self._fallback(key, SourceUnavailable(f"{key}: no answer in {self.timeout_s}s"))
        except (ConnectorError, OSError) as exc:
            self.breaker.failure()
            return self._fallback(key, exc)
        self.breaker.success()
        self.cache.put(key, value)
        return LiveValue(value, "live")

    def _fallback(self, key: str, error: Exception) -> LiveValue[T]:
        stale = self.cache.get(key, allow_stale=True) if self.serve_stale else None
        if stale is not None:
            return LiveValue(stale, "stale")
        raise error


def rest_lookup(get_json: Callable[[str], Awaitable[Any]], path: str) -> Callable[[str], Any]:
    """A fetch function for a REST source: ``path`` with ``{id}`` filled in."""

    async def fetch(key: str) -> Any:
        return await get_json(path.format(id=key))

    return fetch
