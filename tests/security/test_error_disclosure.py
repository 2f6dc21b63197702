"""Item 16 — what error messages reveal: a mutation on a row outside the caller's row filter
answers exactly as on a row that does not exist; "did you mean" hints only for clients that
may see the schema (graph:introspect); ``_service { sdl }`` only with graph:federate, however
the document is dressed up. Real tokens, real HTTP (and the real subscription socket)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.policy.workflow import PolicyWorkflow
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.security.conftest import Hub

OWN, OTHER = "东街道", "西街道"
WHEN = datetime(2026, 6, 1, tzinfo=UTC)
MISSING = "NO-SUCH-ROW-0001"


def case(key: str, street: str, status: str, **extra: Any) -> Record:
    attrs: dict[str, Any] = {
        "channel": "12345热线",
        "loop_status": status,
        "status": status,
        "street": street,
        "grid_cell": "BH-T-000",
        "category": "C08",
        "handling_department": "区城市管理委员会",
        "reported_at": WHEN.isoformat(),
        "due_at": (WHEN + timedelta(days=3)).isoformat(),
        "history": [],
    } | extra
    return Record(
        kind="ServiceCase",
        key=key,
        source_system="cityhub",
        source_id=key,
        fetched_at=WHEN,
        attrs=attrs,
        geometry={"type": "Point", "coordinates": [117.705, 39.005]},
        datum="GCJ-02",
    )


def rows() -> list[Record]:
    """Closed cases and a closed enterprise request on both streets, an application decided
    in its own system and an inspector of the other street."""
    return [
        case("CASE-OWN-1", OWN, "closed"),
        case("CASE-OTHER-1", OTHER, "closed"),
        case("REQ-OTHER-1", OTHER, "closed", channel="双万双服企业服务平台"),
        Record(
            kind="ServiceApplication",
            key="APP-OTHER-1",
            source_system="gov-approval",
            source_id="a1",
            fetched_at=WHEN,
            attrs={"status": "办结", "street": OTHER, "item": "SI-1"},
        ),
        Record(
            kind="Inspector",
            key="INS-OTHER-1",
            source_system="grid-management",
            source_id="i-o",
            fetched_at=WHEN,
            attrs={
                "name": "欧阳明华",
                "street": OTHER,
                "on_duty": True,
                "duty_categories": ["C08"],
                "grid_cell": "BH-T-004",
            },
            geometry={"type": "Point", "coordinates": [117.745, 39.005]},
            datum="GCJ-02",
        ),
    ]


def publish(workflow: PolicyWorkflow, source: str) -> None:
    draft = workflow.draft(source, author="user:test-steward", reason="disclosure test")
    done = workflow.publish(draft.name, draft.version, author="user:test-steward", reason="t")
    if done.status != "published":  # four eyes: a second steward approves
        workflow.approve(  # type: ignore[attr-defined]
            draft.name, draft.version, approver="user:second-steward", reason="t"
        )


def street_policy(hub: Hub, name: str, subject: str) -> None:
    """A policy that limits ``subject``'s cases, applications and inspectors to its street
    (it may take any step its roles allow on the rows it reads)."""
    filtered = "\n".join(
        f'[types.{t}]\nfields = ["*"]\nrow_filter = "record.street == principal.street"\n'
        'write = { steps = ["*"] }\n'
        for t in ("ServiceCase", "ServiceApplication", "Inspector")
    )
    publish(
        hub.app.state.policy_workflow,
        f"""name = "{name}"
subject = "{subject}"
clearance = "sensitive"
principals = {{ "{subject}" = {{ street = "{OWN}" }} }}

[types."*"]
fields = ["*"]

