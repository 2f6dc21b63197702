"""Tables of the authorization server (created by migration 0003)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hub.store.tables import Base, JsonType


class ClientRow(Base):
    """An OAuth client: a partner's or a department's app (confidential) or a browser app
    (public, PKCE). Secrets are kept as SHA-256 of a 256-bit random value, never in clear."""

    __tablename__ = "oauth_clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str | None] = mapped_column(String(128), nullable=True)
    public: Mapped[bool] = mapped_column(Boolean)
    redirect_uris: Mapped[list[str]] = mapped_column(JsonType)
    scopes: Mapped[str] = mapped_column(Text)
    cost_budget: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # (migration 0006) the source systems / device ids a telemetry client may write for;
    # None: not a telemetry client
    devices: Mapped[list[str] | None] = mapped_column(JsonType, nullable=True)
    # (migration 0006) SHA-256 of the client's Open311 API key, None when it has none
    open311_key_hash: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)


class UserRow(Base):
    """A person with a local account (argon2id password hash) and one role."""

    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)


class AuthorizationCodeRow(Base):
    """A pending authorization code, stored by its SHA-256; single use, short-lived."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    username: Mapped[str] = mapped_column(String(64))
    redirect_uri: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(Text)
    code_challenge: Mapped[str | None] = mapped_column(String(128), nullable=True)
    code_challenge_method: Mapped[str | None] = mapped_column(String(16), nullable=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # (migration 0006) a used code is kept until it expires, with the jtis it was exchanged
    # for, so a replay revokes them (RFC 6749 4.1.2)
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    issued_jtis: Mapped[list[str] | None] = mapped_column(JsonType, nullable=True)


class RevokedTokenRow(Base):
    """A revoked access token, by its ``jti``; kept until the token would have expired."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class SigningKeyRow(Base):
    """An asymmetric signing key. The newest unretired key signs; retired keys stay in the
    JWKS until every token they signed has expired."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    private_jwk: Mapped[dict[str, Any]] = mapped_column(JsonType)
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JsonType)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class AuthFailureRow(Base):
    """Failed sign-ins / client authentications by key (``user:NAME``, ``client:ID``,
    ``addr:IP``), for growing delays and a temporary lock (migration 0006)."""

    __tablename__ = "auth_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
