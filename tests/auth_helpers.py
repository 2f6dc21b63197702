"""Real tokens for tests: a client registered in the app's store, a token from /oauth/token."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from typing import Any
from urllib.parse import parse_qs, urlsplit

from starlette.applications import Starlette

from hub.auth.accounts import AccountStore

ALL_READ = ["graph:read", "graph:introspect"]


def register_client(app: Starlette, name: str = "test-partner", **options: Any) -> tuple[str, str]:
    """A confidential client in the app's store: (client_id, secret)."""
    options.setdefault("scopes", ALL_READ)
    client, secret = AccountStore(app.state.store.engine).create_client(name, **options)
    assert secret is not None
    return client.client_id, secret


def fetch_token(http: Any, client_id: str, secret: str, scope: str | None = None) -> str:
    """A token through the real token endpoint (client credentials, HTTP Basic)."""
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    response = http.post("/oauth/token", data=data, auth=(client_id, secret))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def authorize(http: Any, app: Starlette, name: str = "test-partner", **options: Any) -> str:
    """Register a client, fetch a token, and make ``http`` (a TestClient) send it."""
    client_id, secret = register_client(app, name, **options)
    token = fetch_token(http, client_id, secret)
    http.headers.update(bearer(token))
    return token


PEOPLE_CLIENT = "test-desk"
PEOPLE_REDIRECT = "http://127.0.0.1:9999/callback"


def person_token(http: Any, app: Starlette, username: str, role: str, scope: str) -> str:
    """A person's token through the real sign-in page (authorization code + PKCE), for a
    local user of ``role`` created on first use (password: ``<username>-pw-123``)."""
    accounts = AccountStore(app.state.store.engine)
    if accounts.client(PEOPLE_CLIENT) is None:
        accounts.create_client(
            PEOPLE_CLIENT,
            client_id=PEOPLE_CLIENT,
            public=True,
            redirect_uris=[PEOPLE_REDIRECT],
            scopes=["graph:read", "graph:introspect", "audit:read", "policy:write"],
            role="department",
        )
    if accounts.user(username) is None:
        accounts.create_user(username, f"{username}-pw-123", role)
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    params = {
        "response_type": "code",
        "client_id": PEOPLE_CLIENT,
        "redirect_uri": PEOPLE_REDIRECT,
        "scope": scope,
        "state": "s",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = http.get("/oauth/authorize", params=params)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    login = {"username": username, "password": f"{username}-pw-123", "decision": "allow"}
    done = http.post("/oauth/authorize", data=hidden | login, follow_redirects=False)
    assert done.status_code == 302, done.text
    code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    token = http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": PEOPLE_CLIENT,
            "code": code,
            "redirect_uri": PEOPLE_REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])
