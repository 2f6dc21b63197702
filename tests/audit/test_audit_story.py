"""The audit tells the whole story (issue 15 item 8), end to end over HTTP and WebSocket with
real tokens: each kind of refusal leaves one ``request.refused`` entry with its reason; reads
of cases, enforcement cases, economy firms, search hits and aggregates list the ids (or the
groups) they served; a subscription's streamed ids are logged; photo downloads, token issuance
and failed sign-ins are on record; the chain verifies after all of it, and no entry holds a
planted personal value, a token or query text.

Runs on a copy of the demo city with the law-enforcement and economic-statistics systems'
records added, and the 随手拍 report of a planted reporter."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from hub.app import create_app
from hub.apps import citizen_app, citizen_service, economy, gov_services, law_enforcement, live
from hub.audit import AuditEntry, AuditLog
from hub.audit.refusals import REFUSED
from hub.config import load_settings
from hub.search import document, open_search
from hub.store import RecordStore
from tests.apps.citizen_app.test_citizen_app import PHOTOS, jpeg
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.demo_copy import copy_of, extra_records
from tests.policy_helpers import publish_approved

PROTOCOL = "graphql-transport-ws"
# 1 + 2 * 7 levels, past the default depth of 12
DEEP = (
    '{ node(id: "x") { ... on Entity { '
    + "relations { other { " * 7
    + "key"
    + " } } " * 7
    + "} } }"
)
# planted in the report: none of it may reach the log
REPORTER = "欧阳审计"
PHONE = "13912344321"
ADDRESS = "滨海新区审计路88号3单元502室"
SECRET_PASSWORD = "wrong-pw-Zq81x"


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore

    @property
    def log(self) -> AuditLog:
        log: AuditLog = self.app.state.audit
        return log

    def mark(self) -> int:
        return self.log.head()[0]

    def since(self, mark: int, action: str | None = None) -> list[AuditEntry]:
        entries, _, _ = self.log.page(first=500, action=action)
        return sorted((e for e in entries if e.seq > mark), key=lambda e: e.seq)

    def post(self, token: str | None, query: str, **variables: Any) -> Any:
        headers = bearer(token) if token else {}
        return self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )

    def ok(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        body = self.post(token, query, **variables).json()
        assert "errors" not in body, body
        return dict(body["data"])


@pytest.fixture(scope="module")
def hub(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("audit-story")
    store = copy_of(demo_store, folder)
    store.upsert(extra_records(demo_dir, "law-enforcement", "economic-stats"))
    search = open_search(f"sqlite:///{folder / 'search.db'}")
    news = store.page("NewsItem", after=None, limit=100_000)
    search.index(d for r in news if (d := document(r)) is not None)
    apps = [
        live.APP,
        citizen_service.APP,
        gov_services.APP,
        citizen_app.APP,
        law_enforcement.APP,
        economy.APP,
    ]
    app = create_app(load_settings(data_dir=folder), store=store, search=search, apps=apps)
    with TestClient(app) as http:
        yield Hub(app, http, store)
    store.close()


@pytest.fixture(scope="module")
def operator(hub: Hub) -> str:
    return person_token(hub.http, hub.app, "audit-olga", "operator", "graph:read")


@pytest.fixture(scope="module")
def counts_only(hub: Hub) -> str:
    """A partner client whose policy serves every type as counts only."""
    client_id, secret = register_client(hub.app, "audit-counts", role="partner")
    workflow = hub.app.state.policy_workflow
    source = (
        f'name = "audit-counts"\nsubject = "client:{client_id}"\nclearance = "internal"\n'
        '[types."*"]\naggregate_only = true\n'
    )
    draft = workflow.draft(source, author="user:test", reason="counts only")
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    return fetch_token(hub.http, client_id, secret)


@pytest.fixture(scope="module")
def filed(hub: Hub, operator: str) -> dict[str, str]:
    """A 随手拍 report with a planted reporter, phone and address, and its photo."""
    sent = hub.http.post(
        PHOTOS, files={"photo": ("a.jpg", jpeg(), "image/jpeg")}, headers=bearer(operator)
    )
    assert sent.status_code == 201, sent.text
    photo = sent.json()["id"]
    cell = hub.store.get("GridCell", "BH-TAIDA-010")
    assert cell is not None
    inspector = hub.store.get("Inspector", cell.attrs["inspector"])
    assert inspector is not None and inspector.geometry is not None
    lon, lat = inspector.geometry["coordinates"]
    snap = """mutation($input: SnapReportInput!) { snapReport(input: $input)
      { trackingNumber } }"""
    receipt = hub.ok(
        operator,
        snap,
        input={
            "description": f"井盖丢了，在{ADDRESS}门口，联系{PHONE}",
            "photoIds": [photo],
            "lon": lon + 0.0004,
            "lat": lat,
            "reporterName": REPORTER,
            "reporterPhone": PHONE,
        },
    )["snapReport"]
    number = receipt["trackingNumber"]
    return {"photo": photo, "number": number, "case": number.rpartition("-")[0]}


# -- refusals ------------------------------------------------------------------------------


def refusals_of(hub: Hub, mark: int) -> list[dict[str, Any]]:
    return [e.entry for e in hub.since(mark, REFUSED)]


def one_refusal(hub: Hub, mark: int, reason: str, status: int) -> dict[str, Any]:
    found = refusals_of(hub, mark)
    assert len(found) == 1, found
    detail = dict(found[0]["detail"])
    assert (detail["reason"], detail["status"]) == (reason, status), detail
    return found[0]


def test_every_kind_of_refusal_leaves_one_entry_with_its_reason(hub: Hub) -> None:
    query = "{ gridCells(first: 1) { totalCount } }"
    cases: list[tuple[str, int, dict[str, str], bytes]] = []
    body = json.dumps({"query": query}).encode()
    cases.append(("missing_token", 401, {}, body))
    cases.append(("invalid_request", 401, {"Authorization": "Basic eDp5"}, body))
    forged = "eyJhbGciOiJFUzI1NiIsImtpZCI6Im5vIn0.eyJzdWIiOiJ4In0.c2ln"
    cases.append(("invalid_token", 401, bearer(forged), body))
    headers = {"content-type": "application/json"}
    for reason, status, extra, payload in cases:
        mark = hub.mark()
        answer = hub.http.post("/graphql", content=payload, headers=headers | extra)
        assert answer.status_code == status, answer.text
        entry = one_refusal(hub, mark, reason, status)
        assert entry["principal"] is None and entry["detail"]["path"] == "/graphql"
        assert forged not in json.dumps(entry)

    # a token without graph:read: 403, and the entry names whose token it was
    client_id, secret = register_client(hub.app, "audit-noscope", scopes=["graph:introspect"])
    lacking = fetch_token(hub.http, client_id, secret)
    mark = hub.mark()
    assert hub.post(lacking, query).status_code == 403
    entry = one_refusal(hub, mark, "insufficient_scope", 403)
    assert entry["client_id"] == client_id and entry["detail"]["scope"] == "graph:read"

    # the rate: two a minute, the third is refused with the limit it met
    client_id, secret = register_client(hub.app, "audit-rate", rate_per_minute=2)
    limited = fetch_token(hub.http, client_id, secret)
    mark = hub.mark()
    answers = [hub.post(limited, query).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    entry = one_refusal(hub, mark, "rate_limited", 429)
    assert entry["detail"]["limit"] == 2 and entry["detail"]["bucket"] == "client"
    assert entry["client_id"] == client_id

    client_id, secret = register_client(
        hub.app, "audit-small", cost_budget=50, scopes=["graph:read"]
    )
    small = fetch_token(hub.http, client_id, secret)
    big = "x" * (hub.app.state.auth.settings.max_body_bytes + 10)
    before_execution = [
        ("validation", "{ gridCells(first: 1) { noSuchField } }", small),
        ("parse", "{ gridCells(first: 1) { ", small),
        ("cost_limit", "{ gridCells(first: 500) { edges { node { code } } } }", small),
        ("insufficient_scope", "{ __schema { types { name } } }", small),
        ("depth_limit", DEEP, small),
    ]
    for reason, text, token in before_execution:
        mark = hub.mark()
        answer = hub.post(token, text)
        assert answer.json().get("errors"), answer.text
        entry = one_refusal(hub, mark, reason, 400)
        assert text not in json.dumps(entry, ensure_ascii=False)
        assert not hub.since(mark, "graphql.read")  # it never ran
    # the cost refusal names the budget it exceeded
    mark = hub.mark()
    hub.post(small, before_execution[2][1])
    assert one_refusal(hub, mark, "cost_limit", 400)["detail"]["budget"] == 50

    # a body too large, and one that is not JSON
    mark = hub.mark()
    answer = hub.http.post(
        "/graphql", content=json.dumps({"query": big}), headers=bearer(small) | headers
    )
    assert answer.status_code == 413
    one_refusal(hub, mark, "body_too_large", 413)  # by its declared length, before the token
    mark = hub.mark()
    answer = hub.http.post("/graphql", content=b"{not json", headers=bearer(small) | headers)
    assert answer.status_code == 400
    one_refusal(hub, mark, "bad_request", 400)

    # the apps' own routes refuse through the same gate, with the same entry
    mark = hub.mark()
    assert hub.http.get(f"{PHOTOS}/{'0' * 64}").status_code == 401
    entry = one_refusal(hub, mark, "missing_token", 401)
    assert entry["detail"]["path"] == f"{PHOTOS}/{'0' * 64}"


def test_a_429_flood_is_bounded_per_principal_when_configured(hub: Hub) -> None:
    """CITYHUB_AUTH_AUDIT_RATE_REFUSALS_PER_MINUTE=2, set on the running hub's sampler (the one
    the gate holds) with a clock the test moves: two rate refusals a minute are logged, the
    rest counted into the principal's next logged one."""
    sampler = hub.app.state.auth.refusals
    now = [1000.0]
    sampler.per_minute, sampler.clock = 2, lambda: now[0]
    try:
        client_id, secret = register_client(hub.app, "audit-flood", rate_per_minute=1)
        token = fetch_token(hub.http, client_id, secret)
        query = "{ gridCells(first: 1) { totalCount } }"
        mark = hub.mark()
        answers = [hub.post(token, query).status_code for _ in range(6)]
        assert answers == [200] + [429] * 5
        logged = refusals_of(hub, mark)
        assert len(logged) == 2 and all("suppressed" not in e["detail"] for e in logged)
        now[0] += 61  # the next minute: the three not logged are counted into the next entry
        mark = hub.mark()
        assert hub.post(token, query).status_code == 429
        assert one_refusal(hub, mark, "rate_limited", 429)["detail"]["suppressed"] == 3
    finally:
        sampler.per_minute, sampler.clock = 0, time.monotonic


