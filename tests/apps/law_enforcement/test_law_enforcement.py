"""Law-enforcement supervision end to end: the law-enforcement system's cases (as the sandbox
makes them, plus cases constructed here) through GraphQL with real tokens — anomaly flags on
the constructed cases and not on clean ones, deadlines and overdue, figures by department
against an independent count over the store, linking to firms and service cases, policies.

Runs on a copy of the demo city's store with the law-enforcement system's records added."""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.store import RecordStore
from schema.record import Record
from tests.apps.workers import Worker, workers
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.demo_copy import copy_of, extra_records
from tests.policy_helpers import publish_approved

AS_OF = date(2026, 6, 1)  # the demo city's "now"
LIMITS = {"行政处罚": 90, "行政检查": 30, "行政强制": 30}  # the oracle's own table
CLOSED = {"已结案"}
NOW = datetime(2026, 6, 1, tzinfo=UTC)


def case(key: str, firm: Record | None, **attrs: Any) -> Record:
    a: dict[str, Any] = {
        "party_name": firm.attrs["name"] if firm else None,
        "party_uscc": firm.attrs["uscc"] if firm else None,
        "party_type": "法人",
        "case_type": "行政检查",
        "violation": None,
        "legal_basis": None,
        "penalty": None,
        "fine_cny": 0.0,
        "enforcing_department": "区测试执法局",
        "filed_on": None,
        "closed_on": None,
        "status": "办理中",
        "street": firm.attrs.get("street") if firm else None,
        "grid_cell": firm.attrs.get("grid_cell") if firm else None,
    } | attrs
    return Record(
        kind="EnforcementCase",
        key=key,
        source_system="law-enforcement",
        source_id=f"津滨测〔2026〕{key}",
        fetched_at=NOW,
        attrs=a,
        geometry=firm.geometry if firm else None,
        datum="GCJ-02" if firm and firm.geometry else None,
    )


def service_case(key: str, firm: Record) -> Record:
    """A service case about ``firm``, as the enterprise-service loop files them."""
    return Record(
        kind="ServiceCase",
        key=key,
        source_system="cityhub",
        source_id=key,
        fetched_at=NOW,
        attrs={
            "channel": "双万双服企业服务平台",
            "firm": firm.key,
            "uscc": firm.attrs["uscc"],
            "content": "企业反映审批协调问题",
            "status": "已立案",
        },
    )


def day(n: int) -> str:
    return (AS_OF - timedelta(days=n)).isoformat()


