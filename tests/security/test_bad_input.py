"""Bad input on every route the hub mounts (issue 13 item 14): each gets a 4xx with a clear
message, nothing is stored, and nothing is logged as a traceback (a hostile client must not
fill the log with stacks, nor find the input that makes a 500)."""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import GraphQLError
from sqlalchemy import func, inspect, select, table
from starlette.testclient import TestClient

from connectors.transports.webhook import receiver_app, sign
from hub.graphql_errors import is_client_error
from tests.auth.conftest import Hub
from tests.auth_helpers import (
    PEOPLE_CLIENT,
    PEOPLE_REDIRECT,
    bearer,
    fetch_token,
    person_token,
    register_client,
)

BODIES: dict[str, bytes] = {
    "invalid JSON": b'{"query": ',
    "a JSON array": b"[1, 2]",
    "a JSON string": b'"{ gridCells { totalCount } }"',
    "a JSON number": b"3",
    "JSON null": b"null",
    "an empty body": b"",
    "bytes that are not UTF-8": b"\xff\xfe\x00\x81",
    "JSON nested past the parser": b"[" * 50_000 + b"]" * 50_000,
}
CONTENT_TYPES = [
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "image/png",
    None,
]
# every POST route of create_app's hub (the webhook receiver has its own test below)
POST_ROUTES = [
    "/graphql",
    "/telemetry",
    "/open311/v2/requests.json",
    "/open311/v2/requests.xml",
    "/citizen-app/v1/photos",
    "/oauth/token",
    "/oauth/introspect",
    "/oauth/revoke",
    "/oauth/authorize",
    "/webhooks/no-such-system",
]
# a log of what may grow on a refusal: the audit of it, failure counts, revoked token ids
UNSTORED_OK = {"audit_log", "auth_failures", "revoked_tokens"}
HOSTILE_VALUES = {
    "backslash": "a\\b",
    "double quote": 'a"b',
    "NUL": "a\x00b",
    "control character": "a\x01b",
    "newline": "a\nb",
    "not ASCII": "aé",
    "very long": "x" * 5000,
}


@pytest.fixture(scope="module")
def caller(hub: Hub) -> dict[str, Any]:
    """A partner that may read and write telemetry, and a confidential client's secret."""
    client_id, secret = register_client(
        hub.app, "bad-input", scopes=["graph:read", "telemetry:write"], devices=["*"]
    )
    token = fetch_token(hub.http, client_id, secret)
    person_token(hub.http, hub.app, "bad-input-user", "operator", "graph:read")
    return {"client_id": client_id, "secret": secret, "token": token}


@pytest.fixture
def http(hub: Hub) -> Iterator[TestClient]:
    """Answers as a browser sees them (a 500 is a status, not a raised exception), from an
    address of its own so refusals here throttle nobody else."""
    yield TestClient(hub.app, raise_server_exceptions=False, client=("10.9.0.1", 40000))


def counts(hub: Hub) -> dict[str, int]:
    engine = hub.app.state.store.engine
    names = [n for n in inspect(engine).get_table_names() if n not in UNSTORED_OK]
    with engine.connect() as conn:
        return {
            n: int(conn.execute(select(func.count()).select_from(table(n))).scalar_one())
            for n in names
        }


def messages(body: Any) -> list[str]:
    if isinstance(body, str):
        return [body]
    if isinstance(body, dict):
        return [m for v in body.values() for m in messages(v)]
    if isinstance(body, list):
        return [m for v in body for m in messages(v)]
    return []


def assert_clear_refusal(response: Any, what: str) -> None:
    assert 400 <= response.status_code < 500, f"{what}: {response.status_code} {response.text}"
    text = response.text
    assert "Traceback" not in text and "Internal Server Error" not in text, what
    kind = response.headers.get("content-type", "")
    if "json" in kind:
        said = messages(json.loads(text))
        assert any(len(m) > 8 for m in said), f"{what}: no message in {text[:200]}"
    else:
        assert len(text.strip()) > 8, f"{what}: empty answer"


