"""The knowledge graph under the row policy, end to end over HTTP with real tokens: entity360,
its sources, relations (and their other ends), neighbourhood, entityPath, node(id) and
search(...).entity, for a counts-only partner, a partner with only the grid's rows, a partner
viewer (masks), a department limited to one street, an operator and a steward. Each answer's
raw body is scanned for what the caller's policy hides."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from strawberry.relay import to_base64

from hub.app import create_app
from hub.audit.log import AuditLog
from hub.auth.accounts import AccountStore
from hub.config import load_settings
from hub.graph import open_graph
from hub.graph.neo4j_graph import Neo4jGraph
from hub.indexing import rebuild
from hub.policy.graph import COUNTS_ONLY
from hub.search import open_search
from hub.store import RecordStore
from schema.record import Record
from schema.uscc import make_uscc
from tests.graph.test_graph_conformance import neo4j_graph_url
from tests.hub.city import WHEN, square
from tests.policy.conftest import Hub, person_token

WEST, EAST = "西区街道", "东区街道"
USCC_A = make_uscc("9", "1", "120116", "MA05BBJ5")
USCC_B = make_uscc("9", "1", "120116", "MA07XY41")
USCC_C = make_uscc("9", "1", "120116", "MA0Q8H2K")
FIRM_A, FIRM_B = f"Firm:{USCC_A}", f"Firm:{USCC_B}"
NAME_A, NAME_B, NAME_C = "天津银昊融资租赁有限公司", "天津宏远物流有限公司", "天津东港化工有限公司"
CELL_W, CELL_E = "GridCell:BH-W-000", "GridCell:BH-E-000"
# residents: (key, name, phone, resident id, street, cell)
RESIDENTS = [
    ("CIT-W-1", "欧阳明华", "13812345678", "120116199001011234", WEST, "BH-W-000"),
    ("CIT-W-2", "诸葛春华", "13811112222", "120116199203031234", WEST, "BH-W-000"),
    ("CIT-E-1", "司马东来", "13998765432", "120116198502021234", EAST, "BH-E-000"),
    ("CIT-E-2", "上官秋月", "13955556666", "120116198704041234", EAST, "BH-E-000"),
]
# What no principal of the east street's department may see, in any form.
EAST_SECRETS = [
    "CIT-E-1", "CIT-E-2", "司马", "上官", "13998765432", "13955556666", "CMP-E-1", "CMP-E-2",
    "LE-E-1", "BH-E-000", "ENT-C", NAME_C, USCC_C, EAST, "FIN-E-1",
]  # fmt: skip
# Personal values nobody without the personal clearance sees whole.
PERSONAL = [
    "司马东来", "上官秋月", "诸葛春华", "13812345678", "13811112222", "13998765432",
    "13955556666", "120116199001011234", "120116198502021234", "王建国", "13600001111",
]  # fmt: skip


def record(kind: str, key: str, system: str, attrs: dict[str, Any], geometry: Any = None) -> Record:
    return Record(
        kind=kind,
        key=key,
        source_system=system,
        source_id=key,
        fetched_at=WHEN,
        attrs=attrs,
        geometry=geometry or {"type": "Point", "coordinates": [117.7, 39.0]},
        datum="GCJ-02",
    )


def graph_city() -> list[Record]:
    """Two streets: a cell each, residents, firms, complaints, enforcement cases and an
    application; firm B reaches the west cell in two hops only through an east complaint."""
    out = [
        record("GridCell", code, "grid-management", attrs, square(x, 39.0))
        for code, x, attrs in (
            ("BH-W-000", 117.7, {"code": "BH-W-000", "name": "西区第1网格", "street": WEST}),
            ("BH-E-000", 117.8, {"code": "BH-E-000", "name": "东区第1网格", "street": EAST}),
        )
    ]
    for key, name, phone, resident_id, street, cell in RESIDENTS:
        attrs = {"name": name, "phone": phone, "resident_id": resident_id}
        out.append(
            record("Citizen", key, "population", attrs | {"street": street, "grid_cell": cell})
        )
    out.append(  # the same person as CIT-W-1, in the grid's own system
        record(
            "Inspector",
            "INS-W-1",
            "grid-management",
            {"name": "欧阳明华", "phone": "13812345678", "resident_id": "120116199001011234"}
            | {"grid_cell": "BH-W-000", "street": WEST, "on_duty": True},
        )
    )
    for key, name, code, street, cell in (
        ("ENT-A", NAME_A, USCC_A, WEST, "BH-W-000"),
        ("ENT-B", NAME_B, USCC_B, WEST, None),
        ("ENT-C", NAME_C, USCC_C, EAST, "BH-E-000"),
    ):
        attrs = {"name": name, "uscc": code, "street": street, "address": f"{street}1号"}
        attrs |= {"legal_representative": "王建国", "legal_representative_phone": "13600001111"}
        out.append(
            record(
                "Enterprise", key, "market-registry", attrs | ({"grid_cell": cell} if cell else {})
            )
        )
    # firm A as the east street's finance office knows it: no code, joined by its name (0.8)
    attrs = {"name": NAME_A, "street": EAST, "address": "东区街道9号", "firm_type_name": "融资租赁"}
    out.append(record("FinanceFirm", "FIN-E-1", "finance-registry", attrs))
    for key, firm, who, street, cell in (
        ("CMP-W-1", NAME_A, "诸葛春华", WEST, "BH-W-000"),
        ("CMP-E-1", NAME_A, "上官秋月", EAST, "BH-E-000"),
        ("CMP-E-2", NAME_B, "上官秋月", EAST, "BH-W-000"),
    ):
        attrs = {"respondent_name": firm, "complainant": who, "category": "虚假宣传"}
        out.append(
            record("Complaint", key, "complaints", attrs | {"street": street, "grid_cell": cell})
        )
    for key, street, cell in (("LE-W-1", WEST, "BH-W-000"), ("LE-E-1", EAST, "BH-E-000")):
        attrs = {"party_name": NAME_A, "party_uscc": USCC_A, "violation": "虚假宣传"}
        out.append(
            record(
                "EnforcementCase",
                key,
                "law-enforcement",
                attrs | {"street": street, "grid_cell": cell},
            )
        )
    out.append(
        record(
            "ServiceApplication",
            "SA-W-1",
            "gov-services",
            {"citizen": "CIT-W-2", "enterprise": "ENT-B", "street": WEST, "title": "营业执照变更"},
        )
    )
    return out


COUNTER = """name = "graph-counter"
subject = "client:g-counter"
[types."*"]
aggregate_only = true
"""
GRID_ONLY = """name = "graph-grid"
subject = "client:g-grid"
[types.GridCell]
[types.Inspector]
purpose = ["grid-inspection"]
[types."*"]
aggregate_only = true
"""
WEST_DEPARTMENT = f"""name = "graph-west"
subject = "client:g-west"
clearance = "sensitive"
principals = {{ "client:g-west" = {{ street = "{WEST}" }} }}
[types."*"]
fields = ["*"]
row_filter = "record.street == principal.street"
"""

ENTITY = """query($id: String!) { entity360(id: $id) { id type label confidence
  sources { kind key attrs }
  relations(first: 100) { rel direction source { kind key } other { id type label } }
  neighbourhood(hops: 2, limit: 200) {
    entities { id type label } edges { from rel to source { kind key } } } } }"""
PATH = """query($a: String!, $b: String!) {
  entityPath(source: $a, target: $b) { from rel to source { kind key } } }"""
SEARCH = """{ search(query: "有限公司", types: ["Enterprise"]) {
  edges { node { key entity { id label } } } } }"""
NODE = """query($id: ID!) { node(id: $id) { id ... on Entity { label } } }"""


@pytest.fixture(scope="module", params=["sqlite", pytest.param("neo4j", marks=pytest.mark.neo4j)])
def hub(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """The hub over the two streets, its graph in SQLite or in the test Neo4j."""
    folder: Path = tmp_path_factory.mktemp("graph-policy")
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.upsert(graph_city())
    settings = load_settings(data_dir=folder, graphql_max_depth=10)
    graph = open_graph(neo4j_graph_url() if request.param == "neo4j" else settings.graph_store_url)
    search = open_search(settings.search_store_url)
    rebuild(store, graph, search, secret=settings.effective_secret())
    app = create_app(settings, store=store, graph=graph, search=search)
    with TestClient(app) as http:
        hub = Hub(app, http, AccountStore(store.engine), app.state.policy_workflow)
        for source in (COUNTER, GRID_ONLY, WEST_DEPARTMENT):
            hub.publish(source)
        yield hub
        if isinstance(graph, Neo4jGraph):
            graph.drop()


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {
        "counter": hub.token("g-counter", client_id="g-counter"),
        "grid": hub.token("g-grid", client_id="g-grid"),
        "west": hub.token("g-west", client_id="g-west", role="department"),
        "viewer": person_token(hub, "graph-viewer", "partner-viewer", "graph:read"),
        "operator": person_token(hub, "graph-operator", "operator", "graph:read"),
        "steward": person_token(hub, "graph-steward", "steward", "graph:read"),
    }


def ask(
    hub: Hub, token: str, query: str, purpose: str | None = None, **variables: Any
) -> tuple[dict[str, Any], str]:
    """The answer and its body text with JSON's escapes undone (the hub escapes Chinese as
    ``\\uXXXX``): what is scanned for hidden values."""
    headers = {"Authorization": f"Bearer {token}"}
    response = hub.http.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers=headers | ({"Cityhub-Purpose": purpose} if purpose else {}),
    )
    assert response.status_code == 200, response.text
    body = dict(response.json())
    return body, response.text + json.dumps(body, ensure_ascii=False)


def none_of(text: str, values: list[str]) -> None:
    leaked = [v for v in values if v in text]
    assert not leaked, f"leaked {leaked} in {text[:400]}"


def messages(body: dict[str, Any]) -> list[str]:
    return [str(e["message"]) for e in body.get("errors") or []]


def test_a_counts_only_partner_is_refused_every_graph_path(
    hub: Hub, tokens: dict[str, str]
) -> None:
    token = tokens["counter"]
    everything = [NAME_A, NAME_B, "CIT-", "CMP-", "LE-", "欧阳", "诸葛", "司马", "上官", "网格"]
    for query, variables in (
        (ENTITY, {"id": FIRM_A}),
        (ENTITY, {"id": "Citizen:CIT-W-1"}),
        (ENTITY, {"id": CELL_W}),
        (PATH, {"a": FIRM_A, "b": CELL_W}),
        (NODE, {"id": to_base64("Entity", FIRM_A)}),
    ):
        body, text = ask(hub, token, query, **variables)
        assert messages(body) == [COUNTS_ONLY], body
        none_of(text, everything)
    body, text = ask(hub, token, SEARCH)
    assert body["data"]["search"]["edges"] == []
    none_of(text, everything)


def test_a_partner_with_the_grid_alone_sees_the_cell_and_nothing_it_joins(
    hub: Hub, tokens: dict[str, str]
) -> None:
    body, text = ask(hub, tokens["grid"], ENTITY, id=CELL_W)
    cell = body["data"]["entity360"]
    assert cell["label"] == "西区第1网格"
    assert [(f["kind"], f["key"]) for f in cell["sources"]] == [("GridCell", "BH-W-000")]
    assert cell["relations"] == []  # residents, firms, complaints: counts only for it
    assert [e["id"] for e in cell["neighbourhood"]["entities"]] == [to_base64("Entity", CELL_W)]
    assert cell["neighbourhood"]["edges"] == []
    none_of(text, [NAME_A, "CIT-", "CMP-", "LE-", "INS-", "欧阳", "诸葛", "Person"])
    # its inspectors need a stated purpose: without one they are left out, not an error
    body, text = ask(hub, tokens["grid"], ENTITY, purpose="grid-inspection", id=CELL_W)
    cell = body["data"]["entity360"]
    assert [(r["rel"], r["source"]["key"], r["other"]["label"]) for r in cell["relations"]] == [
        ("ASSIGNED_TO", "INS-W-1", "欧阳**")  # the person as the inspector record shows it
    ]
    none_of(text, [NAME_A, "CIT-", "CMP-", "LE-", "诸葛", "欧阳明华", "13812345678"])
    for hidden in (FIRM_A, "Citizen:CIT-W-1", "Inspector:INS-W-1"):
        body, text = ask(hub, tokens["grid"], ENTITY, id=hidden)
        assert messages(body) == [f"no entity for {hidden!r}"]  # as if it did not exist
        none_of(text, [NAME_A, "欧阳", "138"])


def test_a_department_of_one_street_sees_its_street_only(hub: Hub, tokens: dict[str, str]) -> None:
    token = tokens["west"]
    body, text = ask(hub, token, ENTITY, id=FIRM_A)
    firm = body["data"]["entity360"]
    assert firm["label"] == NAME_A
    assert firm["confidence"] == 1.0  # the east finance office's weaker match is not told
    assert {f["key"] for f in firm["sources"]} == {"ENT-A", "CMP-W-1", "LE-W-1"}
    assert {(r["rel"], r["other"]["id"]) for r in firm["relations"]} == {
        ("LOCATED_IN", to_base64("Entity", CELL_W)),
        ("CONCERNS", to_base64("Entity", "Complaint:CMP-W-1")),
        ("CONCERNS", to_base64("Entity", "EnforcementCase:LE-W-1")),
    }
    hood = firm["neighbourhood"]
    people = sorted(e["label"] for e in hood["entities"] if e["type"] == "Person")
    assert people == ["欧阳**", "诸葛**"]  # the west cell's residents, names masked
    assert {e["source"]["key"] for e in hood["edges"]} <= {
        "ENT-A", "CMP-W-1", "LE-W-1", "CIT-W-1", "CIT-W-2", "INS-W-1",
    }  # fmt: skip
    none_of(text, EAST_SECRETS + PERSONAL)

    # the west cell: its residents, not the east resident's complaint located in it
    body, text = ask(hub, token, ENTITY, id=CELL_W)
    ids = {e["id"] for e in body["data"]["entity360"]["neighbourhood"]["entities"]}
    assert to_base64("Entity", "Complaint:CMP-W-1") in ids
    none_of(text, EAST_SECRETS + PERSONAL)

    for hidden in ("Citizen:CIT-E-1", CELL_E, "Complaint:CMP-E-2", "Enterprise:ENT-C"):
        body, text = ask(hub, token, ENTITY, id=hidden)
        assert messages(body) == [f"no entity for {hidden!r}"]
        none_of(text, ["司马", "上官", NAME_C, USCC_C, "13998765432"])

    # firm B reaches the west cell in two hops only through an east complaint: the path
    # served is the longer one over what the department may see
    body, text = ask(hub, token, PATH, a=FIRM_B, b=CELL_W)
    path = body["data"]["entityPath"]
    assert [step["rel"] for step in path] == ["APPLIED", "APPLIED", "LOCATED_IN"]
    assert {step["source"]["key"] for step in path} == {"SA-W-1", "CIT-W-2"}
    none_of(text, EAST_SECRETS)
    body, _ = ask(hub, token, PATH, a=FIRM_A, b="Citizen:CIT-E-1")
    assert messages(body) == ["no entity for 'Citizen:CIT-E-1'"]

    # node(id): a hidden entity answers as one that does not exist
    hidden, _ = ask(hub, token, NODE, id=to_base64("Entity", "Complaint:CMP-E-1"))
    missing, _ = ask(hub, token, NODE, id=to_base64("Entity", "Complaint:CMP-X-9"))
    assert hidden["data"] == missing["data"]
    assert [m.replace("CMP-E-1", "?") for m in messages(hidden)] == [
        m.replace("CMP-X-9", "?") for m in messages(missing)
    ]
    shown, _ = ask(hub, token, NODE, id=to_base64("Entity", "Complaint:CMP-W-1"))
    assert shown["data"]["node"]["label"] == "CMP-W-1"
    nodes = "query($ids: [ID!]!) { nodes(ids: $ids) { ... on Entity { label } } }"
    west = [to_base64("Entity", i) for i in ("Complaint:CMP-W-1", "EnforcementCase:LE-W-1")]
    body, _ = ask(hub, token, nodes, ids=west)
    assert [n["label"] for n in body["data"]["nodes"]] == ["CMP-W-1", "LE-W-1"]
    body, text = ask(hub, token, nodes, ids=[*west, to_base64("Entity", CELL_E)])
    assert body["data"] is None and len(messages(body)) == 1
    none_of(text.replace(to_base64("Entity", CELL_E), ""), ["东区第1网格", "CMP-W-1"])

    body, text = ask(hub, token, SEARCH)
    found = {
        e["node"]["key"]: e["node"]["entity"]["label"] for e in body["data"]["search"]["edges"]
    }
    assert found == {"ENT-A": NAME_A, "ENT-B": NAME_B}
    none_of(text, [NAME_C, "ENT-C", USCC_C])


def test_a_partner_viewer_sees_every_street_with_people_masked(
    hub: Hub, tokens: dict[str, str]
) -> None:
    token = tokens["viewer"]
    body, text = ask(hub, token, ENTITY, id=FIRM_A)
    firm = body["data"]["entity360"]
    assert {f["key"] for f in firm["sources"]} == {
        "ENT-A", "FIN-E-1", "CMP-W-1", "CMP-E-1", "LE-W-1", "LE-E-1",
    }  # fmt: skip
    assert firm["confidence"] == 0.8
    registry = next(f for f in firm["sources"] if f["key"] == "ENT-A")["attrs"]
    assert registry["legal_representative_phone"] == "136****1111"
    people = {e["label"] for e in firm["neighbourhood"]["entities"] if e["type"] == "Person"}
    assert people and all(label.endswith("**") for label in people)
    none_of(text, [*PERSONAL, "欧阳明华"])
    body, _ = ask(hub, token, PATH, a=FIRM_B, b=CELL_W)
    path = body["data"]["entityPath"]
    assert [step["source"]["key"] for step in path] == ["CMP-E-2", "CMP-E-2"]  # the shortest
    body, text = ask(hub, token, ENTITY, id="Citizen:CIT-E-1")
    assert body["data"]["entity360"]["label"] == "司马**"
    none_of(text, PERSONAL)


def test_an_operator_sees_a_name_its_policy_reveals_in_the_label(
    hub: Hub, tokens: dict[str, str]
) -> None:
    token = tokens["operator"]
    body, text = ask(hub, token, ENTITY, id="Citizen:CIT-W-1")
    person = body["data"]["entity360"]
    assert person["type"] == "Person" and person["label"] == "欧阳明华"  # as an inspector
    names = {f["kind"]: f["attrs"]["name"] for f in person["sources"]}
    assert names == {"Citizen": "欧阳**", "Inspector": "欧阳明华"}
    none_of(text, ["120116199001011234"])
    body, text = ask(hub, token, ENTITY, id="Citizen:CIT-E-1")
    assert body["data"]["entity360"]["label"] == "司马**"  # a resident only: masked
    none_of(text, PERSONAL)


def test_a_steward_reads_every_street_with_personal_data_masked(
    hub: Hub, tokens: dict[str, str]
) -> None:
    body, text = ask(hub, tokens["steward"], ENTITY, id=FIRM_A)
    firm = body["data"]["entity360"]
    assert len(firm["sources"]) == 6 and len(firm["relations"]) == 5
    assert {e["label"] for e in firm["neighbourhood"]["entities"] if e["type"] == "Person"} == {
        "欧阳**", "诸葛**",
    }  # fmt: skip
    none_of(text, [*PERSONAL, "欧阳明华"])


def test_the_audit_entry_names_what_was_served(hub: Hub, tokens: dict[str, str]) -> None:
    ask(hub, tokens["west"], ENTITY, id=FIRM_A)
    log = AuditLog(hub.app.state.store.engine)
    entry = log.page(first=1, action="graphql.read")[0][0]
    ids: dict[str, list[str]] = entry.entry["ids"]
    assert {FIRM_A, CELL_W, "Complaint:CMP-W-1"} <= set(ids["Entity"])
    assert ids["Complaint"] == ["CMP-W-1"] and ids["EnforcementCase"] == ["LE-W-1"]
    # the records stating the neighbourhood's relations (the residents of the west cell)
    assert ids["Citizen"] == ["CIT-W-1", "CIT-W-2"] and ids["Inspector"] == ["INS-W-1"]
    none_of(str(ids), EAST_SECRETS)


def test_bad_input_is_refused(hub: Hub, tokens: dict[str, str]) -> None:
    token = tokens["west"]
    hood = "query($id: String!) { entity360(id: $id) { neighbourhood(hops: 9) { edges { rel } } } }"
    body, _ = ask(hub, token, hood, id=FIRM_A)
    assert messages(body) == ["hops must be between 1 and 4, got 9"]
    body, _ = ask(
        hub, token, PATH.replace("target: $b)", "target: $b, maxHops: 0)"), a=FIRM_A, b=CELL_W
    )
    assert messages(body) == ["maxHops must be between 1 and 4, got 0"]
    response = hub.http.post(
        "/graphql",
        json={"query": "{ entity360(id: 7) { id } }"},
        headers={"Authorization": f"Bearer {token}", "Accept": "application/graphql-response+json"},
    )
    assert response.status_code == 400