def test_the_policy_refusing_rows_is_on_record_with_its_reason(
    hub: Hub, counts_only: str, filed: dict[str, str]
) -> None:
    mark = hub.mark()
    answer = hub.post(counts_only, "{ serviceCases(first: 5) { edges { node { id } } } }")
    assert answer.json()["errors"]
    reads = [e.entry for e in hub.since(mark, "graphql.read")]
    assert len(reads) == 1 and reads[0]["ids"] == {}
    assert any("counts only" in why for why in reads[0]["detail"]["denied"])


# -- what reads served ---------------------------------------------------------------------


def served(hub: Hub, mark: int) -> dict[str, list[str]]:
    reads = [e.entry for e in hub.since(mark, "graphql.read")]
    assert len(reads) == 1, reads
    return dict(reads[0]["ids"])


def test_reads_list_the_ids_they_served(hub: Hub, operator: str, filed: dict[str, str]) -> None:
    mark = hub.mark()
    data = hub.ok(operator, "{ serviceCases(first: 5) { edges { node { id status } } } }")
    shown = {e["node"]["id"] for e in data["serviceCases"]["edges"]}
    assert shown and set(served(hub, mark)["ServiceCase"]) == shown

    mark = hub.mark()
    one = hub.ok(operator, "query($id: ID!) { serviceCase(id: $id) { id reporterPhone } }",
                 id=filed["case"])  # fmt: skip
    assert one["serviceCase"]["reporterPhone"] != PHONE  # masked for the operator
    entry = next(e.entry for e in hub.since(mark, "graphql.read"))
    assert entry["ids"] == {"ServiceCase": [filed["case"]]}
    assert "ServiceCase.reporterPhone" in entry["fields_masked"]

    mark = hub.mark()
    data = hub.ok(operator, "{ enforcementCases(first: 4) { edges { node { key status } } } }")
    shown = {e["node"]["key"] for e in data["enforcementCases"]["edges"]}
    assert len(shown) == 4 and set(served(hub, mark)["EnforcementCase"]) == shown

    mark = hub.mark()
    data = hub.ok(operator, "{ economyFirms(first: 3) { edges { node { key name } } } }")
    shown = {e["node"]["key"] for e in data["economyFirms"]["edges"]}
    assert len(shown) == 3 and set(served(hub, mark)["EconomyFirm"]) == shown

    mark = hub.mark()
    data = hub.ok(operator, '{ search(query: "滨海", first: 4) { edges { node { kind key } } } }')
    hits = [e["node"] for e in data["search"]["edges"]]
    assert hits
    ids = served(hub, mark)
    for hit in hits:
        assert hit["key"] in ids[hit["kind"]]


