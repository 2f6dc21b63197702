"""Policies end to end, with real signed tokens: masks, fields, rows, aggregate-only, purpose,
rate limit; entity360 and search obey them too."""

from __future__ import annotations

from hub.audit.log import AuditLog
from tests.policy.conftest import EAST, Hub

CELLS = """{ gridCells(first: 50) { totalCount edges { node { code street
  inspector { name phone } } } } }"""


def test_partner_sees_masked_phones_and_a_granted_role_sees_them_whole(hub: Hub) -> None:
    partner = hub.token("partner-a")
    department = hub.token("dept-a", role="department")
    shown = hub.gql(partner, CELLS)["data"]["gridCells"]
    assert shown["totalCount"] == 7
    phones = {e["node"]["inspector"]["phone"] for e in shown["edges"]}
    assert phones == {"138****5678", "139****5432"}
    assert shown["edges"][-1]["node"]["inspector"]["name"] == "欧阳**"
    whole = hub.gql(department, CELLS)["data"]["gridCells"]
    assert {e["node"]["inspector"]["phone"] for e in whole["edges"]} == {
        "13812345678",
        "13998765432",
    }
    entry = AuditLog(hub.app.state.store.engine).page(first=1, action="graphql.read")[0][0]
    assert entry.entry["fields_masked"] == []  # the department's read: nothing masked
    hub.gql(partner, CELLS)
    entry = AuditLog(hub.app.state.store.engine).page(first=1, action="graphql.read")[0][0]
    assert entry.entry["fields_masked"] == ["Inspector.name", "Inspector.phone"]


def test_row_filter_own_street_and_allowed_fields(hub: Hub) -> None:
    hub.publish(
        f"""name = "east-app"
subject = "client:east-app"
clearance = "internal"
principals = {{ "client:east-app" = {{ street = "{EAST}" }} }}
[types.GridCell]
fields = ["code", "street", "inspector"]
row_filter = "record.street == principal.street"
[types.Inspector]
fields = ["phone"]
row_filter = "record.street == principal.street"
"""
    )
    token = hub.token("east-app", client_id="east-app")
    body = hub.gql(
        token,
        "{ gridCells(first: 1) { totalCount pageInfo { hasNextPage } "
        "edges { node { code street } } } }",
    )
    page = body["data"]["gridCells"]
    assert page["totalCount"] == 2 and page["pageInfo"]["hasNextPage"]
    assert [e["node"]["street"] for e in page["edges"]] == [EAST]
    everything = hub.gql(token, "{ gridCells(first: 50) { edges { node { code } } } }")
    assert [e["node"]["code"] for e in everything["data"]["gridCells"]["edges"]] == [
        "BH-E-000",
        "BH-E-001",
    ]
    # a row outside the filter is simply not there
    assert hub.gql(token, '{ gridCell(key: "BH-T-000") { code } }')["data"]["gridCell"] is None
    # a field the policy does not list is refused, with a clear error, and its value not sent
    refused = hub.gql(token, '{ gridCell(key: "BH-E-000") { code population } }')
    assert "GridCell.population is not available to you" in refused["errors"][0]["message"]
    assert "500" not in str(refused)
    # phone allowed (masked: personal), name not
    inspector = hub.gql(token, '{ gridCell(key: "BH-E-000") { inspector { phone } } }')
    assert inspector["data"]["gridCell"]["inspector"]["phone"] == "139****5432"
    named = hub.gql(token, '{ gridCell(key: "BH-E-000") { inspector { name } } }')
    assert "Inspector.name is not available" in named["errors"][0]["message"]
    assert "司马" not in str(named)


