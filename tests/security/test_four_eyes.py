"""Issue 13 item 12, four eyes on the rules themselves: a steward cannot widen anyone's access
(their own included) alone. Real tokens through the real sign-in; the CLI path on a store of
its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.audit.log import AuditLog
from hub.auth.accounts import AccountStore
from hub.cli import app as cli
from hub.policy.model import parse_document
from hub.policy.widening import widening
from hub.store import RecordStore
from tests.auth_helpers import bearer, person_token
from tests.hub.city import small_city
from tests.security.conftest import Hub

DRAFT = """mutation($doc: String!, $reason: String!) {
  policyDraft(document: $doc, reason: $reason) { name version status } }"""
PUBLISH = """mutation($name: String!, $v: Int!, $reason: String!) {
  policyPublish(name: $name, version: $v, reason: $reason) {
    version status widens approvedBy } }"""
APPROVE = """mutation($name: String!, $v: Int!, $reason: String!) {
  policyApprove(name: $name, version: $v, reason: $reason) {
    version status author approvedBy approvedAt } }"""
ROLLBACK = """mutation($name: String!, $reason: String!) {
  policyRollback(name: $name, reason: $reason) { version status widens } }"""
PENDING = "{ pendingPolicies { name version author widens } }"
PHONE = "{ inspectors(first: 1) { edges { node { phone } } } }"
WHOLE_PHONE = "13812345678"

STEWARD = """name = "steward"
subject = "role:steward"
clearance = "{clearance}"
[types."*"]
fields = ["*"]
"""
FULL_CLEARANCE = STEWARD.format(clearance="personal")
SEED = STEWARD.format(clearance="sensitive")
PHONES_OFF = SEED + '[types.Inspector]\nfields = ["*"]\nmasks = { phone = "redact" }\n'


def gql(hub: Hub, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = hub.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
    )
    return dict(response.json())


def ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body["errors"]
    return dict(body["data"])


def phone(hub: Hub, token: str) -> str:
    return str(ok(gql(hub, token, PHONE))["inspectors"]["edges"][0]["node"]["phone"])


def steward(hub: Hub, name: str) -> str:
    return person_token(hub.http, hub.app, name, "steward", "graph:read policy:write")


def changes(hub: Hub) -> list[tuple[str, str | None, dict[str, Any]]]:
    """The policy.change entries, oldest first: (step, principal, detail)."""
    found = AuditLog(hub.app.state.store.engine).page(first=200, action="policy.change")[0]
    return [(e.entry["detail"]["step"], e.principal, e.entry["detail"]) for e in reversed(found)]


def test_a_steward_cannot_grant_themselves_full_clearance_alone(hub: Hub) -> None:
    """Attack: one steward drafts a policy giving stewards personal clearance and publishes
    it, or approves it themselves. It stays pending and out of force until another steward
    approves it; the audit names author and approver."""
    ada, bert = steward(hub, "ada"), steward(hub, "bert")
    assert phone(hub, ada) != WHOLE_PHONE  # stewards see phones masked (seed policy)

    v = ok(gql(hub, ada, DRAFT, doc=FULL_CLEARANCE, reason="I need phones"))["policyDraft"]
    assert v["status"] == "draft"
    submitted = ok(gql(hub, ada, PUBLISH, name="steward", v=v["version"], reason="go"))
    assert submitted["policyPublish"]["status"] == "pending"
    assert "clearance rises from sensitive to personal" in submitted["policyPublish"]["widens"]
    assert phone(hub, ada) != WHOLE_PHONE  # not in force

    # publishing it again, or approving it, as its author is refused
    again = ok(gql(hub, ada, PUBLISH, name="steward", v=v["version"], reason="go!"))
    assert again["policyPublish"]["status"] == "pending"
    refused = gql(hub, ada, APPROVE, name="steward", v=v["version"], reason="me")
    assert refused["data"] is None
    assert "your own change: another steward must approve it" in refused["errors"][0]["message"]
    assert phone(hub, ada) != WHOLE_PHONE
    pending = ok(gql(hub, bert, PENDING))["pendingPolicies"]
    assert [(p["name"], p["version"], p["author"]) for p in pending] == [
        ("steward", v["version"], "user:ada")
    ]

    approved = ok(gql(hub, bert, APPROVE, name="steward", v=v["version"], reason="agreed"))
    assert approved["policyApprove"]["status"] == "published"
    assert approved["policyApprove"]["author"] == "user:ada"
    assert approved["policyApprove"]["approvedBy"] == "user:bert"
    assert approved["policyApprove"]["approvedAt"]
    assert phone(hub, ada) == WHOLE_PHONE  # in force at once
    assert ok(gql(hub, bert, PENDING))["pendingPolicies"] == []

    steps = [(s, who, d.get("author"), d.get("approved_by")) for s, who, d in changes(hub)]
    assert ("submit", "user:ada", "user:ada", None) in steps
    assert ("approve-refused", "user:ada", "user:ada", None) in steps
    assert steps[-1] == ("approve", "user:bert", "user:ada", "user:bert")
    assert "clearance rises from sensitive to personal" in changes(hub)[-1][2]["widens"]


def test_narrowing_is_immediate_and_a_rollback_to_wider_awaits_approval(hub: Hub) -> None:
    """Attack: a steward narrows a policy (allowed alone), then rolls it back to the wider
    version to widen access without a second steward. The narrowing is in force at once;
    the rollback waits for another steward."""
    ada, bert = steward(hub, "ada"), steward(hub, "bert")
    assert phone(hub, ada) == WHOLE_PHONE  # the previous test's approved version

    v = ok(gql(hub, ada, DRAFT, doc=PHONES_OFF, reason="phones off"))["policyDraft"]["version"]
    narrowed = ok(gql(hub, ada, PUBLISH, name="steward", v=v, reason="narrow"))["policyPublish"]
    assert narrowed == {"version": v, "status": "published", "widens": [], "approvedBy": None}
    assert WHOLE_PHONE[-4:] not in phone(hub, ada)
    assert changes(hub)[-1][:2] == ("publish", "user:ada")

    back = ok(gql(hub, ada, ROLLBACK, name="steward", reason="undo"))["policyRollback"]
    assert back["status"] == "pending" and back["version"] == v + 1
    assert any("masks removed or weakened: phone" in w for w in back["widens"])
    assert WHOLE_PHONE[-4:] not in phone(hub, ada)  # not in force
    step, who, detail = changes(hub)[-1]
    assert (step, who, detail["awaiting_approval"]) == ("rollback", "user:ada", True)
    refused = gql(hub, ada, APPROVE, name="steward", v=v + 1, reason="me")
    assert "another steward must approve it" in refused["errors"][0]["message"]

    ok(gql(hub, bert, APPROVE, name="steward", v=v + 1, reason="agreed"))
    assert phone(hub, ada) == WHOLE_PHONE


def test_a_new_policy_of_ones_own_awaits_approval(hub: Hub) -> None:
    """Attack: rather than change the stewards' policy, a steward writes a new policy for
    their own user (more specific, so it would win) with personal clearance."""
    bert, cleo = steward(hub, "bert"), steward(hub, "cleo")
    ok(gql(hub, bert, DRAFT, doc=PHONES_OFF, reason="tighten"))  # ada's grant narrowed again
    name = "steward"
    latest = hub.app.state.policy_workflow.versions(name)[-1].version
    ok(gql(hub, bert, PUBLISH, name=name, v=latest, reason="tighten"))
    assert WHOLE_PHONE[-4:] not in phone(hub, cleo)

    mine = 'name = "cleo-only"\nsubject = "user:cleo"\nclearance = "personal"\n[types."*"]\n'
    v = ok(gql(hub, cleo, DRAFT, doc=mine, reason="mine"))["policyDraft"]["version"]
    held = ok(gql(hub, cleo, PUBLISH, name="cleo-only", v=v, reason="go"))["policyPublish"]
    assert held["status"] == "pending" and held["widens"] == ["new policy for user:cleo"]
    assert WHOLE_PHONE[-4:] not in phone(hub, cleo)
    refused = gql(hub, cleo, APPROVE, name="cleo-only", v=v, reason="me")
    assert "another steward must approve it" in refused["errors"][0]["message"]


@pytest.mark.parametrize(
    ("before", "after", "widens"),
    [
        # disguised widenings
        (
            '[types.A]\nrow_filter = "record.s == principal.s"',
            '[types.A]\nrow_filter = "record.s == principal.s or True"',
            True,
        ),
        ('[types.A]\nrow_filter = "record.s == principal.s"', "[types.A]", True),
        ('[types.A]\nfields = ["a"]', '[types.A]\nfields = ["a", "phone"]', True),
        ('[types.A]\nfields = ["a"]', '[types.A]\nfields = ["*"]', True),
        ('[types.A]\nfields = ["a"]', '[types.A]\nfields = ["a"]\n[types."*"]', True),
        ('[types.A]\nfields = ["a"]\n[types."*"]', '[types."*"]', True),
        ("[types.A]", '[types.A]\nreveal = ["phone"]', True),
        ('[types.A]\nmasks = { phone = "redact" }', '[types.A]\nmasks = { phone = "phone" }', True),
        ('[types.A]\nmasks = { phone = "phone" }', "[types.A]", True),
        ("[types.A]\naggregate_only = true", "[types.A]", True),
        ('[types.A]\npurpose = ["x"]', "[types.A]", True),
        ('[types.A]\npurpose = ["x"]', '[types.A]\npurpose = ["x", "y"]', True),
        ("[types.A]\nrate_limit = 10", "[types.A]\nrate_limit = 11", True),
        ("[types.A]\nrate_limit = 10", "[types.A]", True),
        (
            'principals = { "user:x" = { s = "a" } }\n[types.A]',
            'principals = { "user:x" = { s = "b" } }\n[types.A]',
            True,
        ),
        ('clearance = "internal"\n[types.A]', 'clearance = "sensitive"\n[types.A]', True),
        # narrowings (and no change)
        ("[types.A]", '[types.A]\nrow_filter = "record.s == 1"', False),
        (
            '[types.A]\nrow_filter = "record.s == 1"',
            '[types.A]\nrow_filter = "(record.s == 1) and record.t > 2"',
            False,
        ),
        ('[types.A]\nfields = ["*"]', '[types.A]\nfields = ["a"]', False),
        ("[types.A]", '[types.A]\nmasks = { phone = "phone" }', False),
        (
            '[types.A]\nmasks = { phone = "phone" }',
            '[types.A]\nmasks = { phone = "redact" }',
            False,
        ),
        ('[types.A]\nreveal = ["phone"]', "[types.A]", False),
        ("[types.A]", "[types.A]\naggregate_only = true", False),
        (
            "[types.A]\naggregate_only = true",
            '[types.A]\naggregate_only = true\nreveal = ["x"]',
            False,
        ),
        ("[types.A]", '[types.A]\npurpose = ["x"]', False),
        ("[types.A]\nrate_limit = 10", "[types.A]\nrate_limit = 5", False),
        ('[types.A]\n[types."*"]', "[types.A]", False),
        ('clearance = "sensitive"\n[types.A]', 'clearance = "internal"\n[types.A]', False),
        ("[types.A]", 'description = "reworded"\n[types.A]', False),
    ],
)
def test_a_widening_dressed_as_a_narrowing_is_caught(before: str, after: str, widens: bool) -> None:
    """Attack: a steward slips a widening past four eyes by making it look harmless (an
    `or True` in a filter, a weaker mask, a new `*` rule); every such change is widening."""
    head = 'name = "p"\nsubject = "role:r"\n'
    old, new = parse_document(head + before), parse_document(head + after)
    assert bool(widening(old, new)) is widens, widening(old, new)


def test_the_cli_path_needs_a_second_steward_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Attack: the steward uses `cityhub policy` instead of GraphQL — publishing their
    widening change, approving it as themselves, naming a colleague without their
    password, or loading a new policy file as a 'seed'."""
    monkeypatch.setenv("CITYHUB_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("CITYHUB_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")  # tables unwrapped
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'cityhub.db'}")
    store.migrate()
    store.upsert(small_city())
    accounts = AccountStore(store.engine)
    accounts.create_user("sam", "sam-pw-123456", "steward")
    accounts.create_user("sue", "sue-pw-123456", "steward")
    store.close()
    run = CliRunner().invoke
    assert "loaded 6 policies" in run(cli, ["policy", "load"]).output  # seeds: no approval
    doc = tmp_path / "steward.toml"
    doc.write_text(FULL_CLEARANCE)
    assert (
        run(cli, ["policy", "draft", str(doc), "--steward", "sam", "--reason", "x"]).exit_code == 0
    )
    published = run(cli, ["policy", "publish", "steward", "2", "--steward", "sam", "--reason", "x"])
    assert published.exit_code == 0 and "pending" in published.output
    assert "clearance rises" in published.output

    approve = ["policy", "approve", "steward", "2", "--reason", "ok", "--steward"]
    own = run(cli, [*approve, "sam"], input="sam-pw-123456\n")
    assert own.exit_code != 0 and "another steward must approve it" in str(own.exception)
    forged = run(cli, [*approve, "sue"], input="guess\n")
    assert forged.exit_code != 0 and "wrong password" in str(forged.exception)
    listed = run(cli, ["policy", "list", "steward"]).output
    assert "pending" in listed and "published" in listed  # v1 still in force

    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "mine.toml").write_text(
        'name = "sam-only"\nsubject = "user:sam"\nclearance = "personal"\n[types."*"]\n'
    )
    anonymous = run(cli, ["policy", "load", "--folder", str(extra)])
    assert anonymous.exit_code != 0 and "loaded by a steward" in str(anonymous.exception)
    loaded = run(cli, ["policy", "load", "--folder", str(extra), "--steward", "sam"])
    assert loaded.exit_code == 0 and "sam-only (pending)" in loaded.output

    done = run(cli, [*approve, "sue"], input="sue-pw-123456\n")
    assert done.exit_code == 0 and "approved by user:sue and published" in done.output
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'cityhub.db'}")
    try:
        entries = AuditLog(store.engine).page(first=50, action="policy.change")[0]
        last = entries[0].entry["detail"]
        assert (entries[0].principal, last["step"], last["author"]) == (
            "user:sue",
            "approve",
            "user:sam",
        )
        left = run(cli, ["policy", "pending"]).output
        assert "sam-only" in left and "new policy for user:sam" in left
    finally:
        store.close()