def test_a_progress_lookup_names_its_case_and_never_the_number(
    hub: Hub, operator: str, filed: dict[str, str]
) -> None:
    lookup = "query($n: String!) { snapProgress(trackingNumber: $n) { status } }"
    mark = hub.mark()
    hub.ok(operator, lookup, n=filed["number"])
    assert served(hub, mark) == {"SnapProgress": [filed["case"]]}
    guessed = filed["case"] + "-AAAAAAAAAAAAAAAA"
    mark = hub.mark()
    assert hub.post(operator, lookup, n=guessed).json()["errors"]
    assert served(hub, mark) == {}  # nothing served, and the guess is not kept
    assert "AAAAAAAAAAAAAAAA" not in json.dumps([e.entry for e in hub.since(mark)])


def test_an_aggregate_lists_the_groups_it_served(
    hub: Hub, operator: str, filed: dict[str, str]
) -> None:
    mark = hub.mark()
    data = hub.ok(operator, "{ serviceCaseStats { total byCategory { key total } } }")
    groups = {b["key"] for b in data["serviceCaseStats"]["byCategory"]}
    assert groups and set(served(hub, mark)["CaseBucket"]) == groups


# -- subscriptions -------------------------------------------------------------------------


def test_a_subscription_logs_the_ids_it_streamed(
    hub: Hub, operator: str, filed: dict[str, str]
) -> None:
    case = filed["case"]
    mark = hub.mark()
    with hub.http.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {operator}"}}
        )
        assert ws.receive_json()["type"] == "connection_ack"
        query = "subscription($id: ID) { caseUpdates(caseId: $id) { caseId status } }"
        ws.send_json(
            {"type": "subscribe", "id": "u", "payload": {"query": query, "variables": {"id": case}}}
        )
        time.sleep(0.3)  # let the subscription listen before the step
        hub.ok(operator, f'mutation {{ verifyCase(caseId: "{case}") {{ id }} }}')
        got = ws.receive_json()
        assert got["type"] == "next" and got["payload"]["data"]["caseUpdates"]["caseId"] == case
        ws.send_json({"type": "complete", "id": "u"})
        time.sleep(0.3)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not hub.since(mark, "graphql.stream"):
        time.sleep(0.05)
    streams = [e.entry for e in hub.since(mark, "graphql.stream")]
    assert len(streams) == 1, streams
    assert streams[0]["ids"] == {"ServiceCase": [case]}
    assert streams[0]["detail"]["events"] == 1 and streams[0]["detail"]["ended"] is True
    assert streams[0]["principal"] == "user:audit-olga"


