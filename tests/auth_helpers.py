"""Real tokens for tests: a client registered in the app's store, a token from /oauth/token."""

from __future__ import annotations

from typing import Any

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
