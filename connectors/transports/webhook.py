"""Signed webhook push (HMAC-SHA256) from a source system into the hub.

A delivery is a POST of JSON ``{"delivery": id, "sequence": n, "events": [...], "final": bool}``
with headers ``X-Cityhub-Timestamp`` (Unix seconds) and ``X-Cityhub-Signature:
sha256=<hex HMAC of "<timestamp>.<body>">``. A missing or wrong signature, or a timestamp more
than five minutes off, is refused with 401 and nothing is taken from the body.

The receiver never holds more than ``max_body`` bytes of a delivery: a bigger
``Content-Length`` is refused (413) before the body is read, and a body that grows past the
limit while it streams in is refused the moment it does. The signature is checked on a digest
fed chunk by chunk as the body arrives, and the headers (signed, fresh) before any of it. A
delivery taken once is not taken again: its id (the signed body's ``delivery``, or the
signature itself when it has none) is remembered for twice the tolerance window (after that
its timestamp no longer passes), and a replay gets 409.

:func:`receiver_app` is the receiving endpoint (``POST /webhooks/{system}``), for the hub to
mount. :class:`WebhookTransport` runs a sync as a *subscription*: it opens a receiver on
loopback, asks the source to deliver everything since the cursor (its backlog, then the final
marker), takes the signed deliveries as pages and ends the subscription; or
(:meth:`WebhookTransport.follow`) keeps the subscription standing, taking each new row the
source pushes after its backlog, the source's heartbeats showing it is alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.errors import SourceProtocolError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page, Transport
from connectors.transports.localserver import LocalServer

SIGNATURE = "X-Cityhub-Signature"
TIMESTAMP = "X-Cityhub-Timestamp"
TOLERANCE_S = 300
# a delivery's id is remembered this long: a timestamp accepted at the edge of the window
# stays acceptable for another full window
REPLAY_WINDOW_S = 2 * TOLERANCE_S
MAX_BODY_BYTES = 8 * 1024 * 1024  # a 500-event batch of the sandbox is well under 1 MiB
MAX_DELIVERY_ID = 128
PENDING_DELIVERIES = 4  # deliveries a subscription's receiver holds before the sync takes them


class SignatureError(Exception):
    """A webhook delivery is not signed by the system it claims to come from."""


class DeliveryError(Exception):
    """The receiver could not take a delivery: the sender should retry it later."""

    def __init__(self, message: str, status: int = 503) -> None:
        super().__init__(message)
        self.status = status


def sign(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers that sign ``body``."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    mac = hmac.new(secret.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()
    return {TIMESTAMP: ts, SIGNATURE: f"sha256={mac}", "Content-Type": "application/json"}


def signed_headers(headers: Any, *, now: float | None = None) -> tuple[str, str]:
    """(timestamp, signature) of a delivery's headers, when both are there and the timestamp
    is inside the tolerance window: checked before any of the body is read."""
    ts, given = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not ts or not given:
        raise SignatureError("unsigned delivery")
    try:
        age = abs((time.time() if now is None else now) - int(ts))
    except ValueError:
        raise SignatureError("bad timestamp") from None
    if age > TOLERANCE_S:
        raise SignatureError("timestamp outside the tolerance window")
    return ts, given


def digest(secret: str, timestamp: str) -> Any:
    """The running HMAC of a delivery: feed it the body's chunks as they arrive."""
    return hmac.new(secret.encode(), timestamp.encode() + b".", hashlib.sha256)


def check_digest(mac: Any, given: str) -> None:
    if not hmac.compare_digest(f"sha256={mac.hexdigest()}", given):
        raise SignatureError("signature mismatch")


def verify(secret: str, headers: Any, body: bytes, *, now: float | None = None) -> None:
    ts, given = signed_headers(headers, now=now)
    mac = digest(secret, ts)
    mac.update(body)
    check_digest(mac, given)


class BodyTooLarge(Exception):
    pass


