"""The stewards' workflow through GraphQL with real tokens: draft, validate, dry-run, publish
(in force without restart), roll back (the old view returns, once a second steward approves
it: it widens access); stewards only; hostile drafts."""

from __future__ import annotations

from typing import Any

from hub.audit.log import AuditLog
from tests.policy.conftest import Hub, person_token

DRAFT = """mutation($doc: String!, $reason: String!) {
  policyDraft(document: $doc, reason: $reason) { name version status author reason } }"""
VALIDATE = """mutation($name: String!, $v: Int!) {
  policyValidate(name: $name, version: $v) { ok problems } }"""
DRY_RUN = """mutation($name: String!, $v: Int!) { policyDryRun(name: $name, version: $v) {
  principals changes { principal type accessBefore accessAfter fieldsGained fieldsLost
  maskedBefore maskedAfter rowsBefore rowsAfter } } }"""
PUBLISH = """mutation($name: String!, $v: Int!, $reason: String!) {
  policyPublish(name: $name, version: $v, reason: $reason) { version status publishedAt } }"""
ROLLBACK = """mutation($name: String!, $reason: String!) {
  policyRollback(name: $name, reason: $reason) { version status reason } }"""
APPROVE = """mutation($name: String!, $v: Int!, $reason: String!) {
  policyApprove(name: $name, version: $v, reason: $reason) { version status approvedBy } }"""
VERSIONS = """query($name: String) { policyVersions(name: $name) {
  version status author createdAt reason } }"""
PHONES = "{ inspectors(first: 50) { edges { node { phone } } } }"

TIGHTER = """name = "partner"
subject = "role:partner"
clearance = "internal"
[types.GridCell]
fields = ["code"]
[types.Inspector]
fields = ["phone"]
masks = { phone = "redact" }
"""


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


def test_draft_dry_run_publish_rollback(hub: Hub) -> None:
    steward = person_token(hub, "stella", "steward", "graph:read policy:write")
    partner = hub.token("partner-w")
    before = ok(hub.gql(partner, PHONES))["inspectors"]["edges"][0]["node"]["phone"]
    assert before == "138****5678"

    draft = ok(hub.gql(steward, DRAFT, doc=TIGHTER, reason="partners: phones off"))
    v = draft["policyDraft"]["version"]
    assert draft["policyDraft"] == {
        "name": "partner",
        "version": v,
        "status": "draft",
        "author": "user:stella",
        "reason": "partners: phones off",
    }
    assert ok(hub.gql(steward, VALIDATE, name="partner", v=v))["policyValidate"]["ok"]

    run = ok(hub.gql(steward, DRY_RUN, name="partner", v=v))["policyDryRun"]
    assert any(p.startswith("client:partner-w-") for p in run["principals"])
    mine = {c["type"]: c for c in run["changes"] if c["principal"].startswith("client:partner-w")}
    assert mine["GridCell"]["fieldsLost"] and "code" not in mine["GridCell"]["fieldsLost"]
    assert "population" in mine["GridCell"]["fieldsLost"]
    assert mine["GridCell"]["rowsBefore"] == mine["GridCell"]["rowsAfter"] == 7
    assert mine["Inspector"]["fieldsLost"] and "name" in mine["Inspector"]["fieldsLost"]
    # a dry run changes nothing
    assert ok(hub.gql(partner, PHONES))["inspectors"]["edges"][0]["node"]["phone"] == before

    published = ok(hub.gql(steward, PUBLISH, name="partner", v=v, reason="go"))["policyPublish"]
    assert published["status"] == "published" and published["publishedAt"]
    # in force at once, same app, no restart: the phone is now redacted entirely
    after = ok(hub.gql(partner, PHONES))["inspectors"]["edges"][0]["node"]["phone"]
    assert after != before and "5678" not in after
    refused = hub.gql(partner, "{ gridCells(first: 1) { edges { node { name } } } }")
    assert "GridCell.name is not available" in refused["errors"][0]["message"]

    back = ok(hub.gql(steward, ROLLBACK, name="partner", reason="too tight"))["policyRollback"]
    # back to the wider version: pending until a second steward approves it (four eyes)
    assert back["status"] == "pending" and back["version"] == v + 1
    assert "rollback of v" in back["reason"]
    assert ok(hub.gql(partner, PHONES))["inspectors"]["edges"][0]["node"]["phone"] == after
    second = person_token(hub, "sven", "steward", "graph:read policy:write")
    approved = ok(hub.gql(second, APPROVE, name="partner", v=v + 1, reason="agreed"))
    assert approved["policyApprove"] == {
        "version": v + 1,
        "status": "published",
        "approvedBy": "user:sven",
    }
    assert ok(hub.gql(partner, PHONES))["inspectors"]["edges"][0]["node"]["phone"] == before

    versions = ok(hub.gql(steward, VERSIONS, name="partner"))["policyVersions"]
    assert [x["status"] for x in versions] == ["retired", "retired", "published"]
    assert all(x["author"] and x["createdAt"] and x["reason"] for x in versions)
    changes = AuditLog(hub.app.state.store.engine).page(first=20, action="policy.change")[0]
    steps = [(e.entry["detail"]["step"], e.principal) for e in changes[:5]]
    assert steps == [
        ("approve", "user:sven"),
        ("rollback", "user:stella"),
        ("draft", "user:stella"),
        ("publish", "user:stella"),
        ("dry-run", "user:stella"),
    ]


