"""GraphQL over a WebSocket (graphql-transport-ws only), held to the rules of GraphQL over HTTP.

A socket is a long-lived request, so what the HTTP gate checks once per request is checked
here per message and over time:

- a message bigger than the HTTP body limit closes the socket with 4413;
- every ``subscribe`` (a subscription, or a query or mutation sent over the socket) counts
  against the principal's rate like an HTTP request; over it, that operation gets an
  ``error`` message and the socket stays open;
- the token is checked again: at its ``exp`` (a timer) and every ``recheck_s`` seconds for
  revocation of the token or its client (the same :meth:`TokenVerifier.verify` as HTTP);
  a token no longer valid closes the socket with 4403 and ends every operation on it.

The query limits (depth, aliases, tokens, cost) are schema extensions, so they apply to
operations over the socket as they do over HTTP. Each refusal here (a message too large, an
operation over the rate, a token no longer valid) leaves an audit entry with its reason
(``hub.audit.refusals``, through the view's ``refused``), path ``ws:/graphql``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from json import JSONDecodeError
from typing import Any, Protocol

from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter
from strawberry.http.exceptions import NonJsonMessageReceived, NonTextMessageReceived
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    SubscribeMessage,
)

from hub.audit.refusals import Detail, Refusal
from hub.auth.principal import Principal, TokenError, TokenVerifier
from hub.auth.ratelimit import RateLimiter

log = logging.getLogger(__name__)

CLOSE_FORBIDDEN = 4403  # the token expired or was revoked (as a refused connection_init)
CLOSE_TOO_LARGE = 4413  # a message over the body limit (HTTP's 413)
CLOSE_UNAVAILABLE = 1011  # the token could not be checked again (the store is down)
RECHECK_S = 15.0  # how soon a revoked token or client loses its open sockets
TOKEN_STATE = "token"  # where on_ws_connect leaves the token, in the context's state


@dataclass(frozen=True)
class RateRefusal:
    """A principal over its rate: the limit it is held to and when to try again."""

    limit: int
    retry_after_s: int


# The principal's rate, shared with HTTP: None when the operation may run.
RateCheck = Callable[[Principal], Awaitable[RateRefusal | None]]


class SocketRules(Protocol):
    """What the handler needs from the view (HubGraphQL)."""

    max_message_bytes: int | None
    recheck_s: float
    verifier: TokenVerifier | None
    rate_check: RateCheck | None

    async def refused(self, connection: Any, refusal: Refusal) -> None: ...


def _socket_path(websocket: Any) -> str:
    return "ws:" + str(websocket.scope.get("path", ""))


def _utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


class LimitedSocket(ASGIWebSocketAdapter):
    """strawberry's socket adapter, refusing a message over the body limit (4413)."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        limit: int | None = getattr(self.view, "max_message_bytes", None)
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                text = await self.ws.receive_text()
                if limit is not None and _utf8_size(text) > limit:
                    refusal = Refusal(
                        CLOSE_TOO_LARGE, "body_too_large", _socket_path(self.ws), {"limit": limit}
                    )
                    refused = getattr(self.view, "refused", None)  # HubGraphQL's
                    if refused is not None:
                        await refused(self.ws, refusal)
                    await self.close(CLOSE_TOO_LARGE, f"message over the {limit}-byte limit")
                    return
                try:
                    decoded = self.view.decode_json(text)
                except JSONDecodeError as exc:
                    if ignore_parsing_errors:
                        continue
                    raise NonJsonMessageReceived from exc
                yield decoded
        except KeyError as exc:  # a binary frame
            raise NonTextMessageReceived from exc
        except WebSocketDisconnect:
            pass


class HubSocketHandler(BaseGraphQLTransportWSHandler[Any, Any]):
    """graphql-transport-ws with the rate limit per operation and the token watched."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.watch: asyncio.Task[None] | None = None

    @property
    def rules(self) -> SocketRules:
        return self.view  # type: ignore[return-value]  # HubGraphQL, which imports this module

    def principal(self) -> Principal | None:
        found = self.context.request.scope.get("auth")
        return found if isinstance(found, Principal) else None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        await super().handle_connection_init(message)
        principal = self.principal()
        token = self.context.state.get(TOKEN_STATE)
        if self.connection_acknowledged and principal and token and self.watch is None:
            self.watch = asyncio.create_task(self.watch_token(principal, str(token)))
            self.watch.add_done_callback(self._task_done)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        principal = self.principal()
        check = self.rules.rate_check
        if self.connection_acknowledged and principal is not None:
            if principal.expires_at <= datetime.now(UTC):  # the timer may not have run yet
                await self.end(CLOSE_FORBIDDEN, "the token has expired", "invalid_token")
                return
            refusal = await check(principal) if check is not None else None
            if refusal is not None:
                limit: dict[str, Detail] = {
                    "limit": refusal.limit,
                    "per": "minute",
                    "bucket": principal.kind,
                }
                await self.rules.refused(
                    self.context.request,
                    Refusal(429, "rate_limited", _socket_path(self.context.request), limit),
                )
                text = f"rate limit: {refusal.limit} requests per minute"
                extensions = {"code": "RATE_LIMITED", "retryAfter": refusal.retry_after_s}
                await self.send_message(
                    {
                        "id": message["id"],
                        "type": "error",
                        "payload": [{"message": text, "extensions": extensions}],
                    }
                )
                return
        await super().handle_subscribe(message)

    async def watch_token(self, principal: Principal, token: str) -> None:
        """Close the socket when the token expires or it (or its client) is revoked."""
        verifier = self.rules.verifier
        while True:
            left = (principal.expires_at - datetime.now(UTC)).total_seconds()
            if left <= 0:
                await self.end(CLOSE_FORBIDDEN, "the token has expired", "invalid_token")
                return
            await asyncio.sleep(min(left, self.rules.recheck_s))
            if verifier is None or principal.expires_at <= datetime.now(UTC):
                continue
            try:
                await run_in_threadpool(verifier.verify, token)
            except TokenError as exc:
                await self.end(CLOSE_FORBIDDEN, exc.description, exc.error)
                return
            except Exception as exc:  # fail closed: the client reconnects and is checked anew
                log.warning("socket token re-check failed: %s", type(exc).__name__)
                await self.end(CLOSE_UNAVAILABLE, "the token could not be checked again")
                return

    async def end(self, code: int, reason: str, refused: str | None = None) -> None:
        """End every operation on the socket, then close it; ``refused``: the reason code of
        a refusal to audit (a token no longer valid)."""
        if refused is not None:
            why: dict[str, Detail] = {"why": reason[:200], "operations": len(self.operations)}
            refusal = Refusal(code, refused, _socket_path(self.context.request), why)
            await self.rules.refused(self.context.request, refusal)
        for operation_id in list(self.operations):
            await self.cleanup_operation(operation_id)
        with suppress(Exception):  # the client may have gone already
            await self.websocket.close(code, reason)

    async def shutdown(self) -> None:
        if self.watch is not None and self.watch is not asyncio.current_task():
            self.watch.cancel()
            with suppress(asyncio.CancelledError, Exception):
                await self.watch
        await super().shutdown()


def limiter_rate_check(limiter: RateLimiter) -> RateCheck:
    """The principal's bucket in the limiter HTTP requests count against."""

    async def check(principal: Principal) -> RateRefusal | None:
        decision = await limiter.hit(principal)
        return None if decision.allowed else RateRefusal(decision.limit, max(decision.reset_s, 1))

    return check