def test_socket_refusals_are_on_record(hub: Hub) -> None:
    mark = hub.mark()
    with hub.http.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403
    entry = one_refusal(hub, mark, "invalid_token", 4403)
    assert entry["detail"]["path"] == "ws:/graphql"

    client_id, secret = register_client(hub.app, "audit-ws-rate", rate_per_minute=1)
    token = fetch_token(hub.http, client_id, secret)
    mark = hub.mark()
    with hub.http.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        for n in range(2):
            payload = {"query": "{ gridCells(first: 1) { totalCount } }"}
            ws.send_json({"type": "subscribe", "id": f"q{n}", "payload": payload})
            while ws.receive_json()["type"] not in {"complete", "error"}:
                pass
    entry = one_refusal(hub, mark, "rate_limited", 429)
    assert entry["detail"]["limit"] == 1 and entry["client_id"] == client_id

    # a message over the body limit closes the socket (4413), on record with the limit
    limit = hub.app.state.auth.settings.max_body_bytes
    mark = hub.mark()
    with hub.http.websocket_connect("/graphql", subprotocols=[PROTOCOL]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        payload = {"query": "{ gridCells(first: 1) { totalCount } }", "pad": "x" * limit}
        ws.send_json({"type": "subscribe", "id": "big", "payload": payload})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4413
    assert one_refusal(hub, mark, "body_too_large", 4413)["detail"]["limit"] == limit


# -- files, tokens, sign-ins ---------------------------------------------------------------


def test_a_photo_download_names_the_photo_and_its_case(
    hub: Hub, operator: str, filed: dict[str, str]
) -> None:
    mark = hub.mark()
    got = hub.http.get(f"{PHOTOS}/{filed['photo']}", headers=bearer(operator))
    assert got.status_code == 200
    reads = [e.entry for e in hub.since(mark, "photo.read")]
    assert len(reads) == 1
    assert reads[0]["ids"]["SnapPhoto"] == [filed["photo"]]
    assert filed["case"] in reads[0]["ids"]["ServiceCase"]
    # an upload that is no photo: refused, on record with its reason
    mark = hub.mark()
    fake = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    sent = hub.http.post(
        PHOTOS, files={"photo": ("x.gif", fake, "image/gif")}, headers=bearer(operator)
    )
    assert sent.status_code == 415
    assert one_refusal(hub, mark, "photo_refused", 415)["principal"] == "user:audit-olga"


def test_token_issuance_is_logged_without_the_token(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "audit-issue")
    mark = hub.mark()
    token = fetch_token(hub.http, client_id, secret, scope="graph:read")
    issued = [e.entry for e in hub.since(mark, "token.issue")]
    assert len(issued) == 1
    detail = issued[0]["detail"]
    assert detail["client_id"] == client_id and detail["grant"] == "client_credentials"
    assert detail["scopes"] == ["graph:read"] and detail["subject"] == client_id
    text = json.dumps(issued[0])
    assert token not in text and secret not in text
    assert token.split(".")[2] not in text  # not even the signature
    # a grant the hub does not offer: 400, one refusal with OAuth's error code
    mark = hub.mark()
    refused = hub.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": REPORTER, "password": SECRET_PASSWORD},
        auth=(client_id, secret),
    )
    assert refused.status_code == 400
    entry = one_refusal(hub, mark, "unsupported_grant_type", 400)
    assert entry["detail"]["path"] == "/oauth/token"
    assert not hub.since(mark, "token.issue")


