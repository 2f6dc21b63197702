"""The one list shape (schema.connection.CountedConnection) over real HTTP with an operator's
token: ``totalCount`` is counted in the store only when the query selects it (counting is often
the slow part of a page), and then it is the store's count; pages follow on by ``pageInfo``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.record_source import StoreRecordSource
from hub.store import RecordStore
from tests.auth_helpers import bearer, person_token


@pytest.fixture(scope="module")
def hub(demo_app: Starlette) -> Iterator[tuple[TestClient, str]]:
    with TestClient(demo_app) as http:
        yield http, person_token(http, demo_app, "cc-olga", "operator", "graph:read")


def ask(hub: tuple[TestClient, str], query: str, **variables: Any) -> Any:
    http, operator = hub
    answer = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(operator)
    ).json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The kinds the store was asked to count during a test."""
    kinds: list[str] = []
    count = StoreRecordSource.count

    async def counting(self: StoreRecordSource, kind: str) -> int:
        kinds.append(kind)
        return await count(self, kind)

    monkeypatch.setattr(StoreRecordSource, "count", counting)
    return kinds


def test_total_count_is_counted_only_when_selected(
    hub: tuple[TestClient, str], demo_store: RecordStore, counted: list[str]
) -> None:
    page = ask(hub, "{ cameras(first: 3) { edges { node { key } } pageInfo { hasNextPage } } }")
    assert len(page["cameras"]["edges"]) == 3 and page["cameras"]["pageInfo"]["hasNextPage"]
    assert counted == []  # not selected: the store was never asked to count
    total = ask(hub, "{ cameras(first: 3) { totalCount edges { node { key } } } }")
    assert counted == ["Camera"]
    assert total["cameras"]["totalCount"] == demo_store.count("Camera")


def test_pages_follow_on_by_page_info(hub: tuple[TestClient, str], demo_store: RecordStore) -> None:
    query = """query($after: String) { rivers(first: 5, after: $after) {
      pageInfo { hasNextPage hasPreviousPage endCursor } edges { node { key } } } }"""
    keys: list[str] = []
    after: str | None = None
    while True:
        page = ask(hub, query, after=after)["rivers"]
        keys += [e["node"]["key"] for e in page["edges"]]
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert keys == [r.key for r in demo_store.page("River", after=None, limit=1000)]
