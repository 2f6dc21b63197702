"""Authlib's framework-agnostic AuthorizationServer, adapted to Starlette, with the hub's grants.

Authlib is synchronous and ships no Starlette integration. As its Flask integration does, the
adapter implements ``create_oauth2_request`` (here over a request whose body was read
beforehand, asynchronously), ``handle_response`` and ``send_signal``; the routes call the server
in a worker thread. Grants: client credentials (confidential clients), authorization code with
PKCE (S256 only, required for every code request). Access tokens are JWTs (RFC 9068 profile,
``typ: at+jwt``) signed with the key ring's current key.

Step 9: failed sign-ins and client authentications are throttled per account, client and
address (``hub.auth.throttle``), an unknown client and a wrong secret get the same answer, and
a used authorization code is kept until it expires with the token id it was exchanged for, so
presenting it again revokes that token (RFC 6749 4.1.2).

Audited through ``on_event`` (``hub.audit``): each token issued (``token.issue``: client, grant,
scopes, subject, jti — never the token), each failed or throttled sign-in and client
authentication, revocations and replayed codes.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from authlib.oauth2 import AuthorizationServer, OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, TokenMixin, grants
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    InvalidScopeError,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload, OAuth2Payload
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from joserfc import jwt
from starlette.responses import JSONResponse, Response

from hub.auth.accounts import (
    AccountStore,
    AuthorizationCode,
    Client,
    User,
    code_expiry,
    sha256,
)
from hub.auth.config import AuthSettings
from hub.auth.keys import KeyRing
from hub.auth.principal import TokenError, TokenVerifier
from hub.auth.scopes import ALL_SCOPES, ROLE_SCOPES, TOKEN_INTROSPECT, parse_scopes
from hub.auth.throttle import Throttle, account_key, address_key

# What an unknown client's secret is compared with, so timing does not tell it is unknown.
_DUMMY_SECRET_HASH = sha256(secrets.token_urlsafe(32))
CLIENT_AUTH_FAILED = "client authentication failed"


@dataclass
class PreparedRequest:
    """An HTTP request whose query and form were read already (Authlib runs synchronously)."""

    method: str
    uri: str
    headers: Mapping[str, str]
    args: dict[str, str]
    form: dict[str, str]
    datalist: dict[str, list[str]]
    address: str | None = None  # where the request came from, for the failure throttle


class PreparedPayload(BasicOAuth2Payload):
    """The query and form's parameters, with every value of a repeated one (which Authlib
    refuses)."""

    def __init__(self, prepared: PreparedRequest) -> None:
        super().__init__({**prepared.args, **prepared.form})
        self._repeated = prepared.datalist

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._repeated


class HubOAuth2Request(OAuth2Request):
    def __init__(self, prepared: PreparedRequest) -> None:
        super().__init__(method=prepared.method, uri=prepared.uri, headers=prepared.headers)
        self._args: dict[str, str | None] = {**prepared.args}  # Authlib's type for a query
        self._form = prepared.form
        self.payload = PreparedPayload(prepared)
        self.address = prepared.address

    @property
    def args(self) -> dict[str, str | None]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class TooManyFailures(OAuth2Error):
    """Too many failed authentications of this client or from this address: wait (429)."""

    error = "temporarily_unavailable"
    status_code = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            description=f"too many failed attempts: try again in {retry_after} s",
            status_code=429,
        )
        self.retry_after = retry_after

    def get_headers(self) -> list[tuple[str, str]]:
        return [*super().get_headers(), ("Retry-After", str(self.retry_after))]


class SignInRefused(Exception):
    """A refused sign-in: the message for the form, the status, and how long to wait."""

    def __init__(self, message: str, status: int, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _basic_credentials(headers: Mapping[str, str] | None) -> tuple[str | None, str | None]:
    """HTTP Basic (RFC 6749 2.3.1: form-encoded id and secret); (None, None) when malformed."""
    from urllib.parse import unquote

    scheme, _, value = ((headers or {}).get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        text = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    client_id, colon, secret = text.partition(":")
    return unquote(client_id), (unquote(secret) if colon else None)


def claimed_client_id(request: OAuth2Request) -> str | None:
    """The client id a request claims, from HTTP Basic or the form, before it is checked."""
    client_id, _ = _basic_credentials(request.headers)
    return client_id or payload_of(request).client_id or None


def payload_of(request: OAuth2Request) -> OAuth2Payload:
    """The request's parameters: Authlib types them optional, but every request it is handed
    here was made by ``create_oauth2_request``, which reads them."""
    if request.payload is None:
        raise InvalidRequestError("the request carries no parameters")
    return request.payload


def client_of(request: OAuth2Request) -> OAuthClient:
    """The client Authlib authenticated for this request (typed as any client, or None before
    authentication): always one of ours, from ``query_client``."""
    if not isinstance(request.client, OAuthClient):
        raise InvalidClientError(status_code=401, description=CLIENT_AUTH_FAILED)
    return request.client


class OAuthClient(ClientMixin):
    """Authlib's view of a hub client."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def get_client_id(self) -> str:
        return self.client.client_id

    def get_default_redirect_uri(self) -> str:
        uris = self.client.redirect_uris
        return uris[0] if len(uris) == 1 else ""  # empty: none (Authlib tests it for truth)

    def get_allowed_scope(self, scope: Collection[str] | str | None) -> str:
        held = self.client.scopes
        if not scope:
            return " ".join(held)
        wanted = parse_scopes(scope) if isinstance(scope, str) else scope
        return " ".join(s for s in wanted if s in held)

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

    # Authlib's stub says a client; its endpoints only call this on tokens they issue with one
    def get_client(self) -> None:  # type: ignore[override]
        return None


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

    def validate_token_request(self) -> None:
        super().validate_token_request()
        requested = parse_scopes(payload_of(self.request).scope)
        held = client_of(self.request).client.scopes
        if any(s not in held for s in requested):
            raise InvalidScopeError("the client may not ask for that scope")


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
    # the id of the token this exchange issues, chosen when its code is marked used
    token_jti: str | None = None

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        server: HubAuthorizationServer = self.server
        user = request.user
        if not isinstance(user, User):  # the routes grant a code to a signed-in user only
            raise InvalidRequestError("no signed-in user")
        role_scopes = ROLE_SCOPES.get(user.role, frozenset())
        scope = " ".join(s for s in parse_scopes(request.scope) if s in role_scopes)
        if not scope:
            raise InvalidScopeError("the user's role grants none of the requested scopes")
        server.accounts.save_code(
            code,
            AuthorizationCode(
                code_hash="",
                client_id=client_of(request).get_client_id(),
                username=user.username,
                redirect_uri=payload_of(request).redirect_uri or "",
                scope=scope,
                code_challenge=payload_of(request).data.get("code_challenge"),
                code_challenge_method=payload_of(request).data.get("code_challenge_method"),
                expires_at=code_expiry(server.code_ttl),
            ),
        )

    def query_authorization_code(self, code: str, client: ClientMixin) -> CodeRecord | None:
        server: HubAuthorizationServer = self.server
        found = server.accounts.code(code, client.get_client_id())
        if found is not None and found.used_at is not None:
            server.code_replayed(found.code_hash)
        return CodeRecord(found) if found else None

    def delete_authorization_code(self, authorization_code: CodeRecord) -> None:
        """A used code stays (marked used) until it expires, so a replay is recognised."""

    def authenticate_user(self, authorization_code: CodeRecord) -> User | None:
        server: HubAuthorizationServer = self.server
        code_hash = authorization_code.code.code_hash
        # single use: whoever marks the code used first gets the token, whose id is recorded
        # with the code before the token exists, so a replay at any moment revokes it
        jti = secrets.token_urlsafe(16)
        if not server.accounts.use_code(code_hash, jti):
            server.code_replayed(code_hash)
        self.token_jti = jti
        user = server.accounts.user(authorization_code.code.username)
        return user if user and not user.disabled else None

    def generate_token(
        self,
        user: User | None = None,
        scope: str | None = None,
        grant_type: str | None = None,
        expires_in: int | None = None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        server: HubAuthorizationServer = self.server
        return server.generate_bearer_token(
            grant_type or self.GRANT_TYPE,
            client_of(self.request),
            user,
            scope,
            expires_in,
            include_refresh_token,
            jti=self.token_jti,
        )


class S256Required(CodeChallenge):
    """PKCE with S256 only, and required for every authorization code request."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]  # noqa: RUF012 (Authlib's own is a list)
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

    CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        server: HubAuthorizationServer = self.server
        return server.query_token(token_string)

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

    CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
    SUPPORTED_TOKEN_TYPES = ("access_token", "refresh_token")

    def query_token(self, token_string: str, token_type_hint: str | None) -> TokenRecord | None:
        server: HubAuthorizationServer = self.server
        return server.query_token(token_string)

    def revoke_token(self, token: TokenRecord, request: Any) -> None:
        server: HubAuthorizationServer = self.server
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
        throttle: Throttle | None = None,
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
        self.throttle = throttle or Throttle.from_settings(
            accounts.engine, AuthSettings.model_construct()
        )
        # Authlib calls any generator with its arguments; the stub names its own class only
        self.register_token_generator("default", self.generate_bearer_token)  # type: ignore[arg-type]
        # Authlib's own methods say "does not exist" for an unknown client: these do not
        self.register_client_auth_method("client_secret_basic", self._auth_secret_basic)
        self.register_client_auth_method("client_secret_post", self._auth_secret_post)
        self.register_client_auth_method("none", self._auth_none)
        self.register_grant(ClientCredentialsGrant)
        self.register_grant(AuthorizationCodeGrant, [S256Required(required=True)])
        self.register_endpoint(HubIntrospectionEndpoint)
        self.register_endpoint(HubRevocationEndpoint)

    # -- Authlib's hooks -----------------------------------------------------------------

    # None is Authlib's "no such client" (it tests the result); the stub leaves it out
    def query_client(self, client_id: str) -> OAuthClient | None:  # type: ignore[override]
        client = self.accounts.client(client_id)
        if client is None or client.revoked_at is not None:
            return None
        return OAuthClient(client)

    def authenticate_client(
        self, request: OAuth2Request, methods: Collection[str], endpoint: str = "token"
    ) -> OAuthClient:
        """Authlib's client authentication, throttled by client and address. Every failure
        is the same 401 invalid_client, whether the client exists or not."""
        claimed = claimed_client_id(request)
        address = getattr(request, "address", None)
        keys = [address_key(address)]
        if claimed:
            keys.append(account_key("client", claimed))
        wait = self.throttle.retry_after(keys)
        if wait:
            known = self.accounts.client(claimed) if claimed else None
            self._event(
                "auth.client_throttled",
                {
                    "client_id": known.client_id if known else None,
                    "address": address,
                    "endpoint": endpoint,
                    "retry_after": wait,
                },
            )
            raise TooManyFailures(wait)
        try:
            authenticated = super().authenticate_client(request, methods, endpoint)
        except InvalidClientError:
            if not claimed:  # no credentials at all: nothing was guessed, nothing to count
                raise InvalidClientError(status_code=401, description=CLIENT_AUTH_FAILED) from None
            known = self.accounts.client(claimed)
            # A public client has no secret to guess: counting its failures would only let
            # anyone lock it for everybody (its id is public anyway). Unknown ids are counted
            # as confidential ones are, so a lock does not tell which exist.
            public = known is not None and known.public
            failures = self.throttle.fail(keys[:1] if public else keys)
            self._event(
                "auth.client_failed",
                {
                    "client_id": known.client_id if known else None,
                    "address": address,
                    "endpoint": endpoint,
                    "locked": any(f.locked for f in failures),
                },
            )
            raise InvalidClientError(status_code=401, description=CLIENT_AUTH_FAILED) from None
        request.client = authenticated
        client = client_of(request)
        if not client.client.public:
            self.throttle.succeed(account_key("client", client.get_client_id()))
        return client

    def _client_by_secret(self, client_id: str | None, secret: str | None) -> OAuthClient | None:
        if not client_id or not secret:
            return None
        client = self.query_client(client_id)
        if client is None:
            hmac.compare_digest(_DUMMY_SECRET_HASH, sha256(secret))  # the same work
            return None
        return client if client.check_client_secret(secret) else None

    def _auth_secret_basic(self, _: Any, request: OAuth2Request) -> OAuthClient | None:
        return self._client_by_secret(*_basic_credentials(request.headers))

    def _auth_secret_post(self, _: Any, request: OAuth2Request) -> OAuthClient | None:
        return self._client_by_secret(
            request.form.get("client_id"), request.form.get("client_secret")
        )

    def _auth_none(self, _: Any, request: OAuth2Request) -> OAuthClient | None:
        payload = payload_of(request)
        client_id = payload.client_id
        if not client_id or payload.data.get("client_secret"):
            return None
        return self.query_client(client_id)

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

    def _event(self, name: str, detail: dict[str, Any]) -> None:
        if self.on_event is not None:
            self.on_event(name, detail)

    # -- people signing in ---------------------------------------------------------------

    def sign_in(self, username: str, password: str, *, address: str | None, client_id: str) -> User:
        """The user with this password, or SignInRefused: 429 while the account or the
        address must wait (the password is not even checked), 401 for a wrong one (counted
        and audited, with the user name only when such a user exists; never the password)."""
        keys = [account_key("user", username), address_key(address)]
        wait = self.throttle.retry_after(keys)
        if wait:
            self._event(
                "auth.login_throttled",
                {
                    "client_id": client_id,
                    "user": username if self.accounts.user(username) is not None else None,
                    "address": address,
                    "retry_after": wait,
                },
            )
            raise SignInRefused(
                f"Too many failed sign-ins: try again in {wait} seconds.", 429, wait
            )
        user = self.accounts.authenticate_user(username, password)
        if user is None:
            failures = self.throttle.fail(keys)
            known = self.accounts.user(username) is not None
            self._event(
                "auth.login_failed",
                {
                    "client_id": client_id,
                    "user": username if known else None,
                    "address": address,
                    "failures": failures[0].failures,
                    "locked": any(f.locked for f in failures),
                },
            )
            raise SignInRefused("Wrong user name or password.", 401)
        self.throttle.succeed(keys[0])
        return user

    # -- replayed authorization codes ----------------------------------------------------

    def code_replayed(self, code_hash: str) -> None:
        """A used code presented again: revoke the tokens issued from it, audit, refuse."""
        used = self.accounts.code_by_hash(code_hash)
        jtis = list(used.issued_jtis or []) if used else []
        # no token of the code outlives this: it was issued at most a token lifetime after use
        since = used.used_at if used and used.used_at else datetime.now(UTC)
        until = since + timedelta(seconds=self.token_ttl + 60)
        for jti in jtis:
            self.accounts.revoke_token(jti, used.client_id if used else "", until)
        self._event(
            "auth.code_replayed",
            {
                "client_id": used.client_id if used else None,
                "user": used.username if used else None,
                "revoked": jtis,
            },
        )
        raise InvalidGrantError("the authorization code was used already; its tokens are revoked")

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
        *,
        jti: str | None = None,
    ) -> dict[str, Any]:
        scope = scope or client.get_allowed_scope(None)
        ttl = expires_in or self.token_ttl
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "iat": now,
            "exp": now + ttl,
            "jti": jti or secrets.token_urlsafe(16),
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
        # on record without the token's text: its id (jti) is what a revocation names
        self._event(
            "token.issue",
            {
                "client_id": claims["client_id"],
                "grant": grant_type,
                "scopes": sorted(scope.split()),
                "subject": claims["sub"],
                "kind": claims["kind"],
                "jti": claims["jti"],
                "expires_in": ttl,
            },
        )
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