def assert_no_traceback_logged(caplog: pytest.LogCaptureFixture) -> None:
    stacks = [r for r in caplog.records if r.exc_info or r.stack_info]
    assert not stacks, [f"{r.name}: {r.getMessage()[:200]}" for r in stacks]
    assert "Traceback" not in caplog.text


def headers_for(route: str, caller: dict[str, Any], kind: str | None) -> dict[str, str]:
    headers = {"content-type": kind} if kind else {}
    if route.startswith("/oauth/") and route != "/oauth/authorize":
        return headers  # credentials go with the request (auth=) below
    return headers | bearer(caller["token"])


@pytest.mark.parametrize("route", POST_ROUTES)
def test_hostile_bodies_get_a_clear_4xx_on_every_route(
    hub: Hub,
    http: TestClient,
    caller: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    route: str,
) -> None:
    """Attack: malformed bodies (invalid JSON, a JSON array / string / number / null where an
    object is wanted, an empty body, bytes that are not UTF-8, JSON nested past the parser's
    depth) under every content type, on every POST route — a non-object JSON body on
    /graphql, deep JSON on /telemetry were 500s. Each is a 4xx with a message, stores
    nothing and logs no traceback."""
    caplog.set_level(logging.DEBUG)
    before = counts(hub)
    auth = (caller["client_id"], caller["secret"]) if route.startswith("/oauth/") else None
    for name, body in BODIES.items():
        for kind in CONTENT_TYPES:
            answer = http.post(
                route, content=body, headers=headers_for(route, caller, kind), auth=auth
            )
            assert_clear_refusal(answer, f"POST {route} with {name} as {kind}")
    assert counts(hub) == before
    assert_no_traceback_logged(caplog)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_hostile_signed_webhook_deliveries_get_a_clear_400(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Attack: a source system (or whoever holds its secret) pushes a signed delivery that is
    not a delivery object — deep JSON there was a 500. A 400 with a message, and nothing
    handed on."""
    caplog.set_level(logging.DEBUG)
    taken: list[Any] = []

    async def take(system: str, delivery: dict[str, Any]) -> None:
        taken.append(delivery)

    http = TestClient(receiver_app({"pumps": "s3cret"}, take), raise_server_exceptions=False)
    body = BODIES[name]
    answer = http.post("/webhooks/pumps", content=body, headers=sign("s3cret", body))
    assert_clear_refusal(answer, f"webhook delivery of {name}")
    assert answer.status_code == 400 and not taken
    assert_no_traceback_logged(caplog)


def authorize_params(**change: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": PEOPLE_CLIENT,
        "redirect_uri": PEOPLE_REDIRECT,
        "scope": "graph:read",
        "state": "s",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    } | change


@pytest.mark.parametrize("value", sorted(HOSTILE_VALUES))
def test_hostile_oauth_parameters_get_a_clear_400(
    hub: Hub,
    http: TestClient,
    caller: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
    value: str,
) -> None:
    """Attack: ``\\``, ``"``, control characters, non-ASCII and very long values in
    redirect_uri / state / scope / response_type / the PKCE fields on the sign-in page (a
    quote or backslash in redirect_uri or response_type made Authlib raise: a 500) and in the
    token request. Each is a 400 naming the parameter, never a redirect, no code stored."""
    caplog.set_level(logging.DEBUG)
    hostile = HOSTILE_VALUES[value]
    before = counts(hub)
    fields = ["redirect_uri", "state", "scope", "response_type", "client_id", "code_challenge"]
    for field in [*fields, "code_challenge_method"]:
        params = authorize_params(**{field: hostile})
        page = http.get("/oauth/authorize", params=params, follow_redirects=False)
        assert "location" not in page.headers
        if field == "state" and hostile.isascii() and hostile.isprintable() and len(hostile) < 99:
            # any printable ASCII is a state (RFC 6749 A.5): the page keeps it, escaped
            assert page.status_code == 200 and html.escape(hostile) in page.text
            continue
        assert_clear_refusal(page, f"GET authorize with {value} in {field}")
        posted = http.post("/oauth/authorize", data=params, follow_redirects=False)
        assert_clear_refusal(posted, f"POST authorize with {value} in {field}")
        if field != "client_id":  # an unknown client id is just unknown
            assert field in page.text and field in posted.text, (field, page.text)
    exchange = {
        "grant_type": "authorization_code",
        "client_id": PEOPLE_CLIENT,
        "code": "no-such-code",
        "redirect_uri": PEOPLE_REDIRECT,
        "code_verifier": "v" * 43,
    }
    for field in [*exchange, "scope"]:
        answer = http.post("/oauth/token", data=exchange | {field: hostile})
        assert_clear_refusal(answer, f"token request with {value} in {field}")
    basic = http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": hostile},
        auth=(caller["client_id"], caller["secret"]),
    )
    assert_clear_refusal(basic, f"client credentials with {value} in scope")
    assert counts(hub) == before
    assert_no_traceback_logged(caplog)


BAD_QUERIES = [
    "/graphql?query=%7B&variables=%5B1%5D",
    "/graphql?query=%7B__typename%7D&variables=3",
    "/graphql?query=%7B__typename%7D&variables=%7Bbad",
    "/graphql?query=%7B__typename%7D&extensions=%22x%22",
    "/graphql?query=%00",
    "/open311/v2/requests.json?start_date=yesterday",
    "/open311/v2/requests.xml?end_date=2026-01-01T00:00:00",
    "/open311/v2/requests.json?status=%00%22%5C",
    "/open311/v2/requests/%22%5C%00.json",
    "/open311/v2/services/%22%5C.xml",
    "/open311/v2/services.yaml",
    "/citizen-app/v1/photos/%22%5C%00",
    "/citizen-app/v1/photos/" + "f" * 5000,
    "/oauth/authorize",
    "/oauth/authorize?client_id=%00",
]


def test_bad_query_parameters_get_a_clear_4xx(
    hub: Hub, http: TestClient, caller: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Attack: bad query parameters and path segments on the GET routes — variables that
    are not an object or not JSON, dates that are not dates, quotes, backslashes and NUL in
    ids, unknown formats, a 5000-character photo hash. A clear 4xx each, no traceback."""
    caplog.set_level(logging.DEBUG)
    # graphql-over-http: a request that never ran is a 4xx for clients that accept it
    accept = {"accept": "application/graphql-response+json"}
    for path in BAD_QUERIES:
        answer = http.get(path, headers=bearer(caller["token"]) | accept)
        assert_clear_refusal(answer, f"GET {path[:80]}")
    # pages that echo a parameter escape it rather than fail
    echoed = http.get("/oauth/demo-callback?code=%3Cscript%3E%00%22")
    assert echoed.status_code == 200 and "<script>" not in echoed.text
    assert_no_traceback_logged(caplog)


def test_graphql_client_errors_are_one_log_line(
    hub: Hub, http: TestClient, caller: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Attack: fill the log with stack traces by sending GraphQL the client's own mistakes —
    a query that does not parse, an unknown field, a variable of the wrong type, a field the
    caller's scopes refuse (strawberry logged that one with the resolver's traceback). Each
    is now one INFO line without literals; only server bugs keep a traceback."""
    caplog.set_level(logging.DEBUG)
    queries: list[dict[str, Any]] = [
        {"query": "{ gridCells(first: 1) { totalCount "},
        {"query": "{ noSuchField }"},
        {
            "query": "query($n: Int) { gridCells(first: $n) { totalCount } }",
            "variables": {"n": "13800138000"},
        },
        {"query": "{ auditLog(first: 5) { totalCount } }"},
    ]
    for query in queries:
        answer = http.post("/graphql", json=query, headers=bearer(caller["token"]))
        assert answer.status_code < 500 and answer.json()["errors"], answer.text
    assert_no_traceback_logged(caplog)
    refused = [r for r in caplog.records if "GraphQL request refused" in r.getMessage()]
    assert len(refused) >= len(queries) and all(r.levelno == logging.INFO for r in refused)
    assert all("\n" not in r.getMessage() for r in refused)
    assert "13800138000" not in caplog.text  # a literal the client sent stays out of the log
    # a server bug is not mistaken for the client's fault
    assert not is_client_error(GraphQLError("boom", original_error=KeyError("k")))
    assert is_client_error(GraphQLError("no", original_error=PermissionError("no")))
