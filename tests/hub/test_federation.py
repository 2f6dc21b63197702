"""The hub as an Apollo Federation v2 subgraph, called the way a gateway calls it, with real
signed tokens: ``_service { sdl }`` (``@link`` to the federation spec, ``@key`` on the shared
entities, an SDL a gateway can parse), ``_entities(representations:)`` per representation
(unknown keys and types are errors of their own), the access policy on ``_entities`` (masks,
row filters, counts-only, audit), and the ``graph:federate`` / ``graph:introspect`` scopes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from graphql import GraphQLObjectType, build_schema
from starlette.applications import Starlette
from starlette.testclient import TestClient
from strawberry.relay import from_base64, to_base64

from hub.audit.log import AuditLog
from hub.graphql_schema import sdl
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.policy_helpers import publish_approved

FEDERATE = ["graph:read", "graph:federate"]
# The query a gateway (Apollo Router / Gateway) sends to fetch entities from a subgraph.
ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on GridCell { id code name street population inspector { name phone } }
    ... on Inspector { id name phone onDuty gridCell { code } }
    ... on HazchemFirm { key name uscc safetyOfficer safetyOfficerPhone }
    ... on HazchemVehicle { key plate driver driverPhone escort }
    ... on ServiceCase { id status title reporterName reporterPhone }
    ... on SmokeIndex { firmKey firmName score level }
    ... on MuckTruck { key plate driver driverPhone }
    ... on Camera { key name street }
  }
}"""
# The federation directives the SDL uses, declared so graphql-core can build it (a gateway
# knows them from the @link).
FEDERATION_DECLARATIONS = """
scalar link__Import
directive @link(url: String!, as: String, import: [link__Import]) repeatable on SCHEMA
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
"""
KEYS = {
    "GridCell": ('@key(fields: "id")', '@key(fields: "code")'),
    "Inspector": ('@key(fields: "id")',),
    "HazchemFirm": ('@key(fields: "id")', '@key(fields: "key")'),
    "HazchemSite": ('@key(fields: "id")', '@key(fields: "key")'),
    "Tank": ('@key(fields: "id")', '@key(fields: "key")'),
    "HazchemVehicle": ('@key(fields: "id")', '@key(fields: "key")'),
    "ServiceCase": ('@key(fields: "id")',),
    "SmokeIndex": ('@key(fields: "firmKey")',),
    "MuckTruck": ('@key(fields: "id")', '@key(fields: "key")'),
    "Camera": ('@key(fields: "id")', '@key(fields: "key")'),
}


@pytest.fixture(scope="module")
def hub(demo_app: Starlette) -> Iterator[tuple[Starlette, TestClient]]:
    with TestClient(demo_app) as http:
        yield demo_app, http


def token(hub: tuple[Starlette, TestClient], name: str, **options: Any) -> tuple[str, str]:
    """A real token for a new client: (token, client id)."""
    app, http = hub
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(http, client_id, secret), client_id


def post(hub: tuple[Starlette, TestClient], tok: str, query: str, **variables: Any) -> Any:
    _, http = hub
    response = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    assert response.status_code == 200, response.text
    return response.json()


def entities(hub: tuple[Starlette, TestClient], tok: str, *reps: dict[str, Any]) -> Any:
    return post(hub, tok, ENTITIES, representations=list(reps))


def publish(app: Starlette, source: str) -> None:
    workflow = app.state.policy_workflow
    draft = workflow.draft(source, author="user:test", reason="federation test")
    publish_approved(
        workflow, draft.name, draft.version, author="user:test", reason="federation test"
    )


