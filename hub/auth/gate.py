"""No anonymous data access: the bearer-token gate in front of /graphql.

Every request needs ``Authorization: Bearer <JWT>``; the GraphiQL page itself (a browser's GET
without a query) is the one exception, and its requests carry the token pasted into its
headers pane. Refusals follow RFC 6750: 401 with ``WWW-Authenticate: Bearer
error="invalid_token"`` for a missing, malformed, expired, revoked or foreign token, 403
``insufficient_scope`` when the token lacks ``graph:read``. Bodies over the limit get 413.

Rates are counted by ``hub.auth.ratelimit.RateLimiter``: each person in a bucket of their own,
a client's machine traffic in the client's. Over it: 429 with ``Retry-After`` (the real
seconds until a slot frees); every answer past the token check carries ``RateLimit-Limit``,
``RateLimit-Remaining`` and ``RateLimit-Reset``.

Every refusal here leaves an audit entry with its reason (``hub.audit.refusals``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.audit.log import AuditLog
from hub.audit.refusals import Refusal, RefusalSampler, record_refusal
from hub.auth.principal import Principal, TokenError, TokenVerifier
from hub.auth.ratelimit import RateLimiter
from hub.auth.scopes import GRAPH_READ


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _with_headers(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    """``send`` adding ``extra`` headers to the response's start (the RateLimit-* headers on
    answers the app gives)."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", ()), *extra]}
        await send(message)

    return sending


class BearerGate:
    def __init__(
        self,
        app: ASGIApp,
        verifier: TokenVerifier,
        limiter: RateLimiter,
        *,
        realm: str = "cityhub",
        max_body: int,
        audit: AuditLog | None = None,
        refusals: RefusalSampler | None = None,
    ) -> None:
        self.app = app
        self.verifier = verifier
        self.limiter = limiter
        self.realm = realm
        self.max_body = max_body
        self.audit = audit
        self.refusals = refusals

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._refuse(
                send, str(scope.get("path", "")), 401, "invalid_request", "only HTTP is served here"
            )
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if self._is_ide_page(scope, headers):
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_body:
            await self._too_large(send, path, None)
            return
        authorization = headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if not authorization:
            await self._refuse(send, path, 401, None, "an access token is required")
            return
        if scheme.lower() != "bearer" or not token.strip():
            await self._refuse(
                send, path, 401, "invalid_request", "use Authorization: Bearer TOKEN"
            )
            return
        try:
            principal = await run_in_threadpool(self.verifier.verify, token.strip())
        except TokenError as exc:
            await self._refuse(send, path, exc.status, exc.error, exc.description)
            return
        if not principal.has_scope(GRAPH_READ):
            await self._refuse(
                send,
                path,
                403,
                "insufficient_scope",
                f"the token lacks {GRAPH_READ}",
                GRAPH_READ,
                principal,
            )
            return
        rate = await self.limiter.hit(principal)
        if not rate.allowed:
            whose = "your" if principal.kind == "person" else "this client's"
            message = (
                f"rate limit: {rate.limit} requests per minute ({whose} own); "
                f"retry in {rate.reset_s} s"
            )
            refusal = Refusal(
                429,
                "rate_limited",
                path,
                {"limit": rate.limit, "per": "minute", "bucket": principal.kind},
            )
            await record_refusal(self.audit, refusal, principal, sampler=self.refusals)
            await self._send(send, 429, {"errors": [{"message": message}]}, rate.raw_headers())
            return
        replay = await self._buffered(receive)
        if replay is None:
            await self._too_large(send, path, principal)
            return
        scope["auth"] = principal
        await self.app(scope, replay, _with_headers(send, rate.raw_headers()))

    async def _buffered(self, receive: Receive) -> Receive | None:
        """The whole body, read up to the limit (None when over it), replayed to the app."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            if len(body) > self.max_body:
                return None
            if not message.get("more_body"):
                break
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        return replay

    @staticmethod
    def _is_ide_page(scope: Scope, headers: dict[str, str]) -> bool:
        return (
            scope["method"] == "GET"
            and b"query=" not in scope.get("query_string", b"")
            and "text/html" in headers.get("accept", "")
            and "authorization" not in headers
        )

    async def _too_large(self, send: Send, path: str, principal: Principal | None) -> None:
        refusal = Refusal(413, "body_too_large", path, {"limit": self.max_body})
        await record_refusal(self.audit, refusal, principal)
        await self._send(send, 413, {"errors": [{"message": "request body too large"}]})

    async def _refuse(
        self,
        send: Send,
        path: str,
        status: int,
        error: str | None,
        description: str,
        scope: str | None = None,
        principal: Principal | None = None,
    ) -> None:
        why = {"why": description[:200], "scope": scope}
        refusal = Refusal(status, error or "missing_token", path, why)
        await record_refusal(self.audit, refusal, principal)
        challenge = f'Bearer realm="{self.realm}"'
        if error:  # RFC 6750 3.1: no error code when the request had no credentials at all
            challenge += f', error="{error}"'
        challenge += f', error_description="{_quote(description)}"'
        if scope:
            challenge += f', scope="{scope}"'
        body = {
            "errors": [{"message": description, "extensions": {"code": error or "unauthorized"}}]
        }
        await self._send(send, status, body, [(b"www-authenticate", challenge.encode())])

    @staticmethod
    async def _send(
        send: Send,
        status: int,
        body: Mapping[str, object],
        extra: Sequence[tuple[bytes, bytes]] = (),
    ) -> None:
        payload = json.dumps(body).encode()
        headers = [
            (b"content-type", b"application/json; charset=utf-8"),
            (b"content-length", str(len(payload)).encode()),
            (b"cache-control", b"no-store"),
            *extra,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})
