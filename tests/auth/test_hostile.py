"""Hostile input, each refused with a clear error and nothing leaked (no token echoed, no
stack trace, no data). Every case is one entry in HOSTILE_TOKENS or one test below."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from tests.auth import tokens
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, register_client

CELLS = {"query": "{ gridCells(first: 2) { edges { node { code } } } }"}


def refused(response: Any, status: int, *needles: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    text = response.text
    assert "Traceback" not in text and "BH-T-" not in text  # no stack, no data
    for needle in needles:
        assert needle in text or needle in response.headers.get("www-authenticate", ""), text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def partner(hub: Hub) -> tuple[str, str]:
    return register_client(hub.app, "hostile-partner", scopes=["graph:read"])


def ring(hub: Hub) -> Any:
    return hub.app.state.auth.keys


HOSTILE_TOKENS: dict[str, tuple[Callable[[Hub, str], str], str]] = {
    "expired": (
        lambda h, c: tokens.sign(
            ring(h), tokens.claims(h, c, exp=int(time.time()) - 3600, iat=int(time.time()) - 7200)
        ),
        "expired",
    ),
    "wrong signature": (
        lambda h, c: tokens.sign_with_stranger(ring(h), tokens.claims(h, c)),
        "signature",
    ),
    "wrong audience": (
        lambda h, c: tokens.sign(ring(h), tokens.claims(h, c, aud="another-api")),
        "audience",
    ),
    "wrong issuer": (
        lambda h, c: tokens.sign(ring(h), tokens.claims(h, c, iss="https://evil.example")),
        "issuer",
    ),
    "alg none": (lambda h, c: tokens.unsigned(ring(h), tokens.claims(h, c)), "not accepted"),
    "HS256 keyed with the public key": (
        lambda h, c: tokens.hmac_with_public_key(ring(h), tokens.claims(h, c)),
        "not accepted",
    ),
    "unknown kid": (
        lambda h, c: tokens.sign(ring(h), tokens.claims(h, c), kid="no-such-key"),
        "unknown",
    ),
    "not a JWT": (lambda h, c: "garbage", "not a JWT"),
    "token of a client that does not exist": (
        lambda h, c: tokens.sign(ring(h), tokens.claims(h, "ghost-client", sub="ghost-client")),
        "revoked",
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TOKENS))
def test_hostile_tokens_are_refused(hub: Hub, partner: tuple[str, str], case: str) -> None:
    make, reason = HOSTILE_TOKENS[case]
    token = make(hub, partner[0])
    response = hub.http.post("/graphql", json=CELLS, headers=bearer(token))
    refused(response, 401, 'error="invalid_token"', reason)
    assert token not in response.text


def test_missing_token_and_wrong_scheme(hub: Hub) -> None:
    body = refused(hub.http.post("/graphql", json=CELLS), 401, "access token is required")
    assert body["errors"][0]["message"] == "an access token is required"
    basic = hub.http.post("/graphql", json=CELLS, headers={"Authorization": "Basic Zm9vOmJhcg=="})
    refused(basic, 401, 'error="invalid_request"')


def test_revoked_token(hub: Hub, partner: tuple[str, str]) -> None:
    token = fetch_token(hub.http, *partner)
    assert hub.http.post("/graphql", json=CELLS, headers=bearer(token)).status_code == 200
    hub.http.post("/oauth/revoke", data={"token": token}, auth=partner)
    refused(hub.http.post("/graphql", json=CELLS, headers=bearer(token)), 401, "revoked")


def test_token_of_a_revoked_client(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "soon-gone", scopes=["graph:read"])
    token = fetch_token(hub.http, client_id, secret)
    hub.accounts.revoke_client(client_id)
    refused(hub.http.post("/graphql", json=CELLS, headers=bearer(token)), 401, "revoked")
    again = hub.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    refused(again, 401, "invalid_client")


def test_token_of_another_client(hub: Hub, partner: tuple[str, str]) -> None:
    """Client B may neither revoke nor introspect client A's token."""
    token = fetch_token(hub.http, *partner)
    other = register_client(hub.app, "other-partner", scopes=["graph:read"])
    revoke = hub.http.post("/oauth/revoke", data={"token": token}, auth=other)
    refused(revoke, 400, "invalid_grant")
    assert hub.http.post("/graphql", json=CELLS, headers=bearer(token)).status_code == 200
    peek = hub.http.post("/oauth/introspect", data={"token": token}, auth=other)
    assert peek.status_code == 200 and peek.json() == {"active": False}


def test_insufficient_scope(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "auditor-app", scopes=["token:introspect"])
    token = fetch_token(hub.http, client_id, secret)
    body = refused(
        hub.http.post("/graphql", json=CELLS, headers=bearer(token)),
        403,
        'error="insufficient_scope"',
        'scope="graph:read"',
    )
    assert body["errors"][0]["extensions"]["code"] == "insufficient_scope"


def test_bad_client_credentials_and_scopes(hub: Hub, partner: tuple[str, str]) -> None:
    wrong = hub.http.post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(partner[0], "wrong")
    )
    refused(wrong, 401, "invalid_client")
    greedy = hub.http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "graph:read audit:read"},
        auth=partner,
    )
    refused(greedy, 400, "invalid_scope")
    unknown = hub.http.post("/oauth/token", data={"grant_type": "password"}, auth=partner)
    refused(unknown, 400, "unsupported_grant_type")