@pytest.fixture(scope="module")
def city(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, TestClient, RecordStore, dict[str, Record]]]:
    from hub.app import create_app
    from hub.config import load_settings

    folder: Path = tmp_path_factory.mktemp("law-enforcement")
    store = copy_of(demo_store, folder)
    store.upsert(extra_records(demo_dir, "law-enforcement"))
    firms = store.page("Enterprise", after="ENT-0003000", limit=6)
    a, b, c, d, e, f = firms
    renamed = "天津市" + str(a.attrs["name"]).removeprefix("天津")  # another system's spelling
    made = [
        # firm a: three empty inspections in 200 days (one found by name only) -> flagged
        case("LE-T-A1", a, filed_on=day(200), closed_on=day(190), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        case("LE-T-A2", a, filed_on=day(120), closed_on=day(110), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        case("LE-T-A3", None, party_name=renamed, filed_on=day(20), finding="未发现问题"),
        # firm b: two empty inspections (below the threshold) and one with a finding
        case("LE-T-B1", b, filed_on=day(100), closed_on=day(95), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        case("LE-T-B2", b, filed_on=day(60), closed_on=day(55), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        case("LE-T-B3", b, filed_on=day(10), violation="消防通道堵塞", finding="责令改正"),
        # firm c: three empty inspections, but never three within a year
        case("LE-T-C1", c, filed_on=day(900), closed_on=day(890), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        case("LE-T-C2", c, filed_on=day(480), closed_on=day(470), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        case("LE-T-C3", c, filed_on=day(50), closed_on=day(45), status="已结案",
             finding="未发现问题", evidence=["检查记录"]),
        # firm d: penalties — closed without evidence, closed with, overdue, on time, late
        case("LE-T-D1", d, case_type="行政处罚", violation="虚假宣传", penalty="罚款",
             fine_cny=20000.0, filed_on=day(60), closed_on=day(30), status="已结案", evidence=[]),
        case("LE-T-D2", d, case_type="行政处罚", violation="虚假宣传", penalty="罚款",
             fine_cny=10000.0, filed_on=day(60), closed_on=day(30), status="已结案",
             evidence=["询问笔录", "现场照片"]),
        case("LE-T-D3", d, case_type="行政处罚", violation="超范围经营", penalty="警告",
             filed_on=day(100)),
        case("LE-T-D4", d, case_type="行政处罚", violation="超范围经营", penalty="警告",
             filed_on=day(80)),
        case("LE-T-D5", d, case_type="行政处罚", violation="超范围经营", penalty="警告",
             filed_on=day(200), closed_on=day(100), status="已结案", evidence=["决定书"]),
        # a natural person as the party (personal data)
        case("LE-T-P1", None, party_type="自然人", party_name="欧阳振华", case_type="行政处罚",
             violation="占道经营", penalty="罚款", fine_cny=500.0, filed_on=day(5),
             enforcing_department="区城市管理综合执法局", street=e.attrs.get("street"),
             grid_cell=e.attrs.get("grid_cell")),
    ]  # fmt: skip
    store.upsert(made)
    # a service case about firm a (as the enterprise-service loop files them)
    store.upsert([service_case("CASE-T-ENT-1", a)])
    app = create_app(load_settings(data_dir=folder), store=store)
    with TestClient(app) as http:
        yield app, http, store, {"a": a, "b": b, "c": c, "d": d, "f": f}
    store.close()


@pytest.fixture(scope="module")
def ops(city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]]) -> str:
    app, http, _, _ = city
    return person_token(http, app, "le-ops", "operator", "graph:read")


def token(app: Starlette, http: TestClient, name: str, **options: Any) -> str:
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(http, client_id, secret)


def answer(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    body = answer(http, tok, query, **variables)
    assert "errors" not in body, body
    return dict(body["data"])


CASES = """query($asOf: Date, $after: String, $anomaly: EnforcementAnomaly, $dept: String,
  $overdue: Boolean, $firm: String) {
  enforcementCases(asOf: $asOf, first: 1000, after: $after, anomaly: $anomaly,
    department: $dept, overdue: $overdue, firm: $firm) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { node { key caseType firm firmMatch finding evidenceCount department status closed
    filedOn dueOn closedOn overdue closedLate daysOverdue anomalies gridCell street
    serviceCases partyName partyPersonName } } } }"""


def every_case(http: TestClient, tok: str, **variables: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        page = gql(http, tok, CASES, asOf=AS_OF.isoformat(), after=after, **variables)
        conn = page["enforcementCases"]
        out.update({e["node"]["key"]: e["node"] for e in conn["edges"]})
        if not conn["pageInfo"]["hasNextPage"]:
            assert len(out) == conn["totalCount"]
            return out
        after = conn["pageInfo"]["endCursor"]


def test_anomaly_flags_on_the_constructed_cases_only(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]], ops: str
) -> None:
    _, http, _, firms = city
    cases = every_case(http, ops)
    assert len(cases) == 800 + 15  # the sandbox's 800 and ours
    repeated = {k for k, c in cases.items() if "REPEATED_INSPECTION_NO_FINDING" in c["anomalies"]}
    no_evidence = {k for k, c in cases.items() if "CLOSED_WITHOUT_EVIDENCE" in c["anomalies"]}
    assert repeated == {"LE-T-A1", "LE-T-A2", "LE-T-A3"}
    assert no_evidence == {"LE-T-D1"}
    # the sandbox's source exports no evidence column: its flag is unknown, never raised
    assert all(c["evidenceCount"] is None for k, c in cases.items() if k.startswith("LE-0"))
    # A3 names the firm in another spelling and no credit code: found by normalised name
    assert cases["LE-T-A3"]["firm"] == firms["a"].key and cases["LE-T-A3"]["firmMatch"] == "name"
    assert cases["LE-T-A1"]["firmMatch"] == "uscc"
    # the filter gives the same answer; a lower threshold catches firm b as well
    only = every_case(http, ops, anomaly="REPEATED_INSPECTION_NO_FINDING")
    assert set(only) == repeated
    two = gql(
        http,
        ops,
        """query($asOf: Date) { enforcementCases(asOf: $asOf, threshold: 2, first: 1000,
        anomaly: REPEATED_INSPECTION_NO_FINDING) { edges { node { key } } } }""",
        asOf=AS_OF.isoformat(),
    )["enforcementCases"]["edges"]
    assert {e["node"]["key"] for e in two} == repeated | {"LE-T-B1", "LE-T-B2"}
    # linked: firm, place and the service case about firm a
    assert cases["LE-T-A1"]["serviceCases"] == ["CASE-T-ENT-1"]
    assert cases["LE-T-B1"]["serviceCases"] == []
    assert cases["LE-T-A1"]["gridCell"] == firms["a"].attrs["grid_cell"]
    by_firm = every_case(http, ops, firm=firms["d"].key)
    assert set(by_firm) == {f"LE-T-D{i}" for i in range(1, 6)}


def test_deadlines_overdue_and_closed_late(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]], ops: str
) -> None:
    _, http, _, _ = city
    cases = every_case(http, ops)
    d3, d4, d5 = cases["LE-T-D3"], cases["LE-T-D4"], cases["LE-T-D5"]
    assert d3["dueOn"] == day(10) and d3["overdue"] and d3["daysOverdue"] == 10
    assert d4["dueOn"] == day(-10) and not d4["overdue"] and d4["daysOverdue"] == 0
    assert d5["closed"] and not d5["overdue"] and d5["closedLate"]
    assert cases["LE-T-D1"]["closedLate"] is False
    assert cases["LE-T-A3"]["dueOn"] == day(-10)  # an inspection: 30 days
    overdue = every_case(http, ops, overdue=True)
    assert "LE-T-D3" in overdue and "LE-T-D4" not in overdue
    assert all(c["overdue"] and not c["closed"] for c in overdue.values())
    # judged on a later day, D4 is overdue too
    later = gql(
        http, ops, '{ enforcementCase(key: "LE-T-D4", asOf: "2026-06-21") { overdue daysOverdue } }'
    )["enforcementCase"]
    assert later == {"overdue": True, "daysOverdue": 10}


def test_statistics_by_department_equal_an_independent_count(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]], ops: str
) -> None:
    _, http, store, _ = city
    stats = gql(
        http,
        ops,
        """query($asOf: Date) { enforcementStats(asOf: $asOf) { asOf
        totals { department cases open closed overdue closedLate anomalous
          repeatedInspectionNoFinding closedWithoutEvidence finesCny }
        byDepartment { department cases open closed overdue closedLate anomalous
          repeatedInspectionNoFinding closedWithoutEvidence finesCny } } }""",
        asOf=AS_OF.isoformat(),
    )["enforcementStats"]
    oracle: dict[str, Counter[str]] = defaultdict(Counter)
    fines: dict[str, float] = defaultdict(float)
    for r in store.page("EnforcementCase", limit=100_000):
        a = r.attrs
        g = oracle[a["enforcing_department"]]
        done = a["status"] in CLOSED
        due = date.fromisoformat(a["filed_on"]) + timedelta(days=LIMITS[a["case_type"]])
        g["cases"] += 1
        g["closed" if done else "open"] += 1
        g["overdue"] += (not done) and due < AS_OF
        g["closedLate"] += done and date.fromisoformat(a["closed_on"]) > due
        fines[a["enforcing_department"]] += a["fine_cny"] or 0.0
    got = {g["department"]: g for g in stats["byDepartment"]}
    assert set(got) == set(oracle)
    for dept, counts in oracle.items():
        for name in ("cases", "open", "closed", "overdue", "closedLate"):
            assert got[dept][name] == counts[name], (dept, name)
        assert got[dept]["finesCny"] == pytest.approx(fines[dept])
    totals = stats["totals"]
    assert totals["cases"] == store.count("EnforcementCase") == 815
    for name in ("cases", "open", "closed", "overdue", "closedLate", "anomalous"):
        assert sum(g[name] for g in stats["byDepartment"]) == totals[name], name
    assert totals["repeatedInspectionNoFinding"] == 3 and totals["closedWithoutEvidence"] == 1
    assert got["区测试执法局"]["anomalous"] == 4
    assert [g["cases"] for g in stats["byDepartment"]] == sorted(
        (g["cases"] for g in stats["byDepartment"]), reverse=True
    )


