"""Writes under the policy, end to end over HTTP with real tokens: a department limited to one
street and owning one department's cases, a department app with no write rule, a partner, a
partner viewer, an operator and a steward take (or try) the casework's steps on cases and
applications of two streets and three departments. A row the caller may not act on answers
exactly as a missing one, nothing is stored, the refusal is audited; a mutation's answer is
served under the read policy (masks), and a stale version is still a conflict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.apps.citizen_service as citizen_service
import hub.apps.finance as finance
import hub.apps.gov_services as gov_services
import hub.apps.live as live
from hub import tracking
from hub.app import create_app
from hub.audit.log import AuditLog
from hub.config import load_settings
from hub.policy.model import parse_document
from hub.policy.widening import widening
from hub.store import RecordStore
from hub.tracking import TRACKING_HASH
from schema.record import Record
from tests import auth_helpers
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.hub.city import WHEN
from tests.policy.conftest import EAST, two_streets
from tests.policy_helpers import department_policy, publish_source

WEST = "测试街道"
OWN = "东区城管局"
OTHER = "区水务局"
# personal values kept on the cases: never in a caller's answer unmasked
PHONES = {"CASE-E-OWN": "13700001111", "CASE-E-OTHER": "13700002222", "CASE-W-OWN": "13700003333"}
PHONES |= {"CASE-W-OTHER": "13700004444", "CASE-E-OWN2": "13700005555"}
CASES = {  # key -> (street, handling department)
    "CASE-E-OWN": (EAST, OWN),
    "CASE-E-OWN2": (EAST, OWN),
    "CASE-E-OTHER": (EAST, OTHER),
    "CASE-W-OWN": (WEST, OWN),
    "CASE-W-OTHER": (WEST, OTHER),
}
CASE_FIELDS = "id status department street version reporterName reporterPhone"
START = f"mutation($id: ID!) {{ startHandlingCase(caseId: $id) {{ {CASE_FIELDS} }} }}"
RESOLVE = (
    'mutation($id: ID!, $v: Int) { resolveCase(caseId: $id, result: "清理完毕", '
    f"expectedVersion: $v) {{ {CASE_FIELDS} }} }}"
)
DISPATCH = 'mutation($id: ID!) { dispatchCase(caseId: $id, department: "%s") { %s } }'
TRANSFER = 'mutation($id: ID!) { transferCase(caseId: $id, department: "%s") { %s } }'
ACCEPT = "mutation($key: String!) { acceptApplication(key: $key) { key status department } }"


def _case(key: str) -> Record:
    street, department = CASES[key]
    east = street == EAST
    return Record(
        kind="ServiceCase",
        key=key,
        source_system="hotline",
        source_id=key,
        fetched_at=WHEN,
        attrs={
            "channel": "12345便民服务热线",
            "title": "占道经营",
            "content": f"路口占道经营，请处理（{key}）",
            "category": "C03",
            "reporter": "欧阳秀英",
            "reporter_phone": PHONES[key],
            "address": "测试路8号3单元502室",
            "street": street,
            "grid_cell": "BH-E-000" if east else "BH-T-000",
            "reported_at": WHEN.isoformat(),
            "handling_department": department,
            "loop_status": "dispatched",
            "status": "已批转",
            "history": [],
        },
        geometry={"type": "Point", "coordinates": [117.805 if east else 117.705, 39.105]},
        datum="GCJ-02",
    )


def _application(key: str, department: str) -> Record:
    return Record(
        kind="ServiceApplication",
        key=key,
        source_system="cityhub",
        source_id=key,
        fetched_at=WHEN,
        attrs={
            "item": "ITEM-1",
            "item_name": "占道许可",
            "department": department,
            "applicant_name": "司马光明",
            "applicant_phone": "13912345678",
            "materials_uploaded": [],
            "materials_missing": [],
            "workflow_status": "submitted",
            "status": "已提交",
            "history": [],
        },
    )


ITEM = Record(
    kind="ServiceItem",
    key="ITEM-1",
    source_system="gov-services",
    source_id="ITEM-1",
    fetched_at=WHEN,
    attrs={"name": "占道许可", "department": OWN, "materials": [], "promised_time_limit_days": 5},
)


# the duty catalog the centre reads: one category and its sub-category
CATALOG = [
    Record(
        kind="DutyCategory",
        key="C03",
        source_system="grid-management",
        source_id="C03",
        fetched_at=WHEN,
        attrs={"name": "市容环境", "department": OWN},
    ),
    Record(
        kind="DutySubCategory",
        key="C0301",
        source_system="grid-management",
        source_id="C0301",
        fetched_at=WHEN,
        attrs={"name": "占道经营", "category": "C03", "time_limit_hours": 48},
    ),
]


@dataclass
class City:
    app: Starlette
    http: TestClient
    store: RecordStore

    def post(self, token: str, query: str, **variables: Any) -> tuple[dict[str, Any], str]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        assert answer.status_code == 200, answer.text
        body = dict(answer.json())  # scanned with JSON's \\uXXXX escapes undone
        return body, answer.text + json.dumps(body, ensure_ascii=False)

    def client(self, name: str, role: str) -> tuple[str, str]:
        """A client's id and a real token for it."""
        client_id, secret = register_client(self.app, name, role=role)
        return client_id, fetch_token(self.http, client_id, secret)

    def publish(self, source: str) -> None:
        publish_source(self.app.state.policy_workflow, source, "write policy test")

    def version(self, key: str, kind: str = "ServiceCase") -> int:
        record = self.store.get(kind, key)
        assert record is not None and record.version is not None
        return record.version


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    folder: Path = tmp_path_factory.mktemp("writes")
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.upsert([*two_streets(), *CATALOG, *(_case(k) for k in CASES), ITEM])
    store.upsert([_application("APP-OWN", OWN), _application("APP-OTHER", OTHER)])
    apps = [live.APP, citizen_service.APP, gov_services.APP, finance.APP]
    app = create_app(load_settings(data_dir=folder), store=store, apps=apps)
    with TestClient(app) as http:
        yield City(app, http, store)