@pytest.fixture(scope="module")
def known(hub: tuple[Starlette, TestClient]) -> dict[str, Any]:
    """Keys of real rows of the demo city, read the ordinary way by an operator-grade app."""
    tok, _ = token(hub, "fed-keys", scopes=["graph:read"], role="department")
    body = post(
        hub,
        tok,
        """{ gridCells(first: 2) { edges { node { id code street inspector { id geometry } } } }
             hazchemFirms(first: 1) { edges { node { key } } }
             hazchemVehicles(first: 1) { edges { node { key driver } } }
             watchList(first: 1) { edges { node { firmKey } } }
             muckTrucks(first: 1) { edges { node { key driver } } }
             cameras(first: 1) { edges { node { key name } } } }""",
    )
    assert "errors" not in body, body
    data = body["data"]
    # the demo city has no citizen cases yet: one filed through the hotline intake by an
    # operator (a person, signed in through the login page), at the first cell's inspector
    app, http = hub
    lon, lat = data["gridCells"]["edges"][0]["node"]["inspector"]["geometry"]["coordinates"]
    operator = person_token(http, app, f"fed-op-{time.monotonic_ns()}", "operator", "graph:read")
    filed = post(
        hub,
        operator,
        """mutation($input: FileCaseInput!) { fileCase(input: $input) { id } }""",
        input={
            "channel": "HOTLINE",
            "description": "路灯不亮已经三天了",
            "lon": lon,
            "lat": lat,
            "reporterName": "欧阳明",
            "reporterPhone": "13812345678",
        },
    )
    assert "errors" not in filed, filed
    return {
        "cells": [e["node"] for e in data["gridCells"]["edges"]],
        "firm": data["hazchemFirms"]["edges"][0]["node"]["key"],
        "vehicle": data["hazchemVehicles"]["edges"][0]["node"],
        "case": filed["data"]["fileCase"]["id"],
        "smoke": data["watchList"]["edges"][0]["node"]["firmKey"],
        "truck": data["muckTrucks"]["edges"][0]["node"],
        "camera": data["cameras"]["edges"][0]["node"],
    }


def test_service_sdl_links_federation_v2_and_keys_the_shared_entities(
    hub: tuple[Starlette, TestClient],
) -> None:
    tok, _ = token(hub, "fed-gateway", scopes=FEDERATE)
    body = post(hub, tok, "{ _service { sdl } }")
    assert "errors" not in body, body
    served = body["data"]["_service"]["sdl"]
    assert '@link(url: "https://specs.apollo.dev/federation/v2.' in served
    lines = served.splitlines()
    for type_name, keys in KEYS.items():
        (line,) = [x for x in lines if x.startswith(f"type {type_name} ")]
        for key in keys:
            assert key in line, (type_name, line)
    (union,) = [x for x in lines if x.startswith("union _Entity = ")]
    assert set(union.removeprefix("union _Entity = ").split(" | ")) == set(KEYS)
    # the SDL a gateway composes is the one exported to schema/schema.graphql
    assert served == sdl()
    # and it is a valid schema once the linked directives are declared
    schema = build_schema(served + FEDERATION_DECLARATIONS)
    query = schema.query_type
    assert query is not None and {"_service", "_entities", "gridCells"} <= set(query.fields)
    cell = schema.type_map["GridCell"]
    assert isinstance(cell, GraphQLObjectType) and "code" in cell.fields


