"""Everything the app needs from auth and audit, built once per app from the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.routing import Route
from starlette.types import ASGIApp
from strawberry.extensions import MaxAliasesLimiter, MaxTokensLimiter, SchemaExtension

from hub.audit.extension import AuditExtension
from hub.audit.log import AuditLog
from hub.audit.refusals import RefusalSampler
from hub.auth.accounts import AccountStore
from hub.auth.config import AuthSettings, load_auth_settings
from hub.auth.document_shape import ShapeLimits
from hub.auth.gate import BearerGate
from hub.auth.keys import KeyRing
from hub.auth.limits import AccessLimits
from hub.auth.principal import TokenVerifier
from hub.auth.ratelimit import OPEN311_FILING, OPEN311_KEY_FILING, PHOTO_UPLOAD, RateLimiter
from hub.auth.routes import oauth_routes
from hub.auth.server import HubAuthorizationServer
from hub.auth.suggestions import HideSchemaSuggestions
from hub.auth.throttle import Throttle
from hub.config import Settings
from hub.fanout import RateCounter, open_rate_counter
from hub.store import RecordStore


def issuer_of(settings: Settings, auth: AuthSettings) -> str:
    if auth.issuer:
        return auth.issuer.rstrip("/")
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "::", "") else settings.host
    return f"http://{host}:{settings.port}"


@dataclass
class AuthService:
    settings: AuthSettings
    issuer: str
    accounts: AccountStore
    keys: KeyRing
    verifier: TokenVerifier
    server: HubAuthorizationServer
    audit: AuditLog
    rates: RateCounter  # the policies' per-type rates
    limiter: RateLimiter  # requests per person / per client, and per action (step 9 item 5)
    refusals: RefusalSampler  # how many 429s per principal reach the audit (0: all)

    @classmethod
    def build(
        cls, settings: Settings, store: RecordStore, auth: AuthSettings | None = None
    ) -> AuthService:
        auth = auth or load_auth_settings()
        issuer = issuer_of(settings, auth)
        accounts = AccountStore(store.engine)
        keys = KeyRing(
            store.engine, alg=auth.key_alg, token_ttl=auth.access_token_ttl, kek=settings.kek()
        )
        verifier = TokenVerifier(
            keys, accounts, issuer=issuer, audience=auth.audience, leeway=auth.leeway
        )
        audit = AuditLog(store.engine)

        def record(action: str, detail: dict[str, Any]) -> None:
            audit.append(action, client_id=detail.get("client_id"), detail=detail)

        server = HubAuthorizationServer(
            accounts,
            keys,
            verifier,
            issuer=issuer,
            audience=auth.audience,
            token_ttl=auth.access_token_ttl,
            code_ttl=auth.code_ttl,
            on_event=record,
            throttle=Throttle.from_settings(store.engine, auth),
        )
        rates = open_rate_counter(settings.fanout_url)
        limiter = RateLimiter(
            settings.fanout_url,
            rate_per_minute=auth.rate_per_minute,
            person_rate_per_minute=auth.person_rate_per_minute,
            actions={
                OPEN311_FILING: auth.open311_filing_rate,
                OPEN311_KEY_FILING: auth.open311_key_filing_rate,
                PHOTO_UPLOAD: auth.photo_upload_rate,
            },
        )
        refusals = RefusalSampler(auth.audit_rate_refusals_per_minute)
        return cls(auth, issuer, accounts, keys, verifier, server, audit, rates, limiter, refusals)

    def routes(self) -> list[Route]:
        return oauth_routes(self.server, max_body=self.settings.max_body_bytes)

    def protect(self, app: ASGIApp) -> ASGIApp:
        return BearerGate(
            app,
            self.verifier,
            self.limiter,
            max_body=self.settings.max_body_bytes,
            audit=self.audit,
            refusals=self.refusals,
        )

    def schema_extensions(self) -> list[Callable[[], SchemaExtension]]:
        s = self.settings
        audit = self.audit
        return [
            lambda: MaxAliasesLimiter(max_alias_count=s.max_aliases),
            lambda: MaxTokensLimiter(max_token_count=s.max_tokens),
            lambda: AccessLimits(
                max_cost=s.max_cost,
                shape=ShapeLimits(s.max_fragments, s.max_spreads, s.max_selections),
                max_string_chars=s.max_string_chars,
            ),
            lambda: AuditExtension(log=audit),
            # no "did you mean" hints at the schema without graph:introspect
            HideSchemaSuggestions,
        ]
