"""Bearer tokens on the apps' own HTTP routes (telemetry, Open311): the same checks and the
same RFC 6750 answers as the GraphQL gate, and the same audit entry for each refusal
(``hub.audit.refusals``; the log is the app's ``state.audit``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from hub.audit.log import AuditLog
from hub.audit.refusals import Refusal, record_refusal
from hub.auth.principal import Principal, TokenError, TokenVerifier


class BearerRefused(HTTPException):
    def __init__(self, status: int, error: str | None, description: str, scope: str = ""):
        challenge = 'Bearer realm="cityhub"'
        if error:
            challenge += f', error="{error}", error_description="{description}"'
        if scope:
            challenge += f', scope="{scope}"'
        super().__init__(status, description, headers={"WWW-Authenticate": challenge})
        self.error = error or "missing_token"
        self.scope = scope
        self.principal: Principal | None = None  # whose token lacked the scope


def _audit_log(connection: HTTPConnection) -> AuditLog | None:
    app = connection.scope.get("app")
    found = getattr(getattr(app, "state", None), "audit", None)
    return found if isinstance(found, AuditLog) else None


async def bearer_principal(
    connection: HTTPConnection, verifier: TokenVerifier, scope: str
) -> Principal:
    """The verified principal of a request's bearer token, holding ``scope``; a refusal is
    audited before it is raised."""
    try:
        return await _bearer_principal(connection, verifier, scope)
    except BearerRefused as refused:
        why = {"why": str(refused.detail)[:200], "scope": refused.scope or None}
        refusal = Refusal(refused.status_code, refused.error, connection.url.path, why)
        await record_refusal(_audit_log(connection), refusal, refused.principal)
        raise


async def _bearer_principal(
    connection: HTTPConnection, verifier: TokenVerifier, scope: str
) -> Principal:
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
        refused = BearerRefused(403, "insufficient_scope", f"the token lacks {scope}", scope)
        refused.principal = principal  # named in the refusal's entry
        raise refused
    connection.scope["auth"] = principal
    return principal
