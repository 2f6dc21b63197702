"""Bearer tokens in, a Principal out: who is asking, for which client, with which scopes.

A token is accepted only if it is a compact JWS whose ``alg`` is on the allow-list (never
``none``, never HMAC), whose ``kid`` names a published key that verifies the signature, whose
``iss`` and ``aud`` are the hub's, which has not expired, whose ``jti`` was not revoked, and
whose client still exists and is not revoked.
"""

from __future__ import annotations

import json
from base64 import urlsafe_b64decode
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from joserfc import jwt
from joserfc.errors import ExpiredTokenError, JoseError, MissingKeyError
from joserfc.jwt import JWTClaimsRegistry

from hub.auth.accounts import AccountStore, Client
from hub.auth.keys import ALGORITHMS, KeyRing
from hub.auth.scopes import parse_scopes

MAX_TOKEN_BYTES = 8192


@dataclass(frozen=True)
class Principal:
    subject: str
    client_id: str
    kind: Literal["person", "client"]
    roles: tuple[str, ...]
    scopes: frozenset[str]
    token_id: str
    expires_at: datetime
    client: Client | None = field(default=None, compare=False)

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    @property
    def label(self) -> str:
        """How the audit log names the principal: ``user:NAME`` or ``client:ID``."""
        return f"{'user' if self.kind == 'person' else 'client'}:{self.subject}"


class TokenError(Exception):
    """A refused token: RFC 6750 error code, a description safe to show, the HTTP status."""

    def __init__(self, description: str, *, error: str = "invalid_token", status: int = 401):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def unverified_header(token: str) -> dict[str, Any]:
    try:
        head = token.split(".", 1)[0]
        header = json.loads(urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    except (ValueError, UnicodeDecodeError):
        raise TokenError("the token is not a JWT") from None
    if not isinstance(header, dict):
        raise TokenError("the token is not a JWT")
    return header


class TokenVerifier:
    def __init__(
        self,
        keys: KeyRing,
        accounts: AccountStore,
        *,
        issuer: str,
        audience: str,
        leeway: int = 30,
    ) -> None:
        self.keys = keys
        self.accounts = accounts
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway

    def decode(self, token: str, *, check_expiry: bool = True) -> dict[str, Any]:
        """Verified claims of a token (signature, alg, iss, aud, exp), or TokenError."""
        if len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
            raise TokenError("the token is not a JWT")
        header = unverified_header(token)
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise TokenError(f"signing algorithm {str(alg)[:16]!r} is not accepted")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenError("the token names no signing key (kid)")
        try:
            keys = self.keys.verification_keys(kid)
        except MissingKeyError:  # no key made yet, so no token of ours exists (was a 500)
            raise TokenError("the token's signing key is unknown") from None
        if kid not in {key.kid for key in keys.keys}:
            raise TokenError("the token's signing key is unknown")
        try:
            decoded = jwt.decode(token, keys, algorithms=list(ALGORITHMS))
        except JoseError:
            raise TokenError("the token's signature does not verify") from None
        claims = decoded.claims
        registry = JWTClaimsRegistry(
            leeway=self.leeway,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": self.audience},
            exp={"essential": True},
            jti={"essential": True},
            client_id={"essential": True},
            sub={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            if check_expiry:
                raise TokenError("the token has expired") from None
        except JoseError as exc:
            claim = getattr(exc, "claim", None)
            if claim == "aud":
                raise TokenError("the token is for another audience") from None
            if claim == "iss":
                raise TokenError("the token is from another issuer") from None
            raise TokenError(f"the token's claims are invalid ({claim or 'claims'})") from None
        return claims

    def verify(self, token: str) -> Principal:
        claims = self.decode(token)
        if self.accounts.is_revoked(str(claims["jti"])):
            raise TokenError("the token has been revoked")
        client = self.accounts.client(str(claims["client_id"]))
        if client is None or client.revoked_at is not None:
            raise TokenError("the token's client has been revoked")
        person = claims.get("kind") == "person"
        roles = claims.get("roles") or ([] if person else [client.role])
        return Principal(
            subject=str(claims["sub"]),
            client_id=client.client_id,
            kind="person" if person else "client",
            roles=tuple(str(r) for r in roles),
            scopes=frozenset(parse_scopes(claims.get("scope"))),
            token_id=str(claims["jti"]),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
            client=client,
        )


def principal_of(info: Any) -> Principal | None:
    """The principal of the GraphQL request a resolver or extension is serving."""
    request = getattr(info.context, "request", None) if hasattr(info, "context") else None
    if request is None:
        request = getattr(info, "request", None)
    scope = getattr(request, "scope", None) or {}
    found = scope.get("auth")
    return found if isinstance(found, Principal) else None
