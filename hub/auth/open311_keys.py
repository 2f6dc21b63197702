"""Open311 API keys: the GeoReport v2 ``api_key`` as a client credential of its own.

The spec sends ``api_key`` as a request parameter, which puts it in URLs (and so in access
logs, proxies and browser histories). An access token must never travel that way, so the hub
issues a separate key per client (``cityhub auth open311-key CLIENT``, shown once), keeps only
its SHA-256 (``oauth_clients.open311_key_hash``; a 256-bit random value needs no slow hash),
and refuses a JWT given as ``api_key`` with a 400 that says where tokens go. A key acts as its
client (role, scopes, revocation), and the access logs redact it (``hub.log_redaction``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from hub.auth.accounts import AccountStore, now
from hub.auth.principal import Principal, TokenError

KEY_PREFIX = "o311_"


def new_open311_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def looks_like_a_token(value: str) -> bool:
    """A compact JWS (``xxx.yyy.zzz``): an access token where an Open311 key belongs."""
    return value.count(".") == 2 or value.startswith("eyJ")


def open311_key_principal(accounts: AccountStore, api_key: str) -> Principal:
    """The client an Open311 key belongs to, as a principal; TokenError when the key is
    unknown or its client revoked (the same answer for both)."""
    client = accounts.client_by_open311_key(api_key) if api_key.startswith(KEY_PREFIX) else None
    if client is None or client.revoked_at is not None:
        raise TokenError("the api_key is not a valid Open311 key")
    return Principal(
        subject=client.client_id,
        client_id=client.client_id,
        kind="client",
        roles=(client.role,),
        scopes=frozenset(client.scopes),
        token_id=f"open311-key:{client.client_id}",
        # good for this request only: the key is checked again on the next one
        expires_at=now() + timedelta(seconds=60),
        client=client,
    )
