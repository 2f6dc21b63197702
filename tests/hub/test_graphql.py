"""GraphQL at /graphql: Relay nodes and connections, GeoJSON, and GraphQL-over-HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient
from strawberry.relay import to_base64

from hub.app import create_app
from hub.config import load_settings
from hub.store import RecordStore
from tests.auth_helpers import authorize
from tests.hub.city import small_city

GRAPHQL_RESPONSE = "application/graphql-response+json"


@pytest.fixture
def client(tmp_path) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert(small_city())
    app = create_app(load_settings(data_dir=tmp_path, graphql_max_depth=6), store=store)
    with TestClient(app) as c:
        authorize(c, app)  # a real token from /oauth/token on every request
        yield c


def gql(client: TestClient, query: str, accept: str = GRAPHQL_RESPONSE, **variables: object):  # type: ignore[no-untyped-def]
    return client.post(
        "/graphql", json={"query": query, "variables": variables}, headers={"Accept": accept}
    )


CELLS = """query($first: Int, $after: String, $last: Int, $before: String) {
  gridCells(first: $first, after: $after, last: $last, before: $before) {
    totalCount
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id code name areaKm2 geometry datum } }
  }
}"""


def test_grid_cells_page_forward_and_back(client: TestClient) -> None:
    first = gql(client, CELLS, first=2).json()["data"]["gridCells"]
    assert first["totalCount"] == 5
    assert [e["node"]["code"] for e in first["edges"]] == ["BH-T-000", "BH-T-001"]
    assert first["pageInfo"]["hasNextPage"] and not first["pageInfo"]["hasPreviousPage"]
    node = first["edges"][0]["node"]
    assert node["geometry"]["type"] == "Polygon" and node["datum"] == "GCJ-02"

    rest = gql(client, CELLS, first=10, after=first["pageInfo"]["endCursor"]).json()
    page = rest["data"]["gridCells"]
    assert [e["node"]["code"] for e in page["edges"]] == ["BH-T-002", "BH-T-003", "BH-T-004"]
    assert page["pageInfo"]["hasPreviousPage"] and not page["pageInfo"]["hasNextPage"]

    tail = gql(client, CELLS, last=2, before=page["edges"][2]["cursor"]).json()
    page = tail["data"]["gridCells"]
    assert [e["node"]["code"] for e in page["edges"]] == ["BH-T-002", "BH-T-003"]
    assert page["pageInfo"]["hasPreviousPage"] and page["pageInfo"]["hasNextPage"]


def test_pagination_arguments_are_checked(client: TestClient) -> None:
    body = gql(client, CELLS, first=5000).json()
    assert body["data"] is None
    assert "first must be between 0 and 1000" in body["errors"][0]["message"]
    body = gql(client, CELLS, first=1, after="garbage").json()
    assert "invalid cursor" in body["errors"][0]["message"]
    body = gql(client, CELLS, first=1, last=1).json()
    assert "either first or last" in body["errors"][0]["message"]


def test_node_by_global_id_and_personal_data_masked(client: TestClient) -> None:
    gid = to_base64("GridCell", "BH-T-001")
    query = """query($id: ID!) { node(id: $id) { id ... on GridCell {
        code source { system sourceId fetchedAt }
        inspector { name phone onDuty gridCell { code } } } } }"""
    node = gql(client, query, id=gid).json()["data"]["node"]
    assert node["id"] == gid and node["code"] == "BH-T-001"
    assert node["source"] == {
        "system": "grid-management",
        "sourceId": "g1",
        "fetchedAt": "2026-06-01T00:00:00+00:00",
    }
    inspector = node["inspector"]
    assert inspector["name"] == "欧阳**" and inspector["phone"] == "138****5678"
    assert inspector["gridCell"]["code"] == "BH-T-001"

    nodes = gql(
        client,
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
        ids=[to_base64("Inspector", "INS-004"), gid],
    ).json()["data"]["nodes"]
    assert [n["id"] for n in nodes] == [to_base64("Inspector", "INS-004"), gid]


def test_unknown_and_malformed_ids_are_errors(client: TestClient) -> None:
    query = "query($id: ID!) { node(id: $id) { id } }"
    body = gql(client, query, id=to_base64("GridCell", "nope")).json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == "no GridCell with id 'nope'"
    body = gql(client, query, id="not-base64!").json()
    assert body["data"] is None
    assert body["errors"][0]["message"] == 'Value cannot represent a GlobalID: "not-base64!".'


def test_spec_status_codes_for_request_errors(client: TestClient) -> None:
    for bad in ("{ gridCells { ", "{ noSuchField }"):
        response = gql(client, bad)
        assert response.status_code == 400
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in response.json() and response.json()["errors"]
        legacy = gql(client, bad, accept="application/json")
        assert legacy.status_code == 200
        assert legacy.headers["content-type"].startswith("application/json")


def test_too_deep_query_is_refused(client: TestClient) -> None:
    deep = (
        "{ gridCells(first: 1) { edges { node { inspector { gridCell { inspector {"
        " gridCell { code } } } } } } } }"
    )
    response = gql(client, deep)
    assert response.status_code == 400
    assert "exceeds maximum operation depth" in response.json()["errors"][0]["message"]


def test_unreadable_bodies_and_unacceptable_media(client: TestClient) -> None:
    response = client.post(
        "/graphql",
        content=b"{oops",
        headers={"Content-Type": "application/json", "Accept": GRAPHQL_RESPONSE},
    )
    assert response.status_code == 400
    assert response.json() == {"errors": [{"message": "Unable to parse request body as JSON"}]}
    response = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Accept": "text/csv"}
    )
    assert response.status_code == 406
    response = client.get(
        "/graphql", params={"query": "{ __typename }"}, headers={"Accept": GRAPHQL_RESPONSE}
    )
    assert response.status_code == 200 and response.json() == {"data": {"__typename": "Query"}}


def test_graphiql_for_browsers(client: TestClient) -> None:
    response = client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200 and "graphiql" in response.text.lower()


def test_health_and_readiness(client: TestClient, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json()["status"] == "ok"
    assert client.get("/readyz").json() == {"status": "ready", "store": "sqlite"}
    down = RecordStore.from_url("postgresql://u:p@127.0.0.1:1/x")
    with TestClient(create_app(load_settings(data_dir=tmp_path), store=down)) as c:
        response = c.get("/readyz")
    assert response.status_code == 503 and "CITYHUB_DATABASE_URL" in response.json()["store"]


def test_all_743_demo_cells_with_geometry(demo_store: RecordStore, tmp_path) -> None:  # type: ignore[no-untyped-def]
    app = create_app(load_settings(data_dir=tmp_path), store=demo_store)
    query = "{ gridCells(first: 1000) { totalCount edges { node { code geometry datum } } } }"
    with TestClient(app) as c:
        authorize(c, app)
        cells = gql(c, query).json()["data"]["gridCells"]
    assert cells["totalCount"] == 743 and len(cells["edges"]) == 743
    for edge in cells["edges"]:
        assert edge["node"]["geometry"]["type"] in ("Polygon", "MultiPolygon")
        assert edge["node"]["datum"] == "GCJ-02"