async def signed_body(
    request: Request, secret: str, max_body: int, *, now: float | None = None
) -> bytes:
    """The body of a signed delivery, read chunk by chunk into the HMAC and never past
    ``max_body`` bytes; SignatureError or BodyTooLarge otherwise."""
    ts, given = signed_headers(request.headers, now=now)
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_body:
        raise BodyTooLarge
    mac = digest(secret, ts)
    body = bytearray()
    async for chunk in request.stream():
        if len(body) + len(chunk) > max_body:
            raise BodyTooLarge
        mac.update(chunk)
        body += chunk
    check_digest(mac, given)
    return bytes(body)


class DeliveryLedger(Protocol):
    """Delivery ids already taken, per system, shared by every worker that receives."""

    async def claim(self, system: str, delivery_id: str) -> bool:
        """Remember ``delivery_id``; False when it was taken inside the replay window."""
        ...

    async def release(self, system: str, delivery_id: str) -> None:
        """Forget a claimed id whose delivery could not be taken (the sender retries it)."""
        ...


class MemoryLedger:
    """A ledger in one process (the sync's loopback receiver)."""

    def __init__(self, window_s: float = REPLAY_WINDOW_S) -> None:
        self.window_s = window_s
        self._seen: dict[tuple[str, str], float] = {}

    async def claim(self, system: str, delivery_id: str) -> bool:
        now = time.monotonic()
        self._seen = {k: at for k, at in self._seen.items() if now - at < self.window_s}
        if (system, delivery_id) in self._seen:
            return False
        self._seen[(system, delivery_id)] = now
        return True

    async def release(self, system: str, delivery_id: str) -> None:
        self._seen.pop((system, delivery_id), None)


def delivery_id(delivery: dict[str, Any], signature: str) -> str:
    """What names a delivery for replay checks: its signed ``delivery`` field, else the
    signature (a replay repeats it byte for byte)."""
    given = delivery.get("delivery")
    if isinstance(given, bool) or not isinstance(given, str | int) or given == "":
        return "sig:" + signature.removeprefix("sha256=")[:64]
    text = str(given)
    if len(text) > MAX_DELIVERY_ID:
        raise ValueError(f"delivery id: at most {MAX_DELIVERY_ID} characters")
    return text


Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