def test_partners_obey_their_policy(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]], ops: str
) -> None:
    app, http, _, _ = city
    q = '{ enforcementCase(key: "LE-T-P1") { key partyName partyPersonName department } }'
    partner = token(app, http, "le-partner")
    seen = gql(http, partner, q)["enforcementCase"]
    assert seen["partyName"] is None
    assert seen["partyPersonName"] != "欧阳振华" and seen["partyPersonName"].startswith("欧")
    assert "*" in seen["partyPersonName"]
    # a counts-only partner: counts and figures, never a row
    client_id, secret = register_client(app, f"le-counts-{time.monotonic_ns()}")
    workflow = app.state.policy_workflow
    draft = workflow.draft(
        f'name = "le-counts-{client_id}"\nsubject = "client:{client_id}"\n'
        'clearance = "internal"\n[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counts = fetch_token(http, client_id, secret)
    figures = """{ enforcementCases(asOf: "2026-06-01", first: 50) { totalCount edges { node
      { key } } } enforcementStats(asOf: "2026-06-01") { totals { cases overdue anomalous }
      byDepartment { department cases } } }"""
    got = gql(http, counts, figures)
    full = gql(http, ops, figures)
    assert got["enforcementCases"] == {"totalCount": 815, "edges": []}
    assert len(full["enforcementCases"]["edges"]) == 50
    # counts only, k = 5 (policies/README.md, "Counts-only figures"): a count of 1-4 cases,
    # or one whose rest is, withheld; departments of 1-4 cases left out
    shown, exact = got["enforcementStats"], full["enforcementStats"]
    total = exact["totals"]["cases"]
    assert shown["totals"]["cases"] == total
    for name in ("overdue", "anomalous"):
        n = exact["totals"][name]
        rest = total - n
        told = n == 0 or (n >= 5 and (rest == 0 or rest >= 5))
        assert shown["totals"][name] == (n if told else None)
    departments = {d["department"]: d["cases"] for d in exact["byDepartment"]}
    assert any(n < 5 for n in departments.values())
    for line in shown["byDepartment"]:
        assert line["cases"] >= 5 and line["cases"] == departments[line["department"]]
    assert gql(http, counts, q)["enforcementCase"] is None


def test_bad_input_is_a_clear_error(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]], ops: str
) -> None:
    _, http, _, _ = city
    body = answer(http, ops, "{ enforcementStats(threshold: 1) { asOf } }")
    assert "threshold" in body["errors"][0]["message"]
    body = answer(http, ops, "{ enforcementCases(first: 5000) { totalCount } }")
    assert "first must be between" in body["errors"][0]["message"]
    assert gql(http, ops, '{ enforcementCase(key: "LE-NONE") { key } }')["enforcementCase"] is None


