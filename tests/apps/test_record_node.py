"""Record-backed types (schema.nodes.RecordNode) over real HTTP with a real operator token: a
node fetched by its global id has every field read from its record — by name, converted by its
declared type (dates, lists), renamed or derived where the type computes it. (A gateway's
representations of the same types: tests/hub/test_federation.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from strawberry.relay import to_base64

from hub.store import RecordStore
from tests.auth_helpers import bearer, person_token


@pytest.fixture(scope="module")
def hub(demo_app: Starlette) -> Iterator[tuple[Starlette, TestClient, str]]:
    with TestClient(demo_app) as http:
        operator = person_token(http, demo_app, "rn-olga", "operator", "graph:read")
        yield demo_app, http, operator


def ask(hub: tuple[Starlette, TestClient, str], query: str, **variables: Any) -> Any:
    _, http, operator = hub
    answer = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(operator)
    ).json()
    assert "errors" not in answer, answer["errors"]
    return answer["data"]


def first_record(store: RecordStore, kind: str, *having: str) -> Any:
    """The first record of ``kind`` (in key order) whose attributes have all of ``having``."""
    for record in store.page(kind, after=None, limit=1000):
        if all(record.attrs.get(name) not in (None, [], "") for name in having):
            return record
    raise AssertionError(f"no {kind} with {having}")


NODES = """query($ids: [ID!]!) { nodes(ids: $ids) {
  __typename
  ... on HazchemSite { key name siteType tankCount hazardClasses source { system sourceId } }
  ... on Camera { key name installed lastHeartbeatAt aiCapabilities ptz datum }
  ... on MuckTruck { key plate violations30d { overspeed nightBan } }
  ... on ServiceItem { key name online requiredMaterials channels }
} }"""


def test_a_node_is_its_record_read_by_field_name(
    hub: tuple[Starlette, TestClient, str], demo_store: RecordStore
) -> None:
    site = first_record(demo_store, "HazchemSite", "tanks", "hazard_classes")
    camera = first_record(demo_store, "Camera", "installed", "ai_capabilities")
    truck = first_record(demo_store, "MuckTruck", "violations_30d")
    item = first_record(demo_store, "ServiceItem", "materials", "channels")
    ids = [
        to_base64("HazchemSite", site.key),
        to_base64("Camera", camera.key),
        to_base64("MuckTruck", truck.key),
        to_base64("ServiceItem", item.key),
    ]
    got = ask(hub, NODES, ids=ids)["nodes"]
    assert [n["__typename"] for n in got] == ["HazchemSite", "Camera", "MuckTruck", "ServiceItem"]
    s, c, t, i = got
    # by name, with what the type computes: tankCount is the record's "tanks"
    assert s["key"] == site.key and s["name"] == site.attrs["name"]
    assert s["siteType"] == site.attrs["site_type"]
    assert s["tankCount"] == int(site.attrs["tanks"])
    assert s["hazardClasses"] == list(site.attrs["hazard_classes"])
    assert s["source"] == {"system": site.source_system, "sourceId": site.source_id}
    # a date attribute is read as a Date, a list as a list, the datum from the record
    assert c["installed"] == date.fromisoformat(camera.attrs["installed"]).isoformat()
    assert c["aiCapabilities"] == list(camera.attrs["ai_capabilities"])
    assert c["ptz"] == camera.attrs.get("ptz") and c["datum"] == camera.datum
    # an object computed from a nested attribute
    counts = truck.attrs["violations_30d"]
    assert t["violations30d"] == {
        "overspeed": int(counts.get("overspeed") or 0),
        "nightBan": int(counts.get("night_ban") or 0),
    }
    required = [m["name"] for m in item.attrs["materials"] if m.get("required")]
    assert i["requiredMaterials"] == required and i["channels"] == list(item.attrs["channels"])