def test_aggregate_only_gets_counts_and_no_rows(hub: Hub) -> None:
    hub.publish(
        """name = "counts-only"
subject = "client:counter"
[types."*"]
aggregate_only = true
"""
    )
    token = hub.token("counter", client_id="counter")
    body = hub.gql(
        token,
        "{ gridCells(first: 10) { totalCount edges { node { code } } } "
        'inspectors: count(type: "Inspector") '
        'cell: gridCell(key: "BH-T-000") { code } }',
    )
    assert "errors" not in body, body
    assert body["data"]["gridCells"] == {"totalCount": 7, "edges": []}
    assert body["data"]["inspectors"] == 7 and body["data"]["cell"] is None
    hits = hub.gql(token, '{ search(query: "网格") { totalCount edges { node { key } } } }')
    assert hits["data"]["search"]["edges"] == []
    gone = hub.gql(token, '{ entity360(id: "Inspector:INS-000") { sources { kind attrs } } }')
    assert "欧阳" not in str(gone) and "138" not in str(gone)


def test_purpose_and_rate_limit(hub: Hub) -> None:
    hub.publish(
        """name = "purposeful"
subject = "client:purposeful"
[types.Inspector]
purpose = ["grid-inspection"]
rate_limit = 2
[types.GridCell]
"""
    )
    token = hub.token("purposeful", client_id="purposeful")
    query = "{ inspectors(first: 3) { edges { node { onDuty } } } }"
    missing = hub.gql(token, query)
    assert (
        "needs a Cityhub-Purpose header, one of: grid-inspection"
        in (missing["errors"][0]["message"])
    )
    wrong = hub.gql(token, query, {"Cityhub-Purpose": "curiosity"})
    assert "needs a Cityhub-Purpose header" in wrong["errors"][0]["message"]
    right = {"Cityhub-Purpose": "grid-inspection"}
    assert len(hub.gql(token, query, right)["data"]["inspectors"]["edges"]) == 3
    assert "errors" not in hub.gql(token, query, right)
    limited = hub.gql(token, query, right)
    assert "rate limit for Inspector: 2 requests per minute" in limited["errors"][0]["message"]
    # other types are not limited
    assert "errors" not in hub.gql(token, "{ gridCells(first: 1) { totalCount } }")


def test_entity360_and_search_obey_the_policy(hub: Hub) -> None:
    partner = hub.token("partner-e")
    query = '{ entity360(id: "Inspector:INS-000") { sources { kind attrs } } }'
    facts = hub.gql(partner, query)["data"]["entity360"]["sources"]
    attrs = next(f["attrs"] for f in facts if f["kind"] == "Inspector")
    assert attrs["phone"] == "138****5678" and "****" in attrs["resident_id"]
    operator_like = hub.token("dept-e", role="department")
    attrs = next(
        f["attrs"]
        for f in hub.gql(operator_like, query)["data"]["entity360"]["sources"]
        if f["kind"] == "Inspector"
    )
    assert attrs["phone"] == "13812345678"
    assert "****" in attrs["resident_id"]  # revealed: name and phone only
    hub.publish(
        """name = "no-inspectors"
subject = "client:no-insp"
[types.GridCell]
"""
    )
    token = hub.token("no-insp", client_id="no-insp")
    hidden = hub.gql(token, query)
    assert "13812345678" not in str(hidden) and "138****" not in str(hidden)
    denied = hub.gql(token, "{ inspectors(first: 1) { totalCount } }")
    assert "access denied: Inspector is not readable" in denied["errors"][0]["message"]
    found = hub.gql(token, '{ search(query: "网格") { edges { node { kind } } } }')
    assert {e["node"]["kind"] for e in found["data"]["search"]["edges"]} <= {"GridCell"}


def test_no_policy_no_access(hub: Hub) -> None:
    hub.accounts.create_client("stray", client_id="stray", scopes=["graph:read"])
    # role partner has a policy; a principal no document names reads nothing
    from hub.policy.engine import PolicyEngine

    class Nobody:
        subject = client_id = "nobody"
        kind = "client"
        roles = ("astronaut",)
        label = "client:nobody"

    decision = PolicyEngine(hub.app.state.store.engine).decide(Nobody(), "GridCell")
    assert not decision.allowed and "no access policy covers client:nobody" in decision.reason