{filtered}""",
    )


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    hub.app.state.store.upsert(rows())
    client_id, secret = register_client(
        hub.app, "east-department", role="department", scopes=["graph:read"]
    )
    street_policy(hub, "east-department", f"client:{client_id}")
    street_policy(hub, "east-operator", "user:east-operator")  # operators are people
    return {
        "department": fetch_token(hub.http, client_id, secret),
        "operator": person_token(hub.http, hub.app, "east-operator", "operator", "graph:read"),
    }


def error(hub: Hub, token: str, query: str) -> str:
    body = hub.http.post("/graphql", json={"query": query}, headers=bearer(token)).json()
    assert body.get("errors"), body
    return str(body["errors"][0]["message"])


# (who, mutation with {key} for the row's key, the hidden row's key)
STEPS = [
    ("department", 'resolveCase(caseId: "{key}", result: "done") {{ id }}', "CASE-OTHER-1"),
    ("department", 'startHandlingCase(caseId: "{key}") {{ id }}', "CASE-OTHER-1"),
    ("operator", 'transferCase(caseId: "{key}", department: "区水务局") {{ id }}', "CASE-OTHER-1"),
    ("operator", 'closeCase(caseId: "{key}") {{ id }}', "CASE-OTHER-1"),
    (
        "operator",
        'moveInspector(inspectorId: "{key}", lon: 117.705, lat: 39.005) {{ id }}',
        "INS-OTHER-1",
    ),
    ("department", 'startEnterpriseRequest(key: "{key}") {{ key }}', "REQ-OTHER-1"),
    ("department", 'approveApplication(key: "{key}") {{ key }}', "APP-OTHER-1"),
]


@pytest.mark.parametrize(("who", "mutation", "hidden"), STEPS)
def test_a_step_on_a_row_outside_the_row_filter_reads_as_not_found(
    hub: Hub, tokens: dict[str, str], who: str, mutation: str, hidden: str
) -> None:
    """Attack: probing rows one cannot read through the mutations' refusals. A department (or
    operator) limited to its own street names a case, request, application or inspector of
    another street: "case … is closed", "handled in its own system (…)", or a success, would
    tell that it exists and what state it is in. It must get the very text a row that does
    not exist gets."""
    token = tokens[who]
    on_hidden = error(hub, token, "mutation { " + mutation.format(key=hidden) + " }")
    on_missing = error(hub, token, "mutation { " + mutation.format(key=MISSING) + " }")
    assert on_hidden.replace(hidden, "KEY") == on_missing.replace(MISSING, "KEY")
    for telltale in ("closed", "已结案", "办结", "gov-approval", "own system", OTHER):
        assert telltale not in on_hidden


def test_the_rules_still_speak_of_rows_the_caller_may_see(hub: Hub, tokens: dict[str, str]) -> None:
    """Control for the test above: on a case of its own street the department still hears
    why a step is refused (the check hides rows, not the rules)."""
    said = error(
        hub,
        tokens["department"],
        'mutation { resolveCase(caseId: "CASE-OWN-1", result: "done") { id } }',
    )
    assert "CASE-OWN-1 is closed" in said


# -- did you mean --------------------------------------------------------------------------

# typo -> the real name a hint would give away
TYPOS = {
    "{ gridCel(first: 1) { edges { node { code } } } }": "'gridCells'",
    "{ gridCells(frist: 1) { edges { node { code } } } }": "'first'",
    "query { ...F } fragment F on GridCel { code }": "'GridCell'",
    "{ serviceCases(filter: {statsu: [FILED]}) { totalCount } }": "'status'",
}
SUBSCRIPTION_TYPO = "subscription { alarmz { kind } }"
VARIABLE_TYPO = (
    "query($f: CaseFilterInput) { serviceCases(filter: $f) { totalCount } }",
    {"f": {"statsu": ["FILED"]}},
)


@contextmanager
def socket(hub: Hub, token: str) -> Iterator[Any]:
    """A graphql-transport-ws socket, signed in with ``token``."""
    with hub.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        yield ws


def messages(hub: Hub, token: str, query: str, variables: Any = None) -> str:
    body = hub.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
    ).json()
    assert body.get("errors"), body
    return " ".join(str(e["message"]) for e in body["errors"])


def test_no_did_you_mean_without_graph_introspect(hub: Hub) -> None:
    """Attack: schema discovery by typos. Introspection is refused without graph:introspect,
    but graphql-core's errors name the nearest real field, argument, type or input field
    ("Did you mean 'gridCells'?"), so a client can spell its way through the hidden schema.
    Without the scope the hints are gone (validation and variable errors alike, over HTTP
    and over the subscription socket); with it they stay."""
    plain_id, plain_secret = register_client(hub.app, "typo-plain", scopes=["graph:read"])
    plain = fetch_token(hub.http, plain_id, plain_secret)
    seer_id, seer_secret = register_client(
        hub.app, "typo-seer", scopes=["graph:read", "graph:introspect"]
    )
    seer = fetch_token(hub.http, seer_id, seer_secret)
    for query, real in TYPOS.items():
        hidden = messages(hub, plain, query)
        shown = messages(hub, seer, query)
        assert "Did you mean" in shown and real in shown, shown
        assert "Did you mean" not in hidden and real not in hidden, hidden
    hidden = messages(hub, plain, *VARIABLE_TYPO)
    assert "Did you mean" in messages(hub, seer, *VARIABLE_TYPO)
    assert "Did you mean" not in hidden and "'status'" not in hidden, hidden
    # and over the subscription socket, where each result is sent before the operation ends
    for token, hinted in ((plain, False), (seer, True)):
        with socket(hub, token) as ws:
            ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIPTION_TYPO}})
            said = str(ws.receive_json()["payload"])
        assert ("Did you mean 'alarms'" in said) is hinted, said


# -- _service { sdl } ----------------------------------------------------------------------

SDL_TRICKS = {
    "plain": ("{ _service { sdl } }", None, None),
    "alias": ("{ schema: _service { text: sdl } }", None, None),
    "fragment": (
        "query { ...S } fragment S on Query { _service { ...D } } fragment D on _Service { sdl }",
        None,
        None,
    ),
    "inline fragment": ("{ __typename ... on Query { _service { sdl } } }", None, None),
    "variables": (
        "query($no: Boolean!) { _service @skip(if: $no) { sdl } }",
        {"no": False},
        None,
    ),
    "another operation": ("query A { __typename } query B { _service { sdl } }", None, "B"),
    "__typename only": ("{ _service { __typename } }", None, None),
    "entities typename": ("{ _entities(representations: []) { __typename } }", None, None),
}


@pytest.mark.parametrize("trick", sorted(SDL_TRICKS))
def test_service_sdl_needs_graph_federate(hub: Hub, trick: str) -> None:
    """Attack: reading the whole schema through the federation field ``_service { sdl }``
    without graph:federate — plainly, under an alias, in nested fragments, behind a variable
    @skip, in the other operation of the document, or asking only __typename. Each is refused
    before execution, over HTTP and over the subscription socket; a gateway's client with
    the scope reads the SDL (control)."""
    query, variables, operation = SDL_TRICKS[trick]
    client_id, secret = register_client(
        hub.app, f"sdl-{trick.replace(' ', '-')}", scopes=["graph:read", "graph:introspect"]
    )
    token = fetch_token(hub.http, client_id, secret)
    payload = {"query": query, "variables": variables, "operationName": operation}
    body = hub.http.post("/graphql", json=payload, headers=bearer(token)).json()
    assert body.get("errors") and body.get("data") is None, body
    assert body["errors"][0]["extensions"]["code"] == "insufficient_scope", body
    assert "type Query" not in str(body)

    with socket(hub, token) as ws:
        ws.send_json({"type": "subscribe", "id": "1", "payload": payload})
        got = ws.receive_json()
        assert got["type"] == "error" or got["payload"].get("errors"), got
        assert "type Query" not in str(got)

    gateway_id, gateway_secret = register_client(
        hub.app, f"gateway-{trick.replace(' ', '-')}", scopes=["graph:read", "graph:federate"]
    )
    gateway = fetch_token(hub.http, gateway_id, gateway_secret)
    if trick == "plain":
        sdl = hub.http.post("/graphql", json=payload, headers=bearer(gateway)).json()
        assert "type Query" in sdl["data"]["_service"]["sdl"]
