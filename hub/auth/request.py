"""Bearer tokens on the apps' own HTTP routes (telemetry, Open311): the same checks and the
same RFC 6750 answers as the GraphQL gate."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from hub.auth.principal import Principal, TokenError, TokenVerifier


class BearerRefused(HTTPException):
    def __init__(self, status: int, error: str | None, description: str, scope: str = ""):
        challenge = 'Bearer realm="cityhub"'
        if error:
            challenge += f', error="{error}", error_description="{description}"'
        if scope:
            challenge += f', scope="{scope}"'
        super().__init__(status, description, headers={"WWW-Authenticate": challenge})


async def bearer_principal(
    connection: HTTPConnection, verifier: TokenVerifier, scope: str
) -> Principal:
    """The verified principal of a request's bearer token, holding ``scope``."""
    authorization = connection.headers.get("authorization", "")
    kind, _, token = authorization.partition(" ")
    if not authorization:
        raise BearerRefused(401, None, "an access token is required")
    if kind.lower() != "bearer" or not token.strip():
        raise BearerRefused(401, "invalid_request", "use Authorization: Bearer TOKEN")
    try:
        principal = await run_in_threadpool(verifier.verify, token.strip())
    except TokenError as exc:
        raise BearerRefused(exc.status, exc.error, exc.description) from None
    if not principal.has_scope(scope):
        raise BearerRefused(403, "insufficient_scope", f"the token lacks {scope}", scope)
    connection.scope["auth"] = principal
    return principal
