"""Personal data typed into free text, end to end over HTTP with real tokens: service-case
descriptions, addresses and history notes, ``entity360`` facts and ``quarantinedRecords.raw``
are served scrubbed (``hub.policy.free_text``) to a partner viewer, an operator, a steward and
a department of one street, and whole to a principal with the personal clearance or a
``reveal`` of the field. Each raw body is scanned for the planted values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert

from hub.audit.log import AuditLog
from hub.graphql_schema import build_schema
from hub.ingest.tables import quarantine
from hub.policy.free_text import free_text_fields
from schema.classification import FREE_TEXT_FIELDS
from schema.record import Record
from tests.policy.case_city import (
    COUNTS_ONLY,
    EAST_DEPARTMENT,
    FLAT,
    ID_NUMBER,
    MASKED_PARTNER,
    PERSONAL_CLEARANCE,
    PHONE,
    PLATE,
    WEST,
    case_city,
    case_key,
)
from tests.policy.conftest import EAST, Hub, hub_over, person_token

EAST_CASE = case_key(EAST, 3)
NOTED_CASE = "CASE-W-NOTED"
CASE = f"""{{ serviceCase(id: "{EAST_CASE}") {{ title description address }} }}"""
FACTS = f'{{ entity360(id: "ServiceCase:{EAST_CASE}") {{ sources {{ kind attrs }} }} }}'
RAW = "{ quarantinedRecords(first: 10) { totalCount records { reason raw } } }"
# typed into the free text of the test city's east cases (tests/policy/case_city.py)
TYPED = (PHONE, ID_NUMBER, PLATE, "3栋2单元501室")
# in the quarantine: a card and a landline in a note, a mobile in a field of no known name
CARD = "6222021234567890128"  # Luhn right
LANDLINE = "022-25876543"
QUARANTINED_PHONE = "13611112222"
NOTE_PHONE = "15899990000"
NOTE = f"已电话联系{NOTE_PHONE}，住幸福路8号2栋1单元302室"
REVEALED = """name = "case-reader"
subject = "client:case-reader"
clearance = "internal"
[types.ServiceCase]
fields = ["title", "description", "address"]
reveal = ["description"]
"""


def _noted_case() -> Record:
    """A west-street case whose channel's history has a note with a phone and a flat."""
    west = next(r for r in case_city() if r.key == case_key(WEST, 4))
    event = {"at": west.fetched_at.isoformat(), "actor": "user:hotline", "action": "verify",
             "from": "filed", "to": "verified", "note": NOTE}  # fmt: skip
    return west.model_copy(update={"key": NOTED_CASE, "attrs": {**west.attrs, "history": [event]}})


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    for hub in hub_over(tmp_path_factory.mktemp("free-text"), [*case_city(), _noted_case()]):
        raw = {
            "reporter": "王某",
            "联系方式": QUARANTINED_PHONE,
            "备注": f"退款到卡号{CARD}，座机{LANDLINE}",
        }
        with hub.app.state.store.engine.begin() as conn:
            conn.execute(
                insert(quarantine),
                [
                    {
                        "source_system": "service-hotline",
                        "connector": "service-hotline",
                        "kind": "ServiceCase",
                        "raw": json.dumps(raw, ensure_ascii=False),
                        "reason": "reported_at: missing",
                        "received_at": datetime.now(UTC),
                    }
                ],
            )
        yield hub


@pytest.fixture(scope="module")
def auditor(hub: Hub) -> str:
    """A real token of a client whose policy grants the personal clearance."""
    hub.publish(PERSONAL_CLEARANCE)
    return hub.token("case-auditor", client_id="case-auditor")


def _absent(text: str, *values: str) -> None:
    for value in values:
        assert value not in text, f"{value!r} served"


