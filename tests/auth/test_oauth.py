"""The authorization server end to end: real signed tokens, PKCE through the login form,
introspection (RFC 7662), revocation (RFC 7009), metadata (RFC 8414), key rotation."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from urllib.parse import parse_qs, urlsplit

from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from joserfc import jwt
from joserfc.jwk import KeySet
from starlette.testclient import TestClient

from hub.auth.principal import unverified_header
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, register_client

CELLS = {"query": "{ gridCells(first: 2) { totalCount edges { node { code } } } }"}
REDIRECT = "http://127.0.0.1:9999/callback"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_metadata_and_jwks(hub: Hub) -> None:
    meta = hub.http.get("/.well-known/oauth-authorization-server").json()
    AuthorizationServerMetadata(meta).validate()
    assert meta["issuer"] == hub.app.state.auth.issuer
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert {"client_credentials", "authorization_code"} == set(meta["grant_types_supported"])
    keys = hub.http.get("/.well-known/jwks.json").json()["keys"]
    assert keys and all("d" not in k for k in keys)  # public halves only


def test_client_credentials_token_is_a_signed_jwt(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "cc-partner", scopes=["graph:read"])
    response = hub.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "graph:read"
    jwks = KeySet.import_key_set(hub.http.get("/.well-known/jwks.json").json())
    token = jwt.decode(body["access_token"], jwks, algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt" and token.header["kid"]
    assert token.claims["client_id"] == client_id and token.claims["sub"] == client_id
    assert token.claims["aud"] == "cityhub"
    data = hub.http.post("/graphql", json=CELLS, headers=bearer(body["access_token"])).json()
    assert data["data"]["gridCells"]["totalCount"] == 5
    # client_secret_post works too
    post = hub.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
    )
    assert post.status_code == 200


def login_flow(hub: Hub, username: str, password: str, scope: str, replay: bool = False) -> str:
    verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "ops-center",
        "redirect_uri": REDIRECT,
        "scope": scope,
        "state": "xyz",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = hub.http.get("/oauth/authorize", params=params)
    assert page.status_code == 200 and "<form" in page.text
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    assert hidden["code_challenge"] == challenge
    wrong = hub.http.post(
        "/oauth/authorize", data=hidden | {"username": username, "password": "nope-nope"}
    )
    assert wrong.status_code == 401 and "Wrong user name or password" in wrong.text
    done = hub.http.post(
        "/oauth/authorize",
        data=hidden | {"username": username, "password": password, "decision": "allow"},
        follow_redirects=False,
    )
    assert done.status_code == 302, done.text
    location = urlsplit(done.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    query = parse_qs(location.query)
    assert query["state"] == ["xyz"]
    code = query["code"][0]
    token = hub.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ops-center",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert token.status_code == 200, token.text
    if not replay:
        return str(token.json()["access_token"])
    # a code works once; presented again it revokes the token it gave (RFC 6749 4.1.2)
    again = hub.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ops-center",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
        },
    )
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    return str(token.json()["access_token"])


def ensure_people(hub: Hub) -> None:
    if hub.accounts.client("ops-center") is None:
        hub.accounts.create_client(
            "ops-center",
            client_id="ops-center",
            public=True,
            redirect_uris=[REDIRECT],
            scopes=["graph:read", "graph:introspect", "audit:read"],
            role="department",
        )
        hub.accounts.create_user("olga", "operator-pw-1", "operator")
        hub.accounts.create_user("stella", "steward-pw-1", "steward")


def test_pkce_login_for_people(hub: Hub) -> None:
    ensure_people(hub)
    token = login_flow(hub, "olga", "operator-pw-1", "graph:read audit:read")
    claims = hub.app.state.auth.verifier.decode(token)
    assert claims["sub"] == "olga" and claims["kind"] == "person"
    assert claims["roles"] == ["operator"]
    assert claims["scope"] == "graph:read"  # an operator's role does not grant audit:read
    ok = hub.http.post("/graphql", json=CELLS, headers=bearer(token))
    assert ok.json()["data"]["gridCells"]["totalCount"] == 5
    audit = hub.http.post(
        "/graphql", json={"query": "{ auditLog(first: 5) { totalCount } }"}, headers=bearer(token)
    ).json()
    assert audit["data"] is None and "stewards" in audit["errors"][0]["message"]
    replayed = login_flow(hub, "olga", "operator-pw-1", "graph:read", replay=True)
    gone = hub.http.post("/graphql", json=CELLS, headers=bearer(replayed))
    assert gone.status_code == 401 and "revoked" in gone.headers["www-authenticate"]


def test_pkce_is_required_and_checked(hub: Hub) -> None:
    ensure_people(hub)
    base = {"response_type": "code", "client_id": "ops-center", "redirect_uri": REDIRECT}
    missing = hub.http.get("/oauth/authorize", params=base, follow_redirects=False)
    assert missing.status_code == 302 and "error=invalid_request" in missing.headers["location"]
    plain = hub.http.get(
        "/oauth/authorize",
        params=base | {"code_challenge": "a" * 43, "code_challenge_method": "plain"},
        follow_redirects=False,
    )
    assert "error=invalid_request" in plain.headers["location"]
    foreign = hub.http.get(
        "/oauth/authorize",
        params=base | {"redirect_uri": "https://evil.example/cb"},
        follow_redirects=False,
    )
    assert foreign.status_code == 400 and "evil" not in foreign.headers.get("location", "")
    # a wrong verifier is refused
    _verifier, challenge = pkce()
    params = base | {"code_challenge": challenge, "code_challenge_method": "S256"}
    page = hub.http.get("/oauth/authorize", params=params)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = hub.http.post(
        "/oauth/authorize",
        data=hidden | {"username": "olga", "password": "operator-pw-1"},
        follow_redirects=False,
    )
    code = parse_qs(urlsplit(done.headers["location"]).query)["code"][0]
    bad = hub.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": "ops-center",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": pkce()[0],
        },
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_steward_reads_the_audit_log(hub: Hub) -> None:
    ensure_people(hub)
    token = login_flow(hub, "stella", "steward-pw-1", "graph:read audit:read")
    hub.http.post("/graphql", json=CELLS, headers=bearer(token) | {"Cityhub-Purpose": "review"})
    query = """{ auditLog(first: 3, action: "graphql.read") { totalCount hasNextPage endCursor
        entries { seq action principal clientId purpose types counts fieldsMasked hash } } }"""
    page = hub.http.post("/graphql", json={"query": query}, headers=bearer(token)).json()
    entries = page["data"]["auditLog"]["entries"]
    mine = next(e for e in entries if e["purpose"] == "review")
    assert mine["principal"] == "user:stella" and mine["clientId"] == "ops-center"
    assert mine["types"] == ["GridCell"] and mine["counts"] == {"GridCell": 2}
    assert [e["seq"] for e in entries] == sorted((e["seq"] for e in entries), reverse=True)


def test_introspection_and_revocation(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "intro", scopes=["graph:read"])
    token = fetch_token(hub.http, client_id, secret)
    info = hub.http.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret))
    body = info.json()
    assert body["active"] is True and body["client_id"] == client_id
    assert body["scope"] == "graph:read" and body["iss"] == hub.app.state.auth.issuer
    # a resource server holding token:introspect may introspect anyone's token
    rs_id, rs_secret = register_client(hub.app, "rs", scopes=["token:introspect"])
    seen = hub.http.post("/oauth/introspect", data={"token": token}, auth=(rs_id, rs_secret))
    assert seen.json()["active"] is True
    # RFC 7662: unknown tokens are simply inactive
    junk = hub.http.post("/oauth/introspect", data={"token": "junk"}, auth=(client_id, secret))
    assert junk.status_code == 200 and junk.json() == {"active": False}
    # introspection needs client authentication
    assert hub.http.post("/oauth/introspect", data={"token": token}).status_code == 401
    # RFC 7009: revoke, then the token is inactive and refused
    revoked = hub.http.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert revoked.status_code == 200
    after = hub.http.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret))
    assert after.json() == {"active": False}
    refused = hub.http.post("/graphql", json=CELLS, headers=bearer(token))
    assert refused.status_code == 401 and "revoked" in refused.headers["www-authenticate"]
    # RFC 7009 2.2: an invalid token is not an error
    ok = hub.http.post("/oauth/revoke", data={"token": "junk"}, auth=(client_id, secret))
    assert ok.status_code == 200


def test_key_rotation_without_downtime(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "rotor", scopes=["graph:read"])
    old = fetch_token(hub.http, client_id, secret)
    ring = hub.app.state.auth.keys
    old_kid = unverified_header(old)["kid"]
    new_kid, _ = ring.rotate()
    assert new_kid != old_kid
    kids = {k["kid"] for k in hub.http.get("/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, new_kid} <= kids
    # the old token still verifies until it expires; new tokens are signed by the new key
    assert hub.http.post("/graphql", json=CELLS, headers=bearer(old)).status_code == 200
    new = fetch_token(hub.http, client_id, secret)
    assert unverified_header(new)["kid"] == new_kid
    assert hub.http.post("/graphql", json=CELLS, headers=bearer(new)).status_code == 200


def test_the_login_form_refuses_cross_site_posts(hub: Hub) -> None:
    ensure_people(hub)
    _verifier, challenge = pkce()
    params = {
        "response_type": "code",
        "client_id": "ops-center",
        "redirect_uri": REDIRECT,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    page = hub.http.get("/oauth/authorize", params=params)
    assert page.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    cookie = page.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    held = [c.value for c in hub.http.cookies.jar if c.name == "cityhub_login_csrf"]
    assert held == [hidden["csrf_token"]]
    login = {"username": "olga", "password": "operator-pw-1", "decision": "allow"}
    # another site's form: the right fields but no cookie of ours, or a token of its own
    for forged_token, keep_cookie in ((hidden["csrf_token"], False), ("forged", True)):
        # a fresh client: a browser on which the hub's cookie is absent, or present
        other = TestClient(hub.app)  # no lifespan: the hub's own keeps running
        if keep_cookie:
            other.cookies.set("cityhub_login_csrf", hidden["csrf_token"])
        refused = other.post(
            "/oauth/authorize",
            data=hidden | {"csrf_token": forged_token} | login,
            follow_redirects=False,
        )
        assert refused.status_code == 403, refused.text
        assert "location" not in refused.headers and "did not come from this hub" in refused.text
    # the hub's own form still works
    page = hub.http.get("/oauth/authorize", params=params)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    done = hub.http.post("/oauth/authorize", data=hidden | login, follow_redirects=False)
    assert done.status_code == 302 and "code=" in done.headers["location"]
