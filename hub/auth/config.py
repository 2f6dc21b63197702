"""Settings of the authorization server and the query limits: ``CITYHUB_AUTH_*``.

Kept apart from ``hub.config.Settings`` so the auth package stays self-contained. Values come
from ``CITYHUB_AUTH_*`` environment variables over the ``[auth]`` table of the hub's TOML file.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hub.auth.ratelimit import parse_rate
from hub.config import ConfigError, describe_error, read_config_file

AUTH_PREFIX = "CITYHUB_AUTH_"


class AuthSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=AUTH_PREFIX, extra="forbid", frozen=True)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        table = read_config_file().get("auth", {})
        return (init_settings, env_settings, InitSettingsSource(settings_cls, init_kwargs=table))

    issuer: str = Field(
        "", description="Issuer URL (iss); empty means http://HOST:PORT of the hub settings"
    )
    audience: str = Field("cityhub", description="Audience (aud) of the hub's access tokens")
    access_token_ttl: int = Field(900, ge=10, le=86400, description="Access token lifetime, s")
    code_ttl: int = Field(300, ge=10, le=600, description="Authorization code lifetime, s")
    leeway: int = Field(30, ge=0, le=300, description="Clock skew allowed on exp/iat, s")
    # step 9 item 8: failed sign-ins / client authentications (hub.auth.throttle)
    login_delay_after: int = Field(
        5, ge=1, description="Failures of one account or client before each further try waits"
    )
    login_delay_s: float = Field(
        1.0, ge=0, description="The first wait after those failures, s (doubles per failure)"
    )
    login_lock_after: int = Field(
        10, ge=1, description="Failures of one account or client that lock it for login_lock_s"
    )
    login_lock_s: int = Field(
        900, ge=1, description="How long a lock lasts and failures are remembered, s"
    )
    login_address_delay_after: int = Field(
        25, ge=1, description="Failures from one address before each further try waits"
    )
    login_address_lock_after: int = Field(
        50, ge=1, description="Failures from one address that lock it for login_lock_s"
    )
    key_alg: str = Field("ES256", description="Signing algorithm: ES256 or RS256")
    max_body_bytes: int = Field(
        256 * 1024, ge=1024, description="Largest request body on /graphql and /oauth"
    )
    socket_recheck_s: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="How often an open subscription socket's token is checked again for "
        "revocation (it closes at the token's expiry regardless), s",
    )
    max_aliases: int = Field(30, ge=1, description="Most aliases in one GraphQL document")
    max_tokens: int = Field(2000, ge=50, description="Most tokens in one GraphQL document")
    # step 9 item 1: checked before anything expands fragments (hub.auth.document_shape)
    max_fragments: int = Field(32, ge=1, description="Most fragment definitions in a document")
    max_spreads: int = Field(128, ge=1, description="Most fragment spreads in a document")
    max_selections: int = Field(
        10_000, ge=100, description="Most selections in a document once fragments are expanded"
    )
    # step 9 item 2: search texts have their own, smaller cap (hub.auth.string_limits)
    max_string_chars: int = Field(
        4096, ge=256, description="Longest string in a GraphQL argument or variable, characters"
    )
    max_cost: int = Field(
        50_000, ge=1, description="Default cost budget of one request (a client may have its own)"
    )
    rate_per_minute: int = Field(
        600, ge=1, description="Default requests per minute per client (a client may have its own)"
    )
    # step 9 item 5: people are counted one by one, not in their (shared, public) client's bucket
    person_rate_per_minute: int = Field(
        600, ge=1, description="Requests per minute per person, whichever client they use"
    )
    open311_filing_rate: str = Field(
        "20/hour", description="Open311 filings per principal, e.g. '20/hour' (limits notation)"
    )
    open311_key_filing_rate: str = Field(
        "200/hour", description="Open311 filings per Open311 API key (an app filing for many)"
    )
    photo_upload_rate: str = Field(
        "20/hour", description="Citizen-app photo uploads per principal, e.g. '20/hour'"
    )
    audit_rate_refusals_per_minute: int = Field(
        0,
        ge=0,
        description="Rate refusals (429) audited per principal a minute, the rest counted into "
        "the next entry (hub.audit.refusals); 0: every one",
    )

    @field_validator("open311_filing_rate", "open311_key_filing_rate", "photo_upload_rate")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        parse_rate(value)  # ValueError names the bad text
        return value


def load_auth_settings(**overrides: Any) -> AuthSettings:  # values pydantic validates
    """Read the auth settings; raise ConfigError with a one-line message on invalid values."""
    try:
        return AuthSettings(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_error(exc, AUTH_PREFIX)) from None