def _read(hub: Hub, token: str, query: str) -> tuple[Any, str]:
    response = hub.http.post(
        "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    # the body as sent and decoded: JSON escapes Chinese (\uXXXX), a scan must see it
    return body, response.text + json.dumps(body, ensure_ascii=False)


def test_a_history_note_is_scrubbed_for_viewers_and_whole_for_the_clearance(
    hub: Hub, auditor: str
) -> None:
    query = f'{{ serviceCase(id: "{NOTED_CASE}") {{ history {{ action note }} }} }}'
    viewer = person_token(hub, "note-viewer", "partner-viewer", "graph:read")
    body, text = _read(hub, viewer, query)
    assert "errors" not in body, body
    (event,) = body["data"]["serviceCase"]["history"]
    assert event == {"action": "verify", "note": "已电话联系158****0000，住幸福路*号*栋*单元***室"}
    _absent(text, NOTE_PHONE, "2栋1单元302室")
    body, text = _read(hub, auditor, query)
    assert NOTE in text


@pytest.mark.parametrize("role", ["partner-viewer", "operator", "steward"])
def test_people_without_the_personal_clearance_read_descriptions_scrubbed(
    hub: Hub, role: str
) -> None:
    token = person_token(hub, f"free-{role}", role, "graph:read")
    body, text = _read(hub, token, CASE)
    assert "errors" not in body, body
    case = body["data"]["serviceCase"]
    description = str(case["description"])
    assert "139****6666" in description and "120101********7776" in description
    assert "津A****5" in description and "幸福路**号*栋*单元***室" in description
    assert case["address"] == "东区街道海滨大道***号"
    assert case["title"] == "东区街道路灯不亮"  # nothing in it
    _absent(text, *TYPED)
    if role == "operator":
        entry = AuditLog(hub.app.state.store.engine).page(first=1, action="graphql.read")[0][0]
        assert "ServiceCase.description" in entry.entry["fields_masked"]
        assert "ServiceCase.title" not in entry.entry["fields_masked"]


def test_a_department_of_one_street_reads_its_cases_scrubbed(hub: Hub) -> None:
    hub.publish(EAST_DEPARTMENT)
    token = hub.token("east-cases", client_id="east-cases", role="department")
    body, text = _read(hub, token, CASE)
    assert "errors" not in body, body
    assert "139****6666" in text
    _absent(text, *TYPED)
    listed, text = _read(
        hub, token, "{ serviceCases(first: 50) { edges { node { description } } } }"
    )
    assert "errors" not in listed, listed
    assert len(listed["data"]["serviceCases"]["edges"]) == 6
    _absent(text, *TYPED)


def test_counts_only_and_masked_partners_get_no_free_text(hub: Hub) -> None:
    hub.publish(COUNTS_ONLY)
    counter = hub.token("case-counter", client_id="case-counter")
    body, text = _read(hub, counter, CASE)
    assert body["data"] in (None, {"serviceCase": None})
    _absent(text, *TYPED, "路灯坏了")
    _, text = _read(hub, counter, FACTS)
    _absent(text, *TYPED, "路灯坏了")
    hub.publish(MASKED_PARTNER)
    masked = hub.token("masked-cases", client_id="masked-cases")
    body, text = _read(hub, masked, CASE)
    assert "ServiceCase.description is not available" in text
    _absent(text, *TYPED)


def test_the_personal_clearance_or_a_reveal_reads_them_whole(hub: Hub, auditor: str) -> None:
    body, text = _read(hub, auditor, CASE)
    description = str(body["data"]["serviceCase"]["description"])
    for value in (PHONE, ID_NUMBER, PLATE, FLAT):
        assert value in description
    assert "海滨大道777号" in text
    _, text = _read(hub, auditor, FACTS)
    for value in (PHONE, ID_NUMBER, PLATE, FLAT):
        assert value in text
    hub.publish(REVEALED)
    reader = hub.token("case-reader", client_id="case-reader")
    body, text = _read(hub, reader, CASE)
    case = body["data"]["serviceCase"]
    assert PHONE in str(case["description"])  # revealed
    assert case["address"] == "东区街道海滨大道***号"  # not revealed


@pytest.mark.parametrize("role", ["partner-viewer", "operator"])
def test_entity360_facts_are_scrubbed(hub: Hub, role: str) -> None:
    token = person_token(hub, f"facts-{role}", role, "graph:read")
    body, text = _read(hub, token, FACTS)
    assert "errors" not in body, body
    (fact,) = body["data"]["entity360"]["sources"]
    assert "139****6666" in fact["attrs"]["content"]
    assert fact["attrs"]["reporter_phone"] == "137****7777"  # the declared field: its mask
    assert fact["attrs"]["grid_cell"] == "BH-E-000" and fact["attrs"]["category"] == "C08"
    _absent(text, *TYPED)


def test_quarantined_raw_records_are_scrubbed_for_operators_and_stewards(hub: Hub) -> None:
    for role in ("operator", "steward"):
        token = person_token(hub, f"raw-{role}", role, "graph:read")
        body, text = _read(hub, token, RAW)
        assert "errors" not in body, body
        (record,) = body["data"]["quarantinedRecords"]["records"]
        assert record["raw"]["备注"] == "退款到卡号***************0128，座机022-****6543"
        assert record["raw"]["联系方式"] == "136****2222"
        _absent(text, CARD, LANDLINE, QUARANTINED_PHONE, "王某")
    # a steward whose own policy grants the personal clearance reads them whole
    hub.publish(
        """name = "raw-reader"
subject = "user:raw-clear"
clearance = "personal"
[types."*"]
"""
    )
    token = person_token(hub, "raw-clear", "steward", "graph:read")
    body, text = _read(hub, token, RAW)
    (record,) = body["data"]["quarantinedRecords"]["records"]
    assert CARD in record["raw"]["备注"] and LANDLINE in record["raw"]["备注"]
    assert QUARANTINED_PHONE in text


def test_every_declared_free_text_field_is_on_the_schema() -> None:
    table = free_text_fields(build_schema(max_depth=12, tracer_provider=None)._schema)
    for type_name, names in FREE_TEXT_FIELDS.items():
        assert set(table.get(type_name, {})) == names, type_name
    assert table["ServiceCase"]["description"] == "description"
