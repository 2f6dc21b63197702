"""Rate limits per person and per client, with the IETF ``RateLimit-*`` headers.

Who is counted (issue 13 item 5):

- **A person** (a token from the authorization-code flow, ``kind == "person"``) has a bucket of
  their own, ``person:<subject>``, whichever client they came through. The ops centre's public
  client serves every operator, viewer and steward of the city: a shared client bucket would
  let one viewer spend it and lock the others out, so a client's ``rate_per_minute`` is *not*
  applied to the people using it. Their limit is ``CITYHUB_AUTH_PERSON_RATE_PER_MINUTE``.
- **A client's machine traffic** (client-credentials tokens, ``kind == "client"``) is counted in
  the client's bucket, ``client:<client_id>``, at the client's own ``rate_per_minute`` or the
  default ``CITYHUB_AUTH_RATE_PER_MINUTE``.
- **Actions** with a price of their own (an Open311 filing, a photo upload) have separate
  buckets per principal (or per Open311 key), with limits in the ``limits`` notation
  (``"20/hour"``), through ``hit_action``.

Windows are moving windows (``limits``' MovingWindowRateLimiter: every hit is remembered for
the length of the window), so ``RateLimit-Reset`` and ``Retry-After`` are the real seconds
until the oldest hit in the window ages out and frees a slot, not a fixed 60. Counters live in
process memory, or in Redis when ``CITYHUB_FANOUT_URL`` is ``redis://`` so that every worker
shares them. In memory the synchronous storage is used: a hit is a few microseconds under a
thread lock, where the asyncio storage sweeps every key through a worker thread per pass.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from limits import RateLimitItem, RateLimitItemPerMinute, parse
from limits.aio.strategies import MovingWindowRateLimiter as AsyncMovingWindow
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

if TYPE_CHECKING:
    from hub.auth.principal import Principal

REDIS_SCHEMES = {"redis", "rediss", "unix"}
# actions with limits of their own (settings: CITYHUB_AUTH_*_RATE)
OPEN311_FILING = "open311-filing"
OPEN311_KEY_FILING = "open311-key-filing"
PHOTO_UPLOAD = "photo-upload"


@dataclass(frozen=True)
class RateDecision:
    """One hit's answer: allowed or not, the limit, what is left and the seconds until the
    window frees a slot (``Retry-After`` when refused)."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> list[tuple[str, str]]:
        """The ``RateLimit-*`` header pairs (draft-ietf-httpapi-ratelimit-headers), plus
        ``Retry-After`` on a refusal; none for an action without a limit (``limit == 0``)."""
        if self.limit == 0:
            return []
        pairs = [
            ("RateLimit-Limit", str(self.limit)),
            ("RateLimit-Remaining", str(self.remaining)),
            ("RateLimit-Reset", str(self.reset_s)),
        ]
        if not self.allowed:
            pairs.append(("Retry-After", str(max(self.reset_s, 1))))
        return pairs

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        """``headers()`` for an ASGI ``http.response.start`` message."""
        return [(k.lower().encode(), v.encode()) for k, v in self.headers()]


def parse_rate(text: str) -> RateLimitItem:
    """A rate in the ``limits`` notation (``"20/hour"``, ``"30 per 10 minutes"``); ValueError
    with the text when it is not one."""
    try:
        return parse(text)
    except ValueError:
        raise ValueError(f"not a rate like '20/hour': {text!r}") from None


def _redis_storage_url(url: str) -> tuple[str, str, str]:
    """(redis-py URL, storage URI for ``limits``, key prefix) from a ``CITYHUB_FANOUT_URL``."""
    from hub.fanout.redis_backend import _split

    target, prefix = _split(url)
    scheme, rest = target.split("://", 1)
    scheme = "redis+unix" if scheme == "unix" else scheme
    return target, f"async+{scheme}://{rest}", f"{prefix}limits"


class RateLimiter:
    def __init__(
        self,
        url: str = "",
        *,
        rate_per_minute: int = 600,
        person_rate_per_minute: int = 600,
        actions: dict[str, str] | None = None,
    ) -> None:
        self.rate_per_minute = rate_per_minute
        self.person_rate_per_minute = person_rate_per_minute
        # each action's rate, e.g. {OPEN311_FILING: "20/hour"}
        self.actions = {name: parse_rate(text) for name, text in (actions or {}).items()}
        self._items: dict[int, RateLimitItem] = {}
        scheme = url.split("://", 1)[0] if "://" in url else ""
        self._memory: MovingWindowRateLimiter | None = None
        self._shared: AsyncMovingWindow | None = None
        self._pool: Any = None
        if scheme in {"", "memory"}:
            self._memory = MovingWindowRateLimiter(MemoryStorage())
        elif scheme in REDIS_SCHEMES:
            import redis.asyncio as aioredis
            from limits.aio.storage import RedisStorage

            target, uri, prefix = _redis_storage_url(url)
            # our own pool (redis-py, as the fan-out uses), so close() can let it go
            self._pool = aioredis.ConnectionPool.from_url(target)
            storage = RedisStorage(
                uri, implementation="redispy", key_prefix=prefix, connection_pool=self._pool
            )
            self._shared = AsyncMovingWindow(storage)
        else:
            raise ValueError(f"CITYHUB_FANOUT_URL: unsupported rate-limit backend {scheme!r}")

    def bucket_of(self, principal: Principal) -> tuple[str, int]:
        """(bucket name, requests per minute) for a principal's requests."""
        if principal.kind == "person":
            return f"person:{principal.subject}", self.person_rate_per_minute
        client = principal.client
        own = client.rate_per_minute if client is not None else None
        return f"client:{principal.client_id}", own or self.rate_per_minute

    async def hit(self, principal: Principal) -> RateDecision:
        """Count one request of ``principal`` (see the module docstring for the buckets)."""
        name, per_minute = self.bucket_of(principal)
        return await self.hit_bucket("requests", name, self._per_minute(per_minute))

    async def hit_action(
        self, action: str, who: str, rate: RateLimitItem | None = None
    ) -> RateDecision:
        """Count one ``action`` (``OPEN311_FILING``, ``PHOTO_UPLOAD``...) by ``who`` (a
        principal's label, an Open311 key's client) against ``rate`` or the action's
        configured rate; an action without either is not limited."""
        rate = rate or self.actions.get(action)
        if rate is None:
            return RateDecision(True, 0, 0, 0)
        return await self.hit_bucket(action, who, rate)

    async def hit_bucket(self, bucket: str, who: str, rate: RateLimitItem) -> RateDecision:
        if self._memory is not None:
            allowed = self._memory.hit(rate, bucket, who)
            reset_at, remaining = self._memory.get_window_stats(rate, bucket, who)
        else:
            assert self._shared is not None
            allowed = await self._shared.hit(rate, bucket, who)
            reset_at, remaining = await self._shared.get_window_stats(rate, bucket, who)
        reset_s = max(math.ceil(reset_at - time.time()), 0)
        return RateDecision(allowed, rate.amount, max(remaining, 0), reset_s)

    def _per_minute(self, amount: int) -> RateLimitItem:
        item = self._items.get(amount)
        if item is None:
            item = self._items[amount] = RateLimitItemPerMinute(amount)
        return item

    async def close(self) -> None:
        if self._memory is not None:
            self._memory.storage.reset()
        if self._pool is not None:
            await self._pool.aclose()
