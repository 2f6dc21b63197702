"""Signed webhook push (HMAC-SHA256) from a source system into the hub.

A delivery is a POST of JSON ``{"delivery": id, "sequence": n, "events": [...], "final": bool}``
with headers ``X-Cityhub-Timestamp`` (Unix seconds) and ``X-Cityhub-Signature:
sha256=<hex HMAC of "<timestamp>.<body>">``. A missing or wrong signature, or a timestamp more
than five minutes off, is refused with 401 and nothing is taken from the body.

:func:`receiver_app` is the receiving endpoint (``POST /webhooks/{system}``), for the hub to
mount. :class:`WebhookTransport` runs a sync as a *subscription*: it opens a receiver on
loopback, asks the source to deliver everything since the cursor (its backlog, then the final
marker), takes the signed deliveries as pages and ends the subscription.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

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


def verify(secret: str, headers: Any, body: bytes, *, now: float | None = None) -> None:
    ts, given = headers.get(TIMESTAMP), headers.get(SIGNATURE)
    if not ts or not given:
        raise SignatureError("unsigned delivery")
    try:
        age = abs((time.time() if now is None else now) - int(ts))
    except ValueError:
        raise SignatureError("bad timestamp") from None
    if age > TOLERANCE_S:
        raise SignatureError("timestamp outside the tolerance window")
    expected = sign(secret, body, int(ts))[SIGNATURE]
    if not hmac.compare_digest(expected, given):
        raise SignatureError("signature mismatch")


Handler = Callable[[str, dict[str, Any]], Awaitable[None]]


def receiver_endpoint(
    secret_of: Callable[[str], str | None], on_delivery: Handler
) -> Callable[[Request], Awaitable[JSONResponse]]:
    """The endpoint behind ``POST /webhooks/{system}``: verify the signature, hand the
    delivery over, 202. ``secret_of(system)`` is None for a system that may not push."""

    async def receive(request: Request) -> JSONResponse:
        system = request.path_params["system"]
        secret = secret_of(system)
        if secret is None:
            return JSONResponse({"error": f"unknown system {system}"}, status_code=404)
        body = await request.body()
        try:
            verify(secret, request.headers, body)
        except SignatureError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        try:
            delivery = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        if not isinstance(delivery, dict) or not isinstance(delivery.get("events"), list):
            return JSONResponse({"error": "a delivery needs an events list"}, status_code=400)
        try:
            await on_delivery(system, delivery)
        except DeliveryError as exc:
            return JSONResponse({"error": str(exc)}, status_code=exc.status)
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
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

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
                    yield Page(list(delivery["events"]), since)
                    if delivery.get("final"):
                        break
            finally:
                if subscription:
                    with contextlib.suppress(httpx.TransportError):
                        await self._client.delete(f"/subscriptions/{subscription}")

    async def close(self) -> None:
        await self._client.aclose()