def receiver_endpoint(
    secret_of: Callable[[str], str | None],
    on_delivery: Handler,
    *,
    ledger: DeliveryLedger | None = None,
    max_body: int = MAX_BODY_BYTES,
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The endpoint behind ``POST /webhooks/{system}``: check the signed headers, read the
    body (at most ``max_body`` bytes) into the signature's digest, refuse a delivery taken
    before, hand it over, 202. ``secret_of(system)`` is None for a system that may not push;
    ``ledger`` remembers the deliveries taken (the hub's is in its store, for every worker)."""
    ledger = ledger or MemoryLedger()

    async def receive(request: Request) -> JSONResponse:
        system = request.path_params["system"]
        secret = secret_of(system)
        if secret is None:
            return JSONResponse({"error": f"unknown system {system}"}, status_code=404)
        try:
            body = await signed_body(request, secret, max_body)
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        except BodyTooLarge:
            return JSONResponse(
                {"error": f"a delivery is at most {max_body} bytes"}, status_code=413
            )
        try:
            delivery = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested past the parser's depth
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(delivery, dict) or not isinstance(delivery.get("events"), list):
            return JSONResponse({"error": "a delivery needs an events list"}, status_code=400)
        try:
            name = delivery_id(delivery, request.headers[SIGNATURE])
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if not await ledger.claim(system, name):
            return JSONResponse(
                {"error": "this delivery was taken already (a replay); nothing was taken"},
                status_code=409,
            )
        try:
            await on_delivery(system, delivery)
        except DeliveryError as exc:
            await ledger.release(system, name)  # not taken: the sender's retry must pass
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
        except Exception:
            await ledger.release(system, name)
            raise
        return JSONResponse({"accepted": len(delivery["events"])}, status_code=202)

    return receive


def receiver_app(secrets: dict[str, str], on_delivery: Handler) -> Starlette:
    """A small app with just the receiving endpoint (the sync's loopback subscription)."""
    endpoint = receiver_endpoint(secrets.get, on_delivery)
    return Starlette(routes=[Route("/webhooks/{system}", endpoint, methods=["POST"])])


class WebhookTransport(Transport):
    protocol = "webhook"

    def __init__(self, base_url: str, secret: str, *, system: str, timeout_s: float = 60.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.secret = secret
        self.system = system
        self.timeout_s = timeout_s
        self._client = httpx.AsyncClient(base_url=self.base_url, timeout=10.0)

    def describe(self) -> str:
        return self.base_url

    async def check(self) -> None:
        try:
            response = await self._client.get("/health")
        except httpx.TransportError as exc:
            raise SourceUnavailable(f"{self.base_url}: {type(exc).__name__}: {exc}") from None
        if response.status_code >= 500:
            raise SourceUnavailable(f"{self.base_url}: HTTP {response.status_code}")

    async def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        """The backlog since ``cursor``, up to the delivery marked final; then unsubscribe."""
        async with contextlib.aclosing(self._subscription(mapping, cursor)) as deliveries:
            async for page, final in deliveries:
                yield page
                if final:
                    break

    async def follow(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        """A standing subscription: the backlog since ``cursor``, then each new row as the
        source sends it, until the caller stops (or no delivery, not even a heartbeat, comes
        for ``timeout_s``: SourceUnavailable, and the caller resubscribes from its cursor).
        A heartbeat is a page without rows."""
        async with contextlib.aclosing(self._subscription(mapping, cursor)) as deliveries:
            async for page, _final in deliveries:
                yield page

    async def _subscription(
        self, mapping: KindMapping, cursor: Any
    ) -> AsyncGenerator[tuple[Page, bool], None]:
        # bounded: a source pushing faster than the sync stores waits on its POST instead of
        # piling deliveries up in memory
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(PENDING_DELIVERIES)

        async def take(system: str, delivery: dict[str, Any]) -> None:
            await queue.put(delivery)

        app = receiver_app({self.system: self.secret}, take)
        async with LocalServer(app) as server:
            callback = f"{server.url}/webhooks/{self.system}"
            since = int(cursor) if isinstance(cursor, int) else 0
            try:
                response = await self._client.post(
                    "/subscriptions",
                    json={"callback": callback, "stream": mapping.stream, "since": since},
                )
            except httpx.TransportError as exc:
                raise SourceUnavailable(f"{self.base_url}: {type(exc).__name__}") from None
            if response.status_code >= 500:
                raise SourceUnavailable(f"{self.base_url}: HTTP {response.status_code}")
            if response.status_code >= 400:
                raise SourceProtocolError(f"subscribe: HTTP {response.status_code}")
            subscription = response.json().get("id")
            try:
                while True:
                    try:
                        async with asyncio.timeout(self.timeout_s):
                            delivery = await queue.get()
                    except TimeoutError:
                        raise SourceUnavailable(
                            f"{self.base_url}: no delivery for {self.timeout_s:.0f} s"
                        ) from None
                    sequence = delivery.get("sequence")
                    if isinstance(sequence, int):
                        since = max(since, sequence)
                    yield Page(list(delivery["events"]), since), bool(delivery.get("final"))
            finally:
                if subscription:
                    with contextlib.suppress(httpx.TransportError):
                        await self._client.delete(f"/subscriptions/{subscription}")

    async def write_back(self, path: str, body: Mapping[str, Any]) -> None:
        """A status callback, signed with the secret the system signs its deliveries with."""
        from connectors.transports.write_back import post_signed  # it signs as this module

        await post_signed(self._client, self.secret, path, body)

    async def close(self) -> None:
        await self._client.aclose()
