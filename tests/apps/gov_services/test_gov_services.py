"""Government services end to end on a copy of the Binhai demo city, through GraphQL with real
signed tokens: an operator through the login page, a department, partners and a counts-only
partner by client credentials."""

from __future__ import annotations

import json
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.apps.gov_services as gov_services
import hub.apps.live as live
from hub.app import create_app
from hub.apps.gov_services.services import submitted_at
from hub.config import load_settings
from hub.policy.aggregates import CITY_TZ
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.policy_helpers import publish_approved, publish_source

# A valid resident ID (GB 11643 check digit) and one with the check digit changed.
ID_NUMBER = "120116199412149288"
BAD_ID_NUMBER = "120116199412149280"


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore

    def gql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        return dict(answer.json())

    def ok(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        body = self.gql(token, query, **variables)
        assert "errors" not in body, body
        return dict(body["data"])

    def error(self, token: str, query: str, **variables: Any) -> str:
        body = self.gql(token, query, **variables)
        assert body.get("errors"), body
        return str(body["errors"][0]["message"])


def copy_demo_city(demo_store: RecordStore, folder: Path) -> RecordStore:
    """A copy of the demo city, so applications submitted here stay here."""
    database = demo_store.engine.url.database
    assert database is not None
    source = sqlite3.connect(database)
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    return RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")


@pytest.fixture(scope="module")
def hub(demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("gov")
    store = copy_demo_city(demo_store, folder)
    app = create_app(load_settings(data_dir=folder), store=store, apps=[live.APP, gov_services.APP])
    with TestClient(app) as http:
        yield Hub(app, http, store)


def client_token(h: Hub, name: str, role: str = "partner", **options: Any) -> str:
    client_id, secret = register_client(h.app, f"{name}-{time.monotonic_ns()}", role=role,
                                        **options)  # fmt: skip
    return fetch_token(h.http, client_id, secret)


@pytest.fixture(scope="module")
def operator(hub: Hub) -> str:
    return person_token(hub.http, hub.app, "gao", "operator", "graph:read")


# The approval bureau decides every department's items (相对集中行政许可): its own policy
# lets it take the staff's steps on every application (a department's seed acts only on its
# own department's rows).
BUREAU = """name = "approval-bureau"
subject = "client:%s"
clearance = "sensitive"
[types."*"]
fields = ["*"]
[types.ServiceApplication]
fields = ["*"]
write = { steps = ["*"] }
"""


@pytest.fixture(scope="module")
def department(hub: Hub) -> str:
    client_id, secret = register_client(
        hub.app, f"approval-bureau-{time.monotonic_ns()}", role="department"
    )
    publish_source(hub.app.state.policy_workflow, BUREAU % client_id, "the bureau")
    return fetch_token(hub.http, client_id, secret)


@pytest.fixture(scope="module")
def citizen_app(hub: Hub) -> str:
    """The 滨海掌上行 app, applying for its citizens (a partner client)."""
    return client_token(hub, "binhai-app")


def all_records(store: RecordStore, kind: str) -> list[Record]:
    out: list[Record] = []
    after = None
    while True:
        chunk = store.page(kind, after=after, limit=1000)
        out.extend(chunk)
        if len(chunk) < 1000:
            return out
        after = chunk[-1].key


def personal_item(h: Hub) -> Record:
    """A 全程网办 item for natural persons with at least two required materials."""
    for item in all_records(h.store, "ServiceItem"):
        a = item.attrs
        required = [m for m in a["materials"] if m["required"]]
        if a["serves"] == "自然人" and a["online_level"] == "全程网办" and len(required) >= 3:
            return item
    raise AssertionError("no such item in the demo city")


def required(item: Record) -> list[str]:
    return [m["name"] for m in item.attrs["materials"] if m["required"]]


APP_FIELDS = """key trackingNumber item itemName department channel status statusLabel
  applicantType applicantName applicantPhone applicantIdNumber submittedAt acceptedAt dueAt
  decidedAt overdue materialsUploaded materialsMissing decision
  history { actor action fromStatus toStatus note }"""
SUBMIT = """mutation($input: SubmitApplicationInput!) { submitApplication(input: $input)
  { key trackingNumber status statusLabel itemName materialsMissing } }"""
PROGRESS = """query($n: String!) { applicationProgress(trackingNumber: $n) { trackingNumber
  itemName department status statusLabel dueAt materialsMissing decision
  steps { status label note } } }"""


def step(h: Hub, token: str, mutation: str, key: str, **args: Any) -> dict[str, Any]:
    decl = "".join(f", ${k}: {'[String!]' if isinstance(v, list) else 'String!'}"
                   for k, v in args.items())  # fmt: skip
    params = "".join(f", {k}: ${k}" for k in args)
    query = f"mutation($key: String!{decl}) {{ {mutation}(key: $key{params}) {{ {APP_FIELDS} }} }}"
    return dict(h.ok(token, query, key=key, **args)[mutation])


def application(item: Record, materials: list[str], **extra: Any) -> dict[str, Any]:
    return {
        "item": item.attrs["item_code"],
        "applicantType": "NATURAL_PERSON",
        "applicantName": "刘丹雪",
        "applicantPhone": "19598321139",
        "idNumber": ID_NUMBER,
        "materials": [
            {"name": m, "fileUrl": f"https://files.binhai.sim/{i}.pdf"}
            for i, m in enumerate(materials)
        ],
        **extra,
    }


def test_complete_application_moves_to_a_decision_with_its_history(
    hub: Hub, operator: str, department: str, citizen_app: str
) -> None:
    item = personal_item(hub)
    receipt = hub.ok(citizen_app, SUBMIT, input=application(item, required(item)))
    receipt = receipt["submitApplication"]
    assert receipt["status"] == "SUBMITTED" and receipt["statusLabel"] == "已提交"
    assert receipt["materialsMissing"] == [] and receipt["itemName"] == item.attrs["name"]
    key = receipt["key"]
    assert receipt["trackingNumber"].startswith(key + "-")

    accepted = step(hub, department, "acceptApplication", key)
    assert accepted["status"] == "ACCEPTED"
    due = datetime.fromisoformat(accepted["dueAt"]) - datetime.fromisoformat(accepted["acceptedAt"])
    assert due == timedelta(days=item.attrs["promised_time_limit_days"])
    assert accepted["overdue"] is False
    assert step(hub, department, "startReviewApplication", key)["status"] == "UNDER_REVIEW"
    approved = step(hub, operator, "approveApplication", key, note="准予办理，证照已寄出")
    assert approved["status"] == "APPROVED" and approved["statusLabel"] == "已办结"
    assert approved["decision"] == "准予办理，证照已寄出" and approved["decidedAt"]
    history = approved["history"]
    assert [(e["action"], e["fromStatus"], e["toStatus"]) for e in history] == [
        ("submit", None, "submitted"),
        ("accept", "submitted", "accepted"),
        ("start_review", "accepted", "under_review"),
        ("approve", "under_review", "approved"),
    ]
    actors = [e["actor"] for e in history]
    assert actors[0].startswith("client:") and actors[1] == actors[2] != actors[0]
    assert actors[3] == "user:gao"
    # the department reads it whole but for the applicant's personal data
    assert approved["department"] == item.attrs["department"]
    assert approved["applicantPhone"] == "195****1139"
    assert approved["applicantName"] != "刘丹雪" and approved["applicantName"].startswith("刘")
    assert ID_NUMBER not in json.dumps(approved)

    # the applicant follows it by the tracking number, and sees nobody's personal data
    progress = hub.ok(citizen_app, PROGRESS, n=receipt["trackingNumber"])["applicationProgress"]
    assert progress["status"] == "APPROVED" and progress["decision"] == "准予办理，证照已寄出"
    assert [s["status"] for s in progress["steps"]] == [
        "submitted", "accepted", "under_review", "approved"
    ]  # fmt: skip
    text = json.dumps(progress, ensure_ascii=False)
    assert "刘丹雪" not in text and "19598321139" not in text and "client:" not in text
    guessed = hub.error(citizen_app, PROGRESS, n=key + "-00000000")
    assert "no application with this tracking number" in guessed
    # stored as the source systems' applications are, listed with them
    stored = hub.store.get("ServiceApplication", key)
    assert stored is not None and stored.source_system == "cityhub"
    assert stored.attrs["status"] == "已办结" and stored.attrs["id_number"] == ID_NUMBER


def test_missing_material_is_returned_with_the_missing_list(
    hub: Hub, department: str, citizen_app: str
) -> None:
    item = personal_item(hub)
    needed = required(item)
    left_out = needed[-1]
    receipt = hub.ok(citizen_app, SUBMIT, input=application(item, needed[:-1]))
    receipt = receipt["submitApplication"]
    assert receipt["materialsMissing"] == [left_out]
    key = receipt["key"]
    # acceptance is refused while a required material is missing
    refused = hub.error(
        department, "mutation($k: String!) { acceptApplication(key: $k) { key } }", k=key
    )
    assert f"lacks required materials: {left_out}" in refused and "returnApplication" in refused
    returned = step(hub, department, "returnApplication", key, note="请上传清晰扫描件")
    assert returned["status"] == "RETURNED" and returned["statusLabel"] == "退回补正"
    assert returned["materialsMissing"] == [left_out]
    assert left_out in returned["history"][-1]["note"]
    progress = hub.ok(citizen_app, PROGRESS, n=receipt["trackingNumber"])["applicationProgress"]
    assert progress["status"] == "RETURNED" and progress["materialsMissing"] == [left_out]
    assert left_out in progress["steps"][-1]["note"]
    assert "请上传清晰扫描件" not in json.dumps(progress, ensure_ascii=False)  # the staff's words
    # a deficient material can be named too; the missing one is always listed
    # (and the applicant brings both back by the tracking number)
    resubmitted = hub.ok(
        citizen_app,
        """mutation($n: String!, $m: [MaterialInput!]!) { resubmitApplication(
          trackingNumber: $n, materials: $m) { status materialsMissing } }""",
        n=receipt["trackingNumber"],
        m=[{"name": left_out, "fileUrl": "https://files.binhai.sim/late.pdf"}],
    )["resubmitApplication"]
    assert resubmitted == {"status": "SUBMITTED", "materialsMissing": []}
    again = step(hub, department, "returnApplication", key, missing=[needed[0]])
    assert again["materialsMissing"] == [needed[0]]
    assert needed[0] not in again["materialsUploaded"]
    hub.ok(
        citizen_app,
        """mutation($n: String!, $m: [MaterialInput!]!) { resubmitApplication(
          trackingNumber: $n, materials: $m) { status } }""",
        n=receipt["trackingNumber"],
        m=[{"name": needed[0]}],
    )
    accepted = step(hub, department, "acceptApplication", key)
    assert accepted["status"] == "ACCEPTED"
    assert [e["toStatus"] for e in accepted["history"]] == [
        "submitted", "returned", "submitted", "returned", "submitted", "accepted"
    ]  # fmt: skip


def test_invalid_transitions_and_bad_submissions_are_refused_clearly(
    hub: Hub, department: str, citizen_app: str
) -> None:
    item = personal_item(hub)
    key = hub.ok(citizen_app, SUBMIT, input=application(item, required(item)))["submitApplication"][
        "key"
    ]
    approve = "mutation($k: String!) { approveApplication(key: $k) { key } }"
    message = hub.error(department, approve, k=key)
    assert "is submitted (已提交)" in message and "approve needs it under_review" in message
    # the app (a partner) cannot decide applications
    denied = hub.error(
        citizen_app, "mutation($k: String!) { acceptApplication(key: $k) { key } }", k=key
    )
    assert "needs the department or operator role" in denied
    reject = 'mutation($k: String!) { rejectApplication(key: $k, reason: " ") { key } }'
    no_reason = hub.error(department, reject, k=key)
    assert "gives its reason" in no_reason
    missing = "no ServiceApplication with key 'APP-NOPE'"
    assert missing in hub.error(department, approve, k="APP-NOPE")
    # the online-applications system's own applications are followed, not moved, here
    source = next(
        r
        for r in all_records(hub.store, "ServiceApplication")
        if r.source_system == "online-applications" and r.attrs["status"] == "审核中"
    )
    elsewhere = hub.error(department, approve, k=source.key)
    assert "handled in its own system (online-applications)" in elsewhere
    # nothing changed
    still = hub.ok(
        department, "query($k: String!) { serviceApplication(key: $k) { status } }", k=key
    )
    assert still["serviceApplication"]["status"] == "SUBMITTED"

    # validation at submission
    def refused(**changes: Any) -> str:
        return hub.error(citizen_app, SUBMIT, input=application(item, required(item)) | changes)

    assert "check digit" in refused(idNumber=BAD_ID_NUMBER)
    assert "11-digit mobile" in refused(applicantPhone="12345")
    assert "serves 自然人 applicants, not 法人" in refused(applicantType="LEGAL_PERSON")
    wrong = refused(materials=[{"name": "护照"}])
    assert "'护照' is not a material of" in wrong and required(item)[0] in wrong
    twice = refused(materials=[{"name": required(item)[0]}, {"name": required(item)[0]}])
    assert "given twice" in twice
    assert "no service item 'BHXX9999'" in refused(item="BHXX9999")
    window = next(
        r for r in all_records(hub.store, "ServiceItem") if r.attrs["online_level"] == "窗口办理"
    )
    at_window = hub.error(
        citizen_app,
        SUBMIT,
        input=application(window, required(window))
        | {
            "applicantType": "LEGAL_PERSON"
            if window.attrs["serves"] == "法人"
            else "NATURAL_PERSON"
        },
    )
    assert "handled at the window only (窗口办理)" in at_window
    firm = next(
        r for r in all_records(hub.store, "ServiceItem")
        if r.attrs["serves"] == "法人" and r.attrs["online_level"] != "窗口办理"
    )  # fmt: skip
    bad_code = hub.error(
        citizen_app,
        SUBMIT,
        input=application(firm, required(firm))
        | {"applicantType": "LEGAL_PERSON", "enterpriseName": "天津某某有限公司",
           "uscc": "91120116MA05ABCDEX"},
    )  # fmt: skip
    assert "credit code" in bad_code


def test_statistics_equal_independent_counts(hub: Hub, department: str, citizen_app: str) -> None:
    # one decided here too, so hub applications count with the source system's
    item = personal_item(hub)
    key = hub.ok(citizen_app, SUBMIT, input=application(item, required(item)))["submitApplication"][
        "key"
    ]
    step(hub, department, "acceptApplication", key)
    step(hub, department, "startReviewApplication", key)
    step(hub, department, "rejectApplication", key, reason="不符合申领条件")

    stats = hub.ok(
        department,
        """{ govServiceStats { items itemsOnline itemsFullyOnline onlineItemRate
          itemsServedOnline applications onlineApplications decided timed averageHours
          averageDays decidedOnTime decidedLate openOverdue onTimeRate
          byStatus { key label count } byChannel { key count }
          byDepartment { department applications decided averageHours } } }""",
    )["govServiceStats"]

    items = all_records(hub.store, "ServiceItem")
    apps = all_records(hub.store, "ServiceApplication")
    assert stats["items"] == len(items) == 60
    online_items = [i for i in items if i.attrs["online_level"] != "窗口办理"]
    assert stats["itemsOnline"] == len(online_items)
    assert stats["itemsFullyOnline"] == sum(i.attrs["online_level"] == "全程网办" for i in items)
    assert stats["onlineItemRate"] == pytest.approx(len(online_items) / len(items), abs=1e-4)
    assert stats["applications"] == len(apps)
    online = [a for a in apps if a.attrs["channel"] != "窗口"]
    assert stats["onlineApplications"] == len(online)
    assert stats["itemsServedOnline"] == len({a.attrs["item"] for a in online})
    as_state = {"已提交": "submitted", "已受理": "accepted", "退回补正": "returned",
                "审核中": "under_review", "已办结": "approved", "不予受理": "rejected",
                "不予办理": "rejected"}  # fmt: skip
    states = Counter(as_state[a.attrs["status"]] for a in apps)
    assert {b["key"]: b["count"] for b in stats["byStatus"]} == {
        s: states.get(s, 0)
        for s in ("submitted", "accepted", "returned", "under_review", "approved", "rejected")
    }
    assert stats["decided"] == states["approved"] + states["rejected"]
    assert {b["key"]: b["count"] for b in stats["byChannel"]} == dict(
        Counter(a.attrs["channel"] for a in apps)
    )
    hours = []
    for a in apps:
        done = a.attrs.get("decided_at") or a.attrs.get("finished_at")
        if done and as_state[a.attrs["status"]] in ("approved", "rejected"):
            spent = datetime.fromisoformat(done) - datetime.fromisoformat(a.attrs["submitted_at"])
            hours.append(spent.total_seconds() / 3600)
    assert stats["timed"] == len(hours) > 2000
    assert stats["averageHours"] == pytest.approx(sum(hours) / len(hours), abs=0.01)
    assert stats["averageDays"] == pytest.approx(stats["averageHours"] / 24, abs=1e-3)
    assert stats["decidedOnTime"] + stats["decidedLate"] == len(hours)
    assert sum(d["applications"] for d in stats["byDepartment"]) == len(apps)
    assert sum(d["decided"] for d in stats["byDepartment"]) == stats["decided"]
    # a filter narrows the applications, never the catalogue
    mine = hub.ok(
        department, '{ govServiceStats(filter: {sourceSystem: "cityhub"}) { items applications } }'
    )["govServiceStats"]
    assert mine["items"] == 60
    assert mine["applications"] == sum(a.source_system == "cityhub" for a in apps)


def test_catalogue_lists_items_with_their_materials(hub: Hub, citizen_app: str) -> None:
    page = hub.ok(
        citizen_app,
        """{ serviceItems(first: 100, filter: {online: false}) { totalCount edges { node
          { key itemCode name onlineLevel online requiredMaterials } } } }""",
    )["serviceItems"]
    assert page["totalCount"] == 2
    assert {e["node"]["onlineLevel"] for e in page["edges"]} == {"窗口办理"}
    one = hub.ok(
        citizen_app,
        '{ serviceItem(key: "BHXK0001") { key name department materials { name form required } '
        "promisedTimeLimitDays serves } }",
    )["serviceItem"]
    assert one["key"] == "SI-0000001" and one["name"] == "企业设立登记"
    assert one["materials"][0] == {"name": "企业设立登记申请表", "form": "电子版", "required": True}
    first = hub.ok(
        citizen_app, "{ serviceItems(first: 25) { pageInfo { hasNextPage endCursor } } }"
    )
    rest = hub.ok(
        citizen_app,
        "query($a: String) { serviceItems(first: 100, after: $a) { edges { node { key } } } }",
        a=first["serviceItems"]["pageInfo"]["endCursor"],
    )
    assert (
        first["serviceItems"]["pageInfo"]["hasNextPage"]
        and len(rest["serviceItems"]["edges"]) == 35
    )


def test_partner_view_masks_applicants_personal_data(hub: Hub, citizen_app: str) -> None:
    item = personal_item(hub)
    hub.ok(citizen_app, SUBMIT, input=application(item, required(item)))
    partner = client_token(hub, "partner-reads")
    query = """query($f: ApplicationFilterInput) { serviceApplications(first: 200, filter: $f) {
      totalCount edges { node { key applicantName applicantPhone applicantIdNumber } } } }"""
    demo = hub.ok(partner, query, f={"applicantType": "NATURAL_PERSON"})["serviceApplications"]
    ours = hub.ok(partner, query, f={"sourceSystem": "cityhub"})["serviceApplications"]
    nodes = [e["node"] for e in demo["edges"] + ours["edges"]]
    assert len(demo["edges"]) == 200 and len(ours["edges"]) >= 1
    raw = hub.store.get_many("ServiceApplication", [n["key"] for n in nodes])
    for node in nodes:
        a = raw[node["key"]].attrs
        phone = a["applicant_phone"]
        assert node["applicantPhone"] == phone[:3] + "****" + phone[-4:]
        assert node["applicantName"] != a["applicant"]
        assert node["applicantName"][0] == a["applicant"][0] and "*" in node["applicantName"]
        if a.get("id_number"):  # the ones submitted through the hub carry an ID number
            assert node["applicantIdNumber"] != a["id_number"] and "*" in node["applicantIdNumber"]
            assert node["applicantIdNumber"][:6] == a["id_number"][:6]
    assert all(raw[e["node"]["key"]].attrs.get("id_number") for e in ours["edges"])
    refused = hub.error(
        partner, "{ serviceApplications(first: 1) { edges { node { trackingNumber } } } }"
    )
    assert "trackingNumber" in refused
    firms = hub.ok(
        partner,
        """{ serviceApplications(first: 5, filter: {applicantType: LEGAL_PERSON,
          sourceSystem: "online-applications"}) { edges { node { key applicantName uscc
          enterpriseName } } } }""",
    )["serviceApplications"]["edges"]
    for e in firms:  # a firm applying is no personal data: its name and code are shown
        a = hub.store.get("ServiceApplication", e["node"]["key"]).attrs  # type: ignore[union-attr]
        assert e["node"]["enterpriseName"] == a["applicant"] and e["node"]["uscc"] == a["uscc"]
        assert e["node"]["applicantName"] is None


def test_counts_only_partner_gets_counts_and_no_rows(hub: Hub, department: str) -> None:
    client_id, secret = register_client(hub.app, f"counts-{time.monotonic_ns()}", role="partner")
    workflow = hub.app.state.policy_workflow
    draft = workflow.draft(
        f'name = "gov-counts"\nsubject = "client:{client_id}"\nclearance = "internal"\n'
        '[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counter = fetch_token(hub.http, client_id, secret)
    rows = hub.error(counter, "{ serviceApplications(first: 3) { edges { node { key } } } }")
    assert "ServiceApplication is served to you as counts only" in rows
    one = hub.gql(counter, '{ serviceApplication(key: "APP-0000001") { key } }')
    assert one["data"]["serviceApplication"] is None
    figures = "{ govServiceStats { items applications decided averageHours } }"
    counted = hub.ok(counter, figures)["govServiceStats"]
    assert counted == hub.ok(department, figures)["govServiceStats"]
    assert counted["applications"] >= 3000
    # a one-second submission window isolating one application: counted over its whole day
    # in the city's time (policies/README.md, "Counts-only figures"), the department exact
    record = hub.store.get("ServiceApplication", "APP-0000001")
    assert record is not None
    at = submitted_at(record).astimezone(CITY_TZ)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    window = "query($f: ApplicationFilterInput) { govServiceStats(filter: $f) { applications } }"

    def between(start: datetime, end: datetime) -> dict[str, str]:
        return {"submittedAfter": start.isoformat(), "submittedBefore": end.isoformat()}

    second = between(at, at + timedelta(seconds=1))
    exact = hub.ok(department, window, f=second)["govServiceStats"]["applications"]
    assert exact >= 1
    whole_day = hub.gql(counter, window, f=between(day, day + timedelta(days=1)))
    assert hub.gql(counter, window, f=second) == whole_day
    if "errors" in whole_day:  # fewer than five that day: refused, not the one
        assert "too few to be counted" in whole_day["errors"][0]["message"]
    else:
        assert whole_day["data"]["govServiceStats"]["applications"] >= 5


def test_a_retried_submission_files_one_application(hub: Hub, citizen_app: str) -> None:
    """Issue 14: a retry of a submission whose answer was lost filed a second application.
    The same ``idempotencyKey`` from the same caller gets the first receipt again."""
    item = personal_item(hub)
    wanted = application(item, required(item), idempotencyKey=f"apply-{time.time_ns()}")
    before = hub.store.count("ServiceApplication")
    first = hub.ok(citizen_app, SUBMIT, input=wanted)["submitApplication"]
    again = hub.ok(citizen_app, SUBMIT, input=wanted)["submitApplication"]
    assert again == first and first["trackingNumber"]
    assert hub.store.count("ServiceApplication") == before + 1


def test_a_submissions_key_is_kept_in_its_own_transaction(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key's answer is written with the application: a key that cannot be kept leaves no
    application (and the retry submits once); a worker dying right after its submission
    committed leaves the receipt for the retry, not a second application."""
    from hub.apps.gov_services.services import GovernmentServices, Material, Submission
    from hub.idempotency import Idempotency, Ticket

    g: GovernmentServices = hub.app.state.hub.apps["gov_services"]
    assert g.keys is not None
    item = personal_item(hub)
    wanted = Submission(
        item=str(item.attrs["item_code"]),
        applicant_type="自然人",
        applicant_name="刘丹雪",
        applicant_phone="19598321139",
        id_number=ID_NUMBER,
        materials=[Material(m, f"https://files.binhai.sim/{i}.pdf")
                   for i, m in enumerate(required(item))],
    )  # fmt: skip
    who, roles, key = "app:citizen", ("partner",), f"tx-{time.time_ns()}"
    before = hub.store.count("ServiceApplication")

    def disk_full(*_: object) -> bool:
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(Idempotency, "keep_in", disk_full)
        with pytest.raises(OSError):
            g.submit_tracked(wanted, who, roles, idempotency_key=key)
    assert hub.store.count("ServiceApplication") == before
    record, number = g.submit_tracked(wanted, who, roles, idempotency_key=key)
    assert g.submit_tracked(wanted, who, roles, idempotency_key=key) == (record, number)
    assert hub.store.count("ServiceApplication") == before + 1
    # a worker claims another key, submits, and dies before anything after its commit runs
    other = f"tx-died-{time.time_ns()}"
    assert g.keys.claim("application.submit", who, other) is None
    died, first = g._submit(wanted, who, roles, Ticket(g.keys, "application.submit", who, other))
    again, number = g.submit_tracked(wanted, who, roles, idempotency_key=other)
    assert (again.key, number) == (died.key, first)
    assert hub.store.count("ServiceApplication") == before + 2