def test_only_stewards_edit_policies(hub: Hub) -> None:
    partner = hub.token("partner-x", scopes=["graph:read", "policy:write"])
    denied = hub.gql(partner, DRAFT, doc=TIGHTER, reason="mine now")
    assert "policies are for stewards with the policy:write scope" in denied["errors"][0]["message"]
    operator = person_token(hub, "oscar", "operator", "graph:read")
    denied = hub.gql(operator, VERSIONS)
    assert "policies are for stewards" in denied["errors"][0]["message"]
    # a steward's token without policy:write is refused too
    reader = person_token(hub, "stan", "steward", "graph:read")
    assert "policies are for stewards" in hub.gql(reader, VERSIONS)["errors"][0]["message"]


def test_injection_in_a_filter_is_refused_and_nothing_leaks(hub: Hub) -> None:
    steward = person_token(hub, "stella", "steward", "graph:read policy:write")
    count = len(hub.workflow.versions())
    for hostile in [
        "__import__('os').system('touch /tmp/pwned')",
        "record.__class__.__init__.__globals__",
        "open('/etc/passwd').read() == ''",
        "record.street == 'x' or True) or (1",
        "record['phone'] == principal['secret']",
    ]:
        doc = (
            'name = "partner"\nsubject = "role:partner"\n'
            f'[types.Inspector]\nrow_filter = "{hostile}"'
        )
        body = hub.gql(steward, DRAFT, doc=doc, reason="attack")
        message = body["errors"][0]["message"]
        assert message.startswith("invalid policy: types.Inspector.row_filter: "), message
        assert body["data"] is None
        assert "13812345678" not in str(body) and "root:" not in str(body)
    assert len(hub.workflow.versions()) == count  # nothing stored


def test_validate_names_unknown_types_and_fields(hub: Hub) -> None:
    steward = person_token(hub, "stella", "steward", "graph:read policy:write")
    doc = """name = "typo"
subject = "client:typo"
[types.GridCel]
[types.Inspector]
fields = ["phone", "shoeSize"]
"""
    v = ok(hub.gql(steward, DRAFT, doc=doc, reason="typos"))["policyDraft"]["version"]
    problems = ok(hub.gql(steward, VALIDATE, name="typo", v=v))["policyValidate"]["problems"]
    assert "types.GridCel: no such type in the schema or the store" in problems
    assert "types.Inspector.fields: no field 'shoeSize'" in problems
    refused = hub.gql(steward, PUBLISH, name="typo", v=v, reason="go")
    assert "does not validate" in refused["errors"][0]["message"]