@pytest.fixture(scope="module")
def east_dept(city: City) -> str:
    """The east street's city-management department's app."""
    client_id, token = city.client("east-chengguan", "department")
    city.publish(department_policy(client_id, OWN, EAST))
    return token


def _refused_as_missing(city: City, token: str, query: str, key: str) -> None:
    """The answer for ``key`` is, word for word, the answer for a key that does not exist;
    nothing is stored; the refusal is in the audit with the key."""
    before = city.version(key)
    body, text = city.post(token, query, id=key)
    missing, _ = city.post(token, query, id="CASE-NOPE")
    assert body["data"] is None
    message = body["errors"][0]["message"]
    assert message == missing["errors"][0]["message"].replace("CASE-NOPE", key)
    assert message == f"no ServiceCase with key {key!r}"
    assert city.version(key) == before
    assert PHONES[key] not in text and "欧阳" not in text and "502室" not in text
    entries, _, _ = AuditLog(city.store.engine).page(first=20, action="write.refused")
    assert any(e.entry["detail"].get("key") == key for e in entries)


def test_a_street_department_cannot_act_on_other_streets_or_departments(
    city: City, east_dept: str
) -> None:
    # another street's case (hidden by the read side), the own street's case of another
    # department (readable, not the department's to act on), another street's case of the
    # same department: each is "not found", unchanged, audited
    for key in ("CASE-W-OTHER", "CASE-E-OTHER", "CASE-W-OWN"):
        _refused_as_missing(city, east_dept, START, key)
        _refused_as_missing(city, east_dept, RESOLVE, key)
        _refused_as_missing(city, east_dept, DISPATCH % (OWN, CASE_FIELDS), key)
        _refused_as_missing(city, east_dept, TRANSFER % (OWN, CASE_FIELDS), key)
    # the east street's case of another department is still readable: only acting is refused
    seen, _ = city.post(east_dept, 'query { serviceCase(id: "CASE-E-OTHER") { id } }')
    assert seen["data"]["serviceCase"] == {"id": "CASE-E-OTHER"}
    hidden, _ = city.post(east_dept, 'query { serviceCase(id: "CASE-W-OTHER") { id } }')
    assert hidden["data"]["serviceCase"] is None