def test_failed_sign_ins_are_logged_with_a_known_login_only(hub: Hub, operator: str) -> None:
    # the operator exists (the fixture signed in through the form); a stranger does not
    page = hub.http.get(
        "/oauth/authorize",
        params={
            "response_type": "code",
            "client_id": "test-desk",
            "redirect_uri": "http://127.0.0.1:9999/callback",
            "scope": "graph:read",
            "state": "s",
            "code_challenge": "x" * 43,
            "code_challenge_method": "S256",
        },
    )
    assert page.status_code == 200
    import re

    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    mark = hub.mark()
    for username in ("audit-olga", PHONE):
        login = {"username": username, "password": SECRET_PASSWORD, "decision": "allow"}
        answer = hub.http.post("/oauth/authorize", data=hidden | login, follow_redirects=False)
        assert answer.status_code == 401
    failed = [e.entry["detail"] for e in hub.since(mark, "auth.login_failed")]
    assert [f["user"] for f in failed] == ["audit-olga", None]  # a typed phone is not kept
    assert SECRET_PASSWORD not in json.dumps(failed)


# -- the whole chain -----------------------------------------------------------------------


def test_the_chain_verifies_and_holds_no_planted_value(
    hub: Hub, operator: str, filed: dict[str, str]
) -> None:
    # progress lookups and reads of the planted case, then the whole log
    hub.ok(operator, "query($n: String!) { snapProgress(trackingNumber: $n) { status } }",
           n=filed["number"])  # fmt: skip
    hub.ok(
        operator,
        "query($id: ID!) { serviceCase(id: $id) { description address reporterName } }",
        id=filed["case"],
    )
    log = hub.log
    assert log.verify() >= 1
    entries, _, total = log.page(first=500)
    assert total <= 500
    text = json.dumps([e.entry for e in entries], ensure_ascii=False)
    for planted in (REPORTER, PHONE, ADDRESS, SECRET_PASSWORD, filed["number"], operator):
        assert planted not in text
    assert "snapProgress" not in text and "trackingNumber" not in text  # no query text