def test_entities_resolve_grid_cells_by_code_and_by_global_id(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    tok, _ = token(hub, "fed-dept", scopes=FEDERATE, role="department")
    first, second = known["cells"]
    body = entities(
        hub,
        tok,
        {"__typename": "GridCell", "code": first["code"]},
        {"__typename": "GridCell", "id": second["id"]},
    )
    assert "errors" not in body, body
    got = body["data"]["_entities"]
    assert [c["__typename"] for c in got] == ["GridCell", "GridCell"]
    assert [c["code"] for c in got] == [first["code"], second["code"]]
    assert got[0]["id"] == first["id"] and got[0]["name"]
    assert got[0]["inspector"]["phone"].isdigit()  # department: inspectors whole


def test_unknown_keys_and_types_are_errors_of_their_own(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    tok, _ = token(hub, "fed-partner", scopes=FEDERATE)
    code = known["cells"][0]["code"]
    body = entities(
        hub,
        tok,
        {"__typename": "GridCell", "code": "BH-NO-SUCH-CELL"},
        {"__typename": "GridCell", "code": code},
        {"__typename": "NotAType", "id": "x"},
        {"__typename": "GridCell"},
        {"__typename": "GridCell", "id": to_base64("Inspector", "INS-1")},
        {"__typename": "Provenance", "system": "x"},  # a type, but not an entity
    )
    got = body["data"]["_entities"]
    assert got[1]["code"] == code
    assert [i for i, c in enumerate(got) if c is None] == [0, 2, 3, 4, 5]
    errors = {e["path"][1]: e["message"] for e in body["errors"]}
    assert errors[0] == "no GridCell with key 'BH-NO-SUCH-CELL'"
    assert "'NotAType' is not an entity" in errors[2]
    assert "needs one of its key fields: id, code" in errors[3]
    assert "is not a GridCell id" in errors[4]
    assert "'Provenance' is not an entity" in errors[5]
    assert all(e["path"][0] == "_entities" for e in body["errors"])


def test_a_partner_gets_personal_fields_masked_through_entities_and_it_is_audited(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    app, _ = hub
    tok, client_id = token(hub, "fed-partner", scopes=FEDERATE)
    cell = known["cells"][0]
    body = entities(
        hub,
        tok,
        {"__typename": "Inspector", "id": cell["inspector"]["id"]},
        {"__typename": "HazchemVehicle", "key": known["vehicle"]["key"]},
        {"__typename": "ServiceCase", "id": known["case"]},
        {"__typename": "HazchemFirm", "key": known["firm"]},
        {"__typename": "SmokeIndex", "firmKey": known["smoke"]},
        {"__typename": "MuckTruck", "key": known["truck"]["key"]},
        {"__typename": "Camera", "key": known["camera"]["key"]},
    )
    assert "errors" not in body, body
    inspector, vehicle, case, firm, smoke, truck, camera = body["data"]["_entities"]
    assert "*" in inspector["name"] and "****" in inspector["phone"]
    assert inspector["gridCell"]["code"] == cell["code"]
    assert "*" in vehicle["driver"] and "****" in vehicle["driverPhone"]
    assert case["id"] == known["case"] and case["status"] == "FILED"
    assert case["reporterName"] == "欧阳*" and case["reporterPhone"] == "138****5678"
    assert firm["key"] == known["firm"] and smoke["firmKey"] == known["smoke"]
    assert truck["key"] == known["truck"]["key"] and "****" in truck["driverPhone"]
    assert "*" in truck["driver"]
    assert camera == {"__typename": "Camera", **known["camera"], "street": camera["street"]}
    entry = AuditLog(app.state.store.engine).page(first=1, action="graphql.read")[0][0].entry
    assert entry["client_id"] == client_id
    assert from_base64(cell["inspector"]["id"])[1] in entry["ids"]["Inspector"]
    assert known["vehicle"]["key"] in entry["ids"]["HazchemVehicle"]
    assert {"Inspector.name", "Inspector.phone", "HazchemVehicle.driver"} <= set(
        entry["fields_masked"]
    )


def test_an_aggregate_only_partner_gets_no_rows(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    app, _ = hub
    client_id = f"fed-counter-{time.monotonic_ns()}"
    publish(
        app,
        f"""name = "{client_id}"
subject = "client:{client_id}"
[types."*"]
aggregate_only = true
""",
    )
    tok, _ = token(hub, "fed-counter", scopes=FEDERATE, client_id=client_id)
    counted = post(hub, tok, "{ gridCells(first: 5) { totalCount edges { cursor } } }")
    assert counted["data"]["gridCells"]["totalCount"] > 0
    assert counted["data"]["gridCells"]["edges"] == []
    body = entities(
        hub,
        tok,
        {"__typename": "GridCell", "code": known["cells"][0]["code"]},
        {"__typename": "HazchemFirm", "key": known["firm"]},
    )
    assert body["data"]["_entities"] == [None, None]
    messages = [e["message"] for e in body["errors"]]
    assert messages == [
        "GridCell is served to you as counts only",
        "HazchemFirm is served to you as counts only",
    ]
    assert known["cells"][0]["code"] not in str(body["errors"])


def test_row_filters_and_refused_fields_apply_to_entities(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    app, _ = hub
    mine = known["cells"][0]
    client_id = f"fed-street-{time.monotonic_ns()}"
    publish(
        app,
        f"""name = "{client_id}"
subject = "client:{client_id}"
clearance = "internal"
principals = {{ "client:{client_id}" = {{ street = "{mine["street"]}" }} }}
[types.GridCell]
fields = ["code", "name", "street"]
row_filter = "record.street == principal.street"
""",
    )
    tok, _ = token(hub, "fed-street", scopes=FEDERATE, client_id=client_id)
    # a cell of another street: read the ordinary way, it is simply not there
    everyone, _ = token(hub, "fed-all", scopes=["graph:read"], role="department")
    page = post(hub, everyone, "{ gridCells(first: 200) { edges { node { code street } } } }")
    other = next(
        e["node"]
        for e in page["data"]["gridCells"]["edges"]
        if e["node"]["street"] != mine["street"]
    )
    query = """query($representations: [_Any!]!) { _entities(representations: $representations)
      { ... on GridCell { code street } } }"""
    reps = [
        {"__typename": "GridCell", "code": mine["code"]},
        {"__typename": "GridCell", "code": other["code"]},
        {"__typename": "Inspector", "id": mine["inspector"]["id"]},
    ]
    body = post(hub, tok, query, representations=reps)
    assert body["data"]["_entities"][0] == {"code": mine["code"], "street": mine["street"]}
    assert body["data"]["_entities"][1:] == [None, None]
    errors = {e["path"][1]: e["message"] for e in body["errors"]}
    assert errors[1] == f"no GridCell with key {other['code']!r}"  # as if it did not exist
    assert "access denied" in errors[2] and "Inspector is not readable" in errors[2]
    refused = post(
        hub,
        tok,
        """query($r: [_Any!]!) { _entities(representations: $r) {
          ... on GridCell { code population } } }""",
        r=reps[:1],
    )
    assert "GridCell.population is not available to you" in refused["errors"][0]["message"]


def test_federation_fields_need_graph_federate_and_introspection_graph_introspect(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    reader, _ = token(hub, "fed-reader", scopes=["graph:read", "graph:introspect"])
    rep = {"__typename": "GridCell", "code": known["cells"][0]["code"]}
    for query, variables in (
        ("{ _service { sdl } }", {}),
        (ENTITIES, {"representations": [rep]}),
        # hidden in a fragment, under an alias
        ("query { ...F } fragment F on Query { s: _service { sdl } }", {}),
    ):
        body = post(hub, reader, query, **variables)
        assert body.get("data") is None, body
        assert body["errors"][0]["message"].endswith("needs the graph:federate scope")
        assert body["errors"][0]["extensions"]["code"] == "insufficient_scope"
    # graph:introspect still grants introspection
    schema = post(hub, reader, "{ __schema { queryType { name } } }")
    assert schema["data"]["__schema"]["queryType"]["name"] == "Query"
    # and graph:federate does not
    gateway, _ = token(hub, "fed-gateway", scopes=FEDERATE)
    for query in ("{ __schema { types { name } } }", '{ __type(name: "GridCell") { name } }'):
        body = post(hub, gateway, query)
        assert body.get("data") is None
        assert body["errors"][0]["message"].endswith("needs the graph:introspect scope")
    assert post(hub, gateway, "{ __typename }") == {"data": {"__typename": "Query"}}


def test_entities_count_against_the_cost_budget_and_a_batch_limit(
    hub: tuple[Starlette, TestClient], known: dict[str, Any]
) -> None:
    code = known["cells"][0]["code"]
    tight, _ = token(hub, "fed-tight", scopes=FEDERATE, cost_budget=100)
    query = """query($r: [_Any!]!) { _entities(representations: $r) {
      ... on GridCell { code name } } }"""
    few = post(hub, tight, query, r=[{"__typename": "GridCell", "code": code}] * 10)
    assert "errors" not in few and len(few["data"]["_entities"]) == 10
    many = post(hub, tight, query, r=[{"__typename": "GridCell", "code": code}] * 60)
    assert "exceeds the budget of 100" in many["errors"][0]["message"]
    gateway, _ = token(hub, "fed-gateway", scopes=FEDERATE)
    huge = post(hub, gateway, query, r=[{"__typename": "GridCell", "code": code}] * 1001)
    assert huge["data"] is None
    assert "at most 1000 representations" in huge["errors"][0]["message"]