def test_a_department_acts_on_its_own_case_and_the_answer_is_masked(
    city: City, east_dept: str
) -> None:
    body, text = city.post(east_dept, START, id="CASE-E-OWN")
    assert "errors" not in body, body
    case = body["data"]["startHandlingCase"]
    assert case["status"] == "HANDLING" and case["department"] == OWN
    # the answer is served under the read policy: the reporter's phone and name masked
    assert case["reporterPhone"] != PHONES["CASE-E-OWN"] and "****" in case["reporterPhone"]
    assert case["reporterName"] != "欧阳秀英"
    assert PHONES["CASE-E-OWN"] not in text
    stored = city.store.get("ServiceCase", "CASE-E-OWN")
    assert stored is not None and stored.attrs["loop_status"] == "handling"
    # a stale version is still a conflict, nothing written
    version = city.version("CASE-E-OWN")
    stale, _ = city.post(east_dept, RESOLVE, id="CASE-E-OWN", v=version - 1)
    assert stale["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert city.version("CASE-E-OWN") == version
    done, _ = city.post(east_dept, RESOLVE, id="CASE-E-OWN", v=version)
    assert done["data"]["resolveCase"]["status"] == "RESOLVED"
    # transferring is not a department's step (its role; nor is it in its write rule)
    refused, _ = city.post(east_dept, TRANSFER % (OTHER, CASE_FIELDS), id="CASE-E-OWN2")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert city.store.get("ServiceCase", "CASE-E-OWN2").attrs["handling_department"] == OWN  # type: ignore[union-attr]


def test_a_hidden_case_with_a_stale_version_is_not_found_not_a_conflict(
    city: City, east_dept: str
) -> None:
    body, _ = city.post(east_dept, RESOLVE, id="CASE-W-OTHER", v=999)
    assert body["errors"][0]["message"] == "no ServiceCase with key 'CASE-W-OTHER'"


def test_a_department_app_without_a_write_rule_takes_no_step(city: City) -> None:
    client_id, token = city.client("east-readonly", "department")
    source = department_policy(client_id, OWN, EAST)
    source = "\n".join(line for line in source.splitlines() if not line.startswith("write ="))
    city.publish(source)
    before = city.version("CASE-E-OWN2")
    body, _ = city.post(token, START, id="CASE-E-OWN2")
    message = body["errors"][0]["message"]
    assert "start handling on ServiceCase is not a step" in message
    assert city.version("CASE-E-OWN2") == before
    entries, _, _ = AuditLog(city.store.engine).page(first=5, action="write.refused")
    assert entries[0].entry["detail"] == {
        "kind": "ServiceCase",
        "key": "CASE-E-OWN2",
        "step": "start_handling",
        "reason": "step not in the write rule",
    }


def test_partners_and_stewards_take_no_step(city: City) -> None:
    _, partner = city.client("some-partner", "partner")
    counts_id, demo = city.client("counts-partner", "partner")
    city.publish(
        f'name = "counts-partner"\nsubject = "client:{counts_id}"\n'
        '[types."*"]\naggregate_only = true\n'
    )
    viewer = auth_helpers.person_token(city.http, city.app, "vera", "partner-viewer", "graph:read")
    steward = auth_helpers.person_token(city.http, city.app, "stu", "steward", "graph:read")
    for token in (partner, demo, viewer, steward):
        for query in (START, DISPATCH % (OTHER, CASE_FIELDS)):
            before = city.version("CASE-E-OWN2")
            body, text = city.post(token, query, id="CASE-E-OWN2")
            assert body["data"] is None and body["errors"], body
            assert city.version("CASE-E-OWN2") == before
            assert PHONES["CASE-E-OWN2"] not in text and "502室" not in text
    # the counts-only partner is told it reads counts only, never whether the case exists
    body, _ = city.post(demo, START, id="CASE-E-OWN2")
    assert body["errors"][0]["message"] == "ServiceCase is served to you as counts only"


def test_an_operator_acts_anywhere_and_is_answered_masked(city: City) -> None:
    operator = auth_helpers.person_token(city.http, city.app, "olga", "operator", "graph:read")
    body, text = city.post(operator, TRANSFER % (OWN, CASE_FIELDS), id="CASE-W-OTHER")
    assert "errors" not in body, body
    case = body["data"]["transferCase"]
    assert case["department"] == OWN and case["status"] == "DISPATCHED"
    assert PHONES["CASE-W-OTHER"] not in text and "****" in case["reporterPhone"]


def test_applications_are_acted_on_by_their_own_department_only(city: City, east_dept: str) -> None:
    before = city.version("APP-OTHER", "ServiceApplication")
    body, text = city.post(east_dept, ACCEPT, key="APP-OTHER")
    missing, _ = city.post(east_dept, ACCEPT, key="APP-NOPE")
    assert body["errors"][0]["message"] == "no ServiceApplication with key 'APP-OTHER'"
    assert missing["errors"][0]["message"] == "no ServiceApplication with key 'APP-NOPE'"
    assert city.version("APP-OTHER", "ServiceApplication") == before
    assert "13912345678" not in text
    own, _ = city.post(east_dept, ACCEPT, key="APP-OWN")
    assert own["data"]["acceptApplication"]["status"] == "ACCEPTED", own


def test_write_rules_widen_when_steps_are_added_or_the_filter_is_lifted() -> None:
    base = 'name = "d"\nsubject = "role:d"\n[types.ServiceCase]\n'
    narrow = parse_document(
        base + 'write = { steps = ["resolve"], row_filter = "record.street == principal.street" }'
    )
    more_steps = parse_document(
        base + 'write = { steps = ["resolve", "close"], row_filter = '
        '"record.street == principal.street" }'
    )
    lifted = parse_document(base + 'write = { steps = ["resolve"] }')
    none = parse_document(base)
    assert widening(narrow, more_steps) == ["ServiceCase: steps added: close"]
    assert widening(narrow, lifted) == ["ServiceCase: write row filter lifted"]
    assert widening(none, narrow) == ["ServiceCase: steps may be taken: resolve"]
    assert widening(narrow, none) == [] and widening(more_steps, narrow) == []


FILE = """mutation($input: FileCaseInput!) { fileCase(input: $input) { id trackingNumber } }"""
PROGRESS = """query($n: String!) { caseProgress(trackingNumber: $n) { trackingNumber status
  statusLabel handlingDepartment steps { status label note } } }"""


def test_a_tracking_number_shows_the_public_steps_only(city: City) -> None:
    """The number proves possession of the public view only: status, the steps with the
    words each step declares for the citizen, the department; never the staff's notes, the
    reporter, the address, the description. A wrong or an old guessable number: not found."""
    operator = auth_helpers.person_token(city.http, city.app, "olga", "operator", "graph:read")
    filing = {
        "channel": "GRID",
        "description": "测试路8号3单元502室门口占道经营，联系13700007777",
        "category": "C03",
        "subcategory": "C0301",
        "lon": 117.805,
        "lat": 39.105,
        "address": "测试路8号3单元502室",
        "reporterName": "欧阳秀英",
        "reporterPhone": "13700007777",
    }
    body, _ = city.post(operator, FILE, input=filing)
    assert "errors" not in body, body
    filed = body["data"]["fileCase"]
    staff_note = "请联系报告人13700007777，住测试路8号3单元502室"
    dispatched, _ = city.post(
        operator,
        f'mutation($id: ID!) {{ dispatchCase(caseId: $id, department: "{OWN}", '
        f'note: "{staff_note}") {{ id }} }}',
        id=filed["id"],
    )
    assert "errors" not in dispatched, dispatched
    partner_app = city.client("snap-app", "partner")[1]
    body, text = city.post(partner_app, PROGRESS, n=filed["trackingNumber"])
    assert "errors" not in body, body
    view = body["data"]["caseProgress"]
    assert view["status"] == "DISPATCHED" and view["handlingDepartment"] == OWN
    assert [(s["status"], s["note"]) for s in view["steps"]] == [
        ("filed", "已受理"),
        ("dispatched", "已派至责任部门"),
    ]
    for hidden in ("13700007777", "502室", "欧阳", "占道经营，", "olga", staff_note):
        assert hidden not in text
    # a wrong code, the case key alone, an old-style guessable number: all plain not found
    unknown, _ = city.post(partner_app, PROGRESS, n="CASE-CH-20200101-00000000-ABCDEFGHJKMNPQRS")
    message = unknown["errors"][0]["message"]
    assert unknown["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for guess in (filed["id"] + "-AAAAAAAAAAAAAAAA", filed["id"], filed["id"] + "-0001"):
        wrong, text = city.post(partner_app, PROGRESS, n=guess)
        assert wrong["data"] is None and wrong["errors"][0]["message"] == message
        assert "502室" not in text


def test_an_act_over_every_row_is_the_policys_too(city: City, east_dept: str) -> None:
    """Rescoring every firm's smoke index: a department's policy names no such act."""
    rescore = "mutation { rescoreSmokeIndex { run } }"
    body, _ = city.post(east_dept, rescore)
    assert "rescore on SmokeIndex is not yours under policy dept-" in body["errors"][0]["message"]
    entries, _, _ = AuditLog(city.store.engine).page(first=5, action="write.refused")
    assert entries[0].entry["detail"]["step"] == "rescore"


def test_tracking_lookups_are_rate_limited_per_client(city: City) -> None:
    """Guessing numbers costs requests: a client's lookups count against its rate (here 3 a
    minute): the fourth is refused with 429 before any case is looked up."""
    client_id, secret = register_client(city.app, "guessing-app", rate_per_minute=3)
    token = fetch_token(city.http, client_id, secret)
    codes = []
    for i in range(4):
        answer = city.http.post(
            "/graphql",
            json={
                "query": PROGRESS,
                "variables": {"n": f"CASE-CH-20260601-0000000{i}-ABCDEFGHJKMNPQRS"},
            },
            headers=bearer(token),
        )
        codes.append(answer.status_code)
    assert codes == [200, 200, 200, 429]


def test_a_step_that_hands_the_row_out_of_sight_answers_without_it(city: City) -> None:
    """An operator desk that sees its own department's cases transfers one away: the step
    stands, and the answer says so without serving the row it may no longer read."""
    token = auth_helpers.person_token(city.http, city.app, "desk-olga", "operator", "graph:read")
    city.publish(
        'name = "desk-olga"\nsubject = "user:desk-olga"\nclearance = "sensitive"\n'
        f'principals = {{ "user:desk-olga" = {{ department = "{OTHER}" }} }}\n'
        '[types."*"]\nfields = ["*"]\n'
        "[types.ServiceCase]\n"
        'fields = ["*"]\n'
        'row_filter = "record.handling_department == principal.department"\n'
        'write = { steps = ["*"] }\n'
    )
    body, text = city.post(token, TRANSFER % (OWN, CASE_FIELDS), id="CASE-E-OTHER")
    assert body["data"] is None
    assert body["errors"][0]["message"] == (
        "the step was taken; ServiceCase CASE-E-OTHER is no longer one you may read"
    )
    stored = city.store.get("ServiceCase", "CASE-E-OTHER")
    assert stored is not None and stored.attrs["handling_department"] == OWN
    assert PHONES["CASE-E-OTHER"] not in text and "502室" not in text


def test_an_applicants_number_shows_the_decision_scrubbed(city: City, east_dept: str) -> None:
    """The decision is the staff's words to the applicant: served, but with the personal data
    typed into it masked (the staff's own notes are never served at all)."""
    number, digest = tracking.issue("APP-OWN-3")
    record = _application("APP-OWN-3", OWN)
    city.store.upsert(
        [record.model_copy(update={"attrs": {**record.attrs, TRACKING_HASH: digest}})]
    )
    reason = "材料不符，请致电13912349876咨询"
    body, _ = city.post(
        east_dept,
        "mutation($key: String!, $r: String!) { rejectApplication(key: $key, reason: $r) "
        "{ key status } }",
        key="APP-OWN-3",
        r=reason,
    )
    assert body["data"]["rejectApplication"]["status"] == "REJECTED", body
    query = "query($n: String!) { applicationProgress(trackingNumber: $n) { status decision } }"
    seen, text = city.post(city.client("appl-app", "partner")[1], query, n=number)
    view = seen["data"]["applicationProgress"]
    assert view["status"] == "REJECTED" and view["decision"] == "材料不符，请致电139****9876咨询"
    assert "13912349876" not in text
