"""entity360, entityPath and search through GraphQL, on the whole demo city."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from strawberry.relay import to_base64

from tests.auth_helpers import authorize

FIRM = "Firm:91120116MA05BBJ537"  # 天津银昊融资租赁有限公司 in the demo city (seed 2019)


@pytest.fixture(scope="module")
def client(demo_app: Starlette) -> Iterator[TestClient]:
    # no `with`: the session-wide app must outlive this module (lifespan closes the stores)
    client = TestClient(demo_app)
    authorize(client, demo_app)
    yield client


def gql(client: TestClient, query: str, **variables: Any) -> dict[str, Any]:
    body = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in body, body["errors"]
    return body["data"]


ENTITY = """query($id: String!) { entity360(id: $id) {
  id type label resolvedBy confidence
  sources { system kind key sourceId method confidence attrs }
  relations(first: 50) { rel direction other { type label } source { system kind key } }
} }"""


def test_entity360_lists_every_source(client: TestClient) -> None:
    entity = gql(client, ENTITY, id=FIRM)["entity360"]
    assert entity["type"] == "Firm" and entity["label"] == "天津银昊融资租赁有限公司"
    systems = {s["system"] for s in entity["sources"]}
    assert {"market-registry", "finance-registry"} <= systems
    registry = next(s for s in entity["sources"] if s["system"] == "market-registry")
    assert registry["attrs"]["uscc"] == "91120116MA05BBJ537"
    rep_phone = registry["attrs"]["legal_representative_phone"]
    assert "****" in rep_phone and len(rep_phone) == 11  # personal data masked
    assert registry["attrs"]["legal_representative"].endswith("*")
    located = [r for r in entity["relations"] if r["rel"] == "LOCATED_IN"]
    assert located and located[0]["other"]["type"] == "GridCell"
    assert located[0]["source"]["system"] in systems


def test_entity360_by_global_or_record_id(client: TestClient) -> None:
    by_global = gql(client, ENTITY, id=to_base64("Entity", FIRM))["entity360"]
    by_record = gql(client, ENTITY, id="FinanceFirm:FIN-0000001")["entity360"]
    assert by_global["id"] == by_record["id"] == to_base64("Entity", FIRM)
    response = client.post("/graphql", json={"query": ENTITY, "variables": {"id": "Firm:nope"}})
    assert response.json()["errors"][0]["message"] == "no entity for 'Firm:nope'"


def test_people_are_masked_in_the_graph(client: TestClient) -> None:
    person = gql(client, ENTITY, id="Inspector:INS-BH-BEITANG-001")["entity360"]
    assert person["type"] == "Person" and person["label"].endswith("*")
    attrs = person["sources"][0]["attrs"]
    assert "*" in attrs["name"] and "****" in attrs["phone"] and "********" in attrs["resident_id"]


def test_neighbourhood_and_path(client: TestClient) -> None:
    query = """query($id: String!) { entity360(id: $id) {
      neighbourhood(hops: 2, limit: 100) { entities { type } edges { from rel to } } } }"""
    hood = gql(client, query, id=FIRM)["entity360"]["neighbourhood"]
    assert 2 < len(hood["entities"]) <= 100 and hood["edges"]
    path = gql(
        client,
        """query($a: String!, $b: String!) { entityPath(source: $a, target: $b, maxHops: 4) {
            from rel to source { system } } }""",
        a=FIRM,
        b="GridCell:BH-DAGU-024",
    )["entityPath"]
    assert path and path[0]["from"] == FIRM and path[-1]["to"] == "GridCell:BH-DAGU-024"
    for left, right in itertools.pairwise(path):
        assert {left["from"], left["to"]} & {right["from"], right["to"]}


def test_search_chinese_full_text(client: TestClient) -> None:
    query = """query($q: String!, $types: [String!], $after: String) {
      search(query: $q, types: $types, first: 5, after: $after) {
        totalCount pageInfo { hasNextPage endCursor }
        edges { node { kind key title snippet score entity { type } } } } }"""
    result = gql(client, query, q="融资租赁", types=["FinanceFirm"])["search"]
    assert result["totalCount"] > 100 and len(result["edges"]) == 5
    assert all("融资租赁" in e["node"]["title"] for e in result["edges"])
    assert result["edges"][0]["node"]["entity"]["type"] == "Firm"
    more = gql(
        client, query, q="融资租赁", types=["FinanceFirm"], after=result["pageInfo"]["endCursor"]
    )["search"]
    assert {e["node"]["key"] for e in more["edges"]}.isdisjoint(
        {e["node"]["key"] for e in result["edges"]}
    )
    news = gql(client, query, q="社区文化节")["search"]
    assert news["edges"][0]["node"]["kind"] == "NewsItem"
    code = gql(client, query, q="91120116MA05BBJ537")["search"]
    assert {e["node"]["kind"] for e in code["edges"]} == {"Enterprise", "FinanceFirm"}