RENAMED = "天津滨海测试更名新材料科技有限公司"


@pytest.fixture()
def two(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]], tmp_path: Path
) -> Iterator[tuple[Worker, Worker]]:
    """Two workers on one copy of the city's store, with a case naming a firm by a name no
    firm bears yet (no credit code)."""
    from hub.apps import law_enforcement

    def prepare(store: RecordStore) -> None:
        store.upsert([case("LE-T-F1", None, party_name=RENAMED, filed_on=day(3))])

    with workers(city[2], tmp_path, [law_enforcement.APP], prepare) as made:
        yield made


CASE = "query($key: String!) { enforcementCase(key: $key) { firm firmMatch serviceCases } }"


def seen(w: Worker, key: str) -> dict[str, Any]:
    return dict(w.gql(CASE, key=key)["enforcementCase"])


def test_another_worker_links_a_renamed_firm_and_a_new_service_case(
    city: tuple[Starlette, TestClient, RecordStore, dict[str, Record]],
    two: tuple[Worker, Worker],
) -> None:
    """Writes on worker A's store reach worker B's firm directory and service-case links by
    the feed: a firm renamed (the registry's count unchanged) and a service case filed, then
    refiled about another firm — no TTL, no count check."""
    a, b = two
    firms = city[3]
    f, firm_b, firm_c = firms["f"], firms["b"], firms["c"]
    for w in (a, b):  # both have built their directory and links
        assert seen(w, "LE-T-F1") == {"firm": None, "firmMatch": None, "serviceCases": []}
        assert seen(w, "LE-T-B1")["serviceCases"] == []
    count = a.store.count("Enterprise")
    a.store.upsert([f.model_copy(update={"attrs": f.attrs | {"name": RENAMED}})])
    a.store.upsert([service_case("CASE-T-ENT-2", firm_b)])
    assert a.store.count("Enterprise") == count
    for w in (b, a):
        w.caught_up()
        assert seen(w, "LE-T-F1") == {"firm": f.key, "firmMatch": "name", "serviceCases": []}
        assert seen(w, "LE-T-B1")["serviceCases"] == ["CASE-T-ENT-2"]
    a.store.upsert([service_case("CASE-T-ENT-2", firm_c)])  # refiled about firm c
    for w in (b, a):
        w.caught_up()
        assert seen(w, "LE-T-B1")["serviceCases"] == []
        assert seen(w, "LE-T-C1")["serviceCases"] == ["CASE-T-ENT-2"]