def test_over_deep_aliased_long_and_costly_queries(hub: Hub, partner: tuple[str, str]) -> None:
    headers = bearer(fetch_token(hub.http, *partner)) | {
        "Accept": "application/graphql-response+json"
    }

    def ask(query: str) -> Any:
        return hub.http.post("/graphql", json={"query": query}, headers=headers)

    deep = "{ gridCells(first: 1) { edges { node { inspector { gridCell { inspector { gridCell { code } } } } } } } }"  # noqa: E501
    refused(ask(deep), 400, "exceeds maximum operation depth")
    aliases = (
        "{ " + " ".join(f"a{i}: gridCells(first: 1) {{ totalCount }}" for i in range(40)) + " }"
    )
    refused(ask(aliases), 400, "aliases")
    long = "{ gridCells(first: 1) { totalCount " + "__typename " * 3000 + "} }"
    refused(ask(long), 400, "token")
    costly = (
        "{ a: gridCells(first: 1000) { edges { node { code name areaKm2 geometry inspector "
        "{ name phone duties onDuty gridCell { code name street } } } } } "
        "b: inspectors(first: 1000) { edges { node { name phone duties onDuty gridCell "
        "{ code name street population areaKm2 geometry } } } } "
        "c: gridCells(first: 1000) { edges { node { code name areaKm2 geometry inspector "
        "{ name phone duties onDuty gridCell { code name street } } } } } "
        "d: inspectors(first: 1000) { edges { node { name phone duties onDuty gridCell "
        "{ code name street population areaKm2 geometry } } } } }"
    )
    body = refused(ask(costly), 400, "exceeds the budget")
    assert body["errors"][0]["extensions"]["code"] == "cost_limit"


def test_per_client_cost_budget(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "tiny", scopes=["graph:read"], cost_budget=20)
    headers = bearer(fetch_token(hub.http, client_id, secret))
    cheap = hub.http.post(
        "/graphql", json={"query": "{ gridCells(first: 2) { totalCount } }"}, headers=headers
    )
    assert cheap.status_code == 200 and "errors" not in cheap.json()
    pricey = hub.http.post(
        "/graphql",
        json={
            "query": "query($n: Int) { gridCells(first: $n) { edges { node { code } } } }",
            "variables": {"n": 50},
        },
        headers=headers,
    )
    assert "exceeds the budget of 20" in pricey.json()["errors"][0]["message"]


def test_introspection_and_federation_need_a_scope(hub: Hub, partner: tuple[str, str]) -> None:
    plain = bearer(fetch_token(hub.http, *partner))
    for query in (
        "{ __schema { types { name } } }",
        '{ __type(name: "GridCell") { name } }',
        "{ _service { sdl } }",
    ):
        response = hub.http.post("/graphql", json={"query": query}, headers=plain)
        errors = response.json()["errors"]
        assert "scope" in errors[0]["message"] or "Cannot query field" in errors[0]["message"]
        assert "data" not in response.json() or response.json()["data"] is None
    typename = hub.http.post("/graphql", json={"query": "{ __typename }"}, headers=plain)
    assert typename.json() == {"data": {"__typename": "Query"}}
    wide = register_client(hub.app, "ide-user", scopes=["graph:read", "graph:introspect"])
    allowed = hub.http.post(
        "/graphql",
        json={"query": "{ __schema { queryType { name } } }"},
        headers=bearer(fetch_token(hub.http, *wide)),
    )
    assert allowed.json()["data"]["__schema"]["queryType"]["name"] == "Query"


def test_oversized_bodies(hub: Hub, partner: tuple[str, str]) -> None:
    limit = hub.app.state.auth.settings.max_body_bytes
    headers = bearer(fetch_token(hub.http, *partner))
    big = '{"query": "{ __typename }", "pad": "' + "x" * (limit + 10) + '"}'
    declared = hub.http.post(
        "/graphql", content=big, headers=headers | {"Content-Type": "application/json"}
    )
    refused(declared, 413, "too large")

    def chunks() -> Any:
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000

    streamed = hub.http.post(
        "/graphql", content=chunks(), headers=headers | {"Content-Type": "application/json"}
    )
    refused(streamed, 413, "too large")
    token_endpoint = hub.http.post(
        "/oauth/token",
        content=b"grant_type=client_credentials&x=" + b"y" * (limit + 10),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=partner,
    )
    refused(token_endpoint, 413, "too large")


def test_rate_limit_per_client(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "chatty", scopes=["graph:read"], rate_per_minute=3)
    headers = bearer(fetch_token(hub.http, client_id, secret))
    codes = [
        hub.http.post("/graphql", json={"query": "{ __typename }"}, headers=headers).status_code
        for _ in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]
    last = hub.http.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert (
        last.headers["retry-after"] == "60" and "rate limit" in last.json()["errors"][0]["message"]
    )


def test_graphiql_page_loads_without_a_token_but_queries_do_not(hub: Hub) -> None:
    page = hub.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    sneaky = hub.http.get(
        "/graphql",
        params={"query": "{ gridCells(first: 1) { totalCount } }"},
        headers={"Accept": "text/html"},
    )
    refused(sneaky, 401, "access token")
