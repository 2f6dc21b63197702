"""Authlib's framework-agnostic AuthorizationServer, adapted to Starlette, with the hub's grants.

Authlib is synchronous and ships no Starlette integration. As its Flask integration does, the
adapter implements ``create_oauth2_request`` (here over a request whose body was read
beforehand, asynchronously), ``handle_response`` and ``send_signal``; the routes call the server
in a worker thread. Grants: client credentials (confidential clients), authorization code with
PKCE (S256 only, required for every code request). Access tokens are JWTs (RFC 9068 profile,
``typ: at+jwt``) signed with the key ring's current key.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import InvalidGrantError, InvalidScopeError
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt
from starlette.responses import JSONResponse, Response

from hub.auth.accounts import AccountStore, AuthorizationCode, Client, User, code_expiry
from hub.auth.keys import KeyRing
from hub.auth.principal import TokenError, TokenVerifier
from hub.auth.scopes import ALL_SCOPES, ROLE_SCOPES, TOKEN_INTROSPECT, parse_scopes


@dataclass
class PreparedRequest:
    """An HTTP request whose query and form were read already (Authlib runs synchronously)."""

    method: str
    uri: str
    headers: Mapping[str, str]
    args: dict[str, str]
    form: dict[str, str]
    datalist: dict[str, list[str]]


class HubOAuth2Request(OAuth2Request):
    def __init__(self, prepared: PreparedRequest) -> None:
        super().__init__(method=prepared.method, uri=prepared.uri, headers=prepared.headers)
        self._args = prepared.args
        self._form = prepared.form
        payload = BasicOAuth2Payload({**prepared.args, **prepared.form})
        payload._datalist = prepared.datalist  # repeated parameters are refused by Authlib
        self.payload = payload

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class OAuthClient(ClientMixin):
    """Authlib's view of a hub client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str | None:
        uris = self.client.redirect_uris
        return uris[0] if len(uris) == 1 else None

    def get_allowed_scope(self, scope: str | None) -> str:
        held = self.client.scopes
        if not scope:
            return " ".join(held)
        return " ".join(s for s in parse_scopes(scope) if s in held)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.client.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return self.client.check_secret(client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        if self.client.public:
            return method == "none" and endpoint in ("token", "revocation")
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code" and bool(self.client.redirect_uris)

    def check_grant_type(self, grant_type: str) -> bool:
        if grant_type == "client_credentials":
            return not self.client.public
        if grant_type == "authorization_code":
            return bool(self.client.redirect_uris)
        return False


class CodeRecord:
    """Authlib's view of a stored authorization code."""

    def __init__(self, code: AuthorizationCode) -> None:
        self.code = code
        self.code_challenge = code.code_challenge
        self.code_challenge_method = code.code_challenge_method

    def get_redirect_uri(self) -> str:
        return self.code.redirect_uri

    def get_scope(self) -> str:
        return self.code.scope


class TokenRecord(TokenMixin):
    """A decoded access token, for introspection and revocation."""

    def __init__(self, claims: dict[str, Any], revoked: bool) -> None:
        self.claims = claims
        self.revoked = revoked

    def check_client(self, client: OAuthClient) -> bool:
        return self.claims.get("client_id") == client.get_client_id()

    def get_scope(self) -> str:
        return str(self.claims.get("scope") or "")

    def get_expires_in(self) -> int:
        return max(0, int(self.claims["exp"]) - int(time.time()))

    def is_expired(self) -> bool:
        return int(self.claims["exp"]) <= int(time.time())

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> None:
        return None

    def get_client(self) -> None:  # type: ignore[override]
        return None


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def validate_token_request(self) -> None:
        super().validate_token_request()
        requested = parse_scopes(self.request.payload.scope)
        held = self.request.client.client.scopes
        if any(s not in held for s in requested):
            raise InvalidScopeError("the client may not ask for that scope")


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = [
        "client_secret_basic",
        "client_secret_post",
        "none",
    ]

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        server: HubAuthorizationServer = self.server  # type: ignore[assignment]
        user: User = request.user
        role_scopes = ROLE_SCOPES.get(user.role, frozenset())
        scope = " ".join(s for s in parse_scopes(request.scope) if s in role_scopes)
        if not scope:
            raise InvalidScopeError("the user's role grants none of the requested scopes")
        server.accounts.save_code(
            code,
            AuthorizationCode(
                code_hash="",
                client_id=request.client.get_client_id(),
                username=user.username,
                redirect_uri=request.payload.redirect_uri or "",
                scope=scope,
                code_challenge=request.payload.data.get("code_challenge"),
                code_challenge_method=request.payload.data.get("code_challenge_method"),
                expires_at=code_expiry(server.code_ttl),
            ),
        )

    def query_authorization_code(self, code: str, client: OAuthClient) -> CodeRecord | None:
        server: HubAuthorizationServer = self.server  # type: ignore[assignment]
        found = server.accounts.code(code, client.get_client_id())
        return CodeRecord(found) if found else None

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        server: HubAuthorizationServer = self.server  # type: ignore[assignment]
        server.accounts.delete_code(authorization_code.code.code_hash)

    def authenticate_user(self, authorization_code: CodeRecord) -> User | None:
        server: HubAuthorizationServer = self.server  # type: ignore[assignment]
        # single use: whoever deletes the code first gets the token
        if not server.accounts.delete_code(authorization_code.code.code_hash):
            raise InvalidGrantError("the authorization code was used already")
        user = server.accounts.user(authorization_code.code.username)
        return user if user and not user.disabled else None


class S256Required(CodeChallenge):
    """PKCE with S256 only, and required for every authorization code request."""

    SUPPORTED_CODE_CHALLENGE_METHOD: ClassVar[list[str]] = ["S256"]
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        from authlib.oauth2.rfc6749.errors import InvalidRequestError

        data = grant.request.payload.data
        if not data.get("code_challenge"):
            raise InvalidRequestError("Missing 'code_challenge' (PKCE is required)")
        if data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("'code_challenge_method' must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def validate_code_verifier(self, grant: Any, result: Any) -> None:
        from authlib.oauth2.rfc6749.errors import InvalidRequestError

        if not grant.request.form.get("code_verifier"):
            raise InvalidRequestError("Missing 'code_verifier'")
        super().validate_code_verifier(grant, result)


class HubIntrospectionEndpoint(IntrospectionEndpoint):
    """RFC 7662. A client may introspect its own tokens; one holding ``token:introspect`` (a
    resource server) may introspect any. Anything else is ``{"active": false}``."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        return self.server.query_token(token_string)  # type: ignore[attr-defined]

    def check_permission(self, token: TokenRecord, client: OAuthClient, request: Any) -> bool:
        return token.check_client(client) or TOKEN_INTROSPECT in client.client.scopes

    def introspect_token(self, token: TokenRecord) -> dict[str, Any]:
        claims = token.claims
        payload = {
            "active": True,
            "token_type": "Bearer",
            "scope": claims.get("scope"),
            "client_id": claims.get("client_id"),
            "sub": claims.get("sub"),
            "aud": claims.get("aud"),
            "iss": claims.get("iss"),
            "exp": claims.get("exp"),
            "iat": claims.get("iat"),
            "jti": claims.get("jti"),
        }
        if claims.get("kind") == "person":
            payload["username"] = claims.get("sub")
        return payload


class HubRevocationEndpoint(RevocationEndpoint):
    """RFC 7009: a client revokes its own access tokens (by jti, until they expire)."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post", "none"]
    SUPPORTED_TOKEN_TYPES = ("access_token", "refresh_token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        return self.server.query_token(token_string)  # type: ignore[attr-defined]

    def revoke_token(self, token: TokenRecord, request: Any) -> None:
        server: HubAuthorizationServer = self.server  # type: ignore[assignment]
        server.accounts.revoke_token(
            str(token.claims["jti"]),
            str(token.claims["client_id"]),
            datetime.fromtimestamp(int(token.claims["exp"]), UTC),
        )


class HubAuthorizationServer(AuthorizationServer):
    def __init__(
        self,
        accounts: AccountStore,
        keys: KeyRing,
        verifier: TokenVerifier,
        *,
        issuer: str,
        audience: str,
        token_ttl: int,
        code_ttl: int,
        on_event: Callable[[str, dict[str, Any]], None] | None = None,
    ) -> None:
        super().__init__(scopes_supported=list(ALL_SCOPES))
        self.accounts = accounts
        self.keys = keys
        self.verifier = verifier
        self.issuer = issuer
        self.audience = audience
        self.token_ttl = token_ttl
        self.code_ttl = code_ttl
        self.on_event = on_event
        self.register_token_generator("default", self.generate_bearer_token)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256Required(required=True)])
        self.register_endpoint(HubIntrospectionEndpoint)
        self.register_endpoint(HubRevocationEndpoint)

    # -- Authlib's hooks -----------------------------------------------------------------

    def query_client(self, client_id: str) -> OAuthClient | None:
        client = self.accounts.client(client_id)
        if client is None or client.revoked_at is not None:
            return None
        return OAuthClient(client)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        """Access tokens are self-contained JWTs: nothing to store (revocation is by jti)."""

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return HubOAuth2Request(request)

    def create_json_request(self, request: Any) -> Any:
        raise NotImplementedError("the hub has no JSON-body OAuth endpoints")

    def handle_response(self, status: int, body: Any, headers: Any) -> Response:
        headers = dict(headers or [])
        if isinstance(body, dict):
            headers.pop("Content-Type", None)
            return JSONResponse(body, status_code=status, headers=headers)
        return Response(body or "", status_code=status, headers=headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        if self.on_event is None:
            return
        if name == "after_revoke_token":
            token: TokenRecord = kwargs["token"]
            self.on_event(
                "token.revoke",
                {"client_id": token.claims.get("client_id"), "jti": token.claims.get("jti")},
            )

    # -- tokens --------------------------------------------------------------------------

    def generate_bearer_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user: User | None = None,
        scope: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        scope = scope or client.get_allowed_scope(None)
        ttl = expires_in or self.token_ttl
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "jti": secrets.token_urlsafe(16),
            "client_id": client.get_client_id(),
            "scope": scope,
        }
        if user is not None:
            claims |= {"sub": user.username, "kind": "person", "roles": [user.role]}
        else:
            claims |= {"sub": client.get_client_id(), "kind": "client"}
        key = self.keys.signing_key()
        header = {"alg": key.alg, "kid": key.kid, "typ": "at+jwt"}
        token = jwt.encode(header, claims, key, algorithms=[str(key.alg)])
        return {"token_type": "Bearer", "access_token": token, "expires_in": ttl, "scope": scope}

    def query_token(self, token_string: str) -> TokenRecord | None:
        """A token this server issued (signature checked; expired ones too), or None."""
        try:
            claims = self.verifier.decode(token_string, check_expiry=False)
        except TokenError:
            return None
        return TokenRecord(claims, self.accounts.is_revoked(str(claims["jti"])))

    def metadata(self) -> dict[str, Any]:
        """RFC 8414 authorization server metadata."""
        base = self.issuer.rstrip("/")
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{base}/oauth/authorize",
            "token_endpoint": f"{base}/oauth/token",
            "jwks_uri": f"{base}/.well-known/jwks.json",
            "scopes_supported": list(ALL_SCOPES),
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "revocation_endpoint": f"{base}/oauth/revoke",
            "revocation_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
                "none",
            ],
            "introspection_endpoint": f"{base}/oauth/introspect",
            "introspection_endpoint_auth_methods_supported": [
                "client_secret_basic",
                "client_secret_post",
            ],
            "code_challenge_methods_supported": ["S256"],
        }
