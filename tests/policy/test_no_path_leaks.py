"""The policy's promise as a property: for random policies and random principals, no answer
from any path contains a value the policy hides.

A two-street city with service cases whose free text carries planted personal data (a phone,
an ID number with a valid check digit, a flat's address). For each drawn policy a new partner
client is registered, the policy published for it (four eyes), and every read path asked with
its real token: the record lists, ``node``, ``serviceCase``, ``entity360`` (facts, relations,
neighbourhood), ``entityPath``, ``search`` (hits, snippets, entities, counts), the case
statistics and Open311. Each raw body is scanned for every value the drawn policy hides — rows
outside the row filter, types not readable or counts only, fields not listed, above the
clearance or masked, personal data (no drawn policy reveals it) — and for any unmasked phone or
ID number pattern at all.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.hub.city import WHEN
from tests.policy.conftest import EAST, Hub, hub_over, two_streets
from tests.security.small_hub import duty_catalog

WEST = "测试街道"
TYPES = ("GridCell", "Inspector", "ServiceCase")
LEVEL = {"public": 0, "internal": 1, "sensitive": 2}
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_counter = itertools.count()


def id_number(body17: str) -> str:
    """A GB 11643 citizen ID number with its check digit (ISO 7064 MOD 11-2)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    total = sum(int(d) * w for d, w in zip(body17, weights, strict=True))
    return body17 + "10X98765432"[total % 11]


@dataclass(frozen=True)
class Checked:
    """One value of one field of one row: hidden unless the policy serves that field of that
    row whole."""

    type_name: str
    street: str
    names: tuple[str, ...]  # the field's GraphQL and record names
    level: str  # public | internal | sensitive | personal
    value: str


def planted_cases() -> tuple[list[Record], list[Checked]]:
    records: list[Record] = []
    checked: list[Checked] = []
    cells = {WEST: ("BH-T-001", 117.715, 39.005), EAST: ("BH-E-001", 117.815, 39.105)}
    for n, (street, (cell, lon, lat)) in enumerate(
        (s, c) for s, c in cells.items() for _ in range(2)
    ):
        phone = f"1390022{n:04d}"
        ident = id_number(f"12011619850303{n:03d}")
        key = f"SC-LEAK-{n:03d}"
        content = (
            f"楼道堆放杂物第{n}起，联系电话{phone}，身份证{ident}，"
            f"住址海河路{88 + n}号3栋2单元50{n}室"
        )
        reporter = f"诸葛{'一二三四'[n]}明"
        reporter_phone = f"1370033{n:04d}"
        address = f"滨海新区第{n}大街{200 + n}号"
        records.append(
            Record(
                kind="ServiceCase",
                key=key,
                source_system="hotline-12345",
                source_id=f"h{n}",
                fetched_at=WHEN,
                attrs={
                    "channel": "12345热线",
                    "title": f"楼道杂物{n}",
                    "content": content,
                    "category": "C01",
                    "street": street,
                    "grid_cell": cell,
                    "address": address,
                    "reporter": reporter,
                    "reporter_phone": reporter_phone,
                    "status": "受理",
                    "reported_at": WHEN.isoformat(),
                    "history": [
                        {
                            "at": WHEN.isoformat(),
                            "actor": "hotline",
                            "action": "file",
                            "from": None,
                            "to": "received",
                            "note": f"回电{reporter_phone}确认",
                        }
                    ],
                },
                geometry={"type": "Point", "coordinates": [lon, lat]},
                datum="GCJ-02",
            )
        )
        # the free text is internal, but the personal data in it is hidden from all of them
        checked += [
            Checked("ServiceCase", street, ("description", "content"), "internal", content),
            Checked("ServiceCase", street, ("description", "content"), "personal", phone),
            Checked("ServiceCase", street, ("description", "content"), "personal", ident),
            # a case's address is where the reporter met the problem, often their home: its
            # house number is masked like free text's
            Checked("ServiceCase", street, ("address",), "personal", address),
            Checked("ServiceCase", street, ("reporterName", "reporter"), "personal", reporter),
            Checked(
                "ServiceCase",
                street,
                ("reporterPhone", "reporter_phone"),
                "personal",
                reporter_phone,
            ),
        ]
    return records, checked


def city_values(records: list[Record]) -> list[Checked]:
    """The grid's values that only their own field of their own row may show."""
    out: list[Checked] = []
    for record in records:
        street = str(record.attrs.get("street") or (EAST if "-E-" in record.key else WEST))
        if record.kind == "GridCell":
            out.append(Checked("GridCell", street, ("name",), "public", record.attrs["name"]))
        elif record.kind == "Inspector":
            out.append(Checked("Inspector", street, ("name",), "personal", record.attrs["name"]))
            out.append(Checked("Inspector", street, ("phone",), "personal", record.attrs["phone"]))
    return out


@st.composite
def type_rules(draw: st.DrawFn, type_name: str) -> dict[str, Any] | None:
    shape = draw(st.sampled_from(["absent", "counts", "rows", "rows", "rows"]))
    if shape == "absent":
        return None
    if shape == "counts":
        return {"aggregate_only": True}
    fields = {
        "GridCell": ["code", "name", "street", "inspector", "areaKm2", "population"],
        "Inspector": ["name", "phone", "gridCell", "onDuty", "duties"],
        "ServiceCase": [
            "title",
            "description",
            "address",
            "street",
            "status",
            "history",
            "reporterName",
            "reporterPhone",
            "category",
        ],
    }[type_name]
    rule: dict[str, Any] = {
        "fields": ["*"]
        if draw(st.booleans())
        else draw(st.lists(st.sampled_from(fields), min_size=1, unique=True))
    }
    masked = draw(st.lists(st.sampled_from(fields), max_size=2, unique=True))
    if masked:
        rule["masks"] = {name: "redact" for name in masked}
    street = draw(st.sampled_from([None, WEST, EAST]))
    if street is not None:
        rule["row_filter"] = f"record.street == '{street}'"
    if draw(st.integers(0, 5)) == 0:
        rule["purpose"] = ["leak-test"]  # never sent: the type is refused
    return rule


@st.composite
def policies(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "clearance": draw(st.sampled_from(sorted(LEVEL))),
        "types": {t: draw(type_rules(t)) for t in TYPES},
    }


def toml_of(name: str, subject: str, drawn: dict[str, Any]) -> str:
    lines = [f'name = "{name}"', f'subject = "{subject}"', f'clearance = "{drawn["clearance"]}"']
    for type_name, rule in drawn["types"].items():
        if rule is None:
            continue
        lines.append(f"[types.{type_name}]")
        for key, value in rule.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            elif isinstance(value, str):
                lines.append(f'{key} = "{value}"')
            elif isinstance(value, list):
                lines.append(
                    f"{key} = [{', '.join(repr(v).replace(chr(39), chr(34)) for v in value)}]"
                )
            elif isinstance(value, dict):
                inner = ", ".join(f'{k} = "{v}"' for k, v in value.items())
                lines.append(f"{key} = {{ {inner} }}")
    return "\n".join(lines) + "\n"


def served_whole(drawn: dict[str, Any], item: Checked) -> bool:
    """Whether the drawn policy may serve ``item``'s value whole on some path."""
    rule = drawn["types"][item.type_name]
    if rule is None or rule.get("aggregate_only") or rule.get("purpose"):
        return False
    if item.level == "personal":  # no drawn policy has the personal clearance or a reveal
        return False
    if LEVEL[drawn["clearance"]] < LEVEL[item.level]:
        return False
    filtered = rule.get("row_filter")
    if filtered and f"'{item.street}'" not in filtered:
        return False
    fields = rule["fields"]
    if "*" not in fields and not any(n in fields for n in item.names):
        return False
    return not any(n in rule.get("masks", {}) for n in item.names)


@dataclass
class LeakyCity:
    hub: Hub
    checked: list[Checked]


@pytest.fixture(scope="module")
def leaky_city(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LeakyCity]:
    cases, checked = planted_cases()
    city = two_streets()
    folder = tmp_path_factory.mktemp("leaks")
    for found in hub_over(folder, city + cases + duty_catalog()):
        yield LeakyCity(found, city_values(city) + checked)


QUERIES = {
    "grid": "{ gridCells(first: 100) { totalCount edges { node { id code name street areaKm2 "
    "inspector { id name phone } } } } }",
    "inspectors": "{ inspectors(first: 100) { totalCount edges { node { id name phone onDuty "
    "gridCell { code name } } } } }",
    "cases": "{ serviceCases(first: 100) { totalCount edges { node { id title description "
    "address street status reporterName reporterPhone history { note actor } } } } }",
    "case": '{ serviceCase(id: "SC-LEAK-002") { id title description address reporterName '
    "reporterPhone history { note } } }",
    "stats": "{ serviceCaseStats { total } }",
    "grid_names": "{ gridCells(first: 100) { edges { node { name } } } }",
    "search_cases": '{ search(query: "杂物", first: 50) { totalCount edges { node { kind key '
    "title snippet entity { id label } } } } }",
    "search_grid": '{ search(query: "网格", first: 50) { totalCount edges { node { kind key '
    "title snippet entity { id label } } } } }",
}
ENTITY_REFS = (
    "GridCell:BH-T-001",
    "GridCell:BH-E-001",
    "ServiceCase:SC-LEAK-002",
    "Inspector:INS-E-001",
    "ServiceCase:SC-LEAK-000",
)
ENTITY = (
    "query($id: String!) { entity360(id: $id) { id type label sources { kind key attrs } "
    "relations(first: 50) { rel other { id label } } "
    "neighbourhood(hops: 2, limit: 100) { entities { id label } edges { from to rel } } } }"
)
PATH = (
    '{ entityPath(source: "GridCell:BH-T-001", target: "GridCell:BH-E-001", maxHops: 4) '
    "{ from to rel source { kind key } } }"
)
# fields whose every served value the type's own list shows (the list query's name)
LISTED = {"name": "grid_names"}
OPEN311 = ("/open311/v2/requests.json", "/open311/v2/requests/SC-LEAK-003.json")


def readable(response: Any) -> str:
    """A body as text with its JSON escapes undone (``\\u4e1c`` → 东), so a scan finds the
    values however they were encoded."""
    try:
        return json.dumps(response.json(), ensure_ascii=False)
    except ValueError:
        return str(response.text)


def bodies(hub: Hub, token: str) -> dict[str, str]:
    """Every path's answer for one principal."""
    out: dict[str, str] = {}
    post = hub.http.post
    for name, query in QUERIES.items():
        out[name] = readable(post("/graphql", json={"query": query}, headers=bearer(token)))
    out["path"] = readable(post("/graphql", json={"query": PATH}, headers=bearer(token)))
    for ref in ENTITY_REFS:
        answer = post(
            "/graphql", json={"query": ENTITY, "variables": {"id": ref}}, headers=bearer(token)
        )
        out[f"entity360 {ref}"] = readable(answer)
    for route in OPEN311:
        out[route] = readable(hub.http.get(route, headers=bearer(token)))
    return out


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(drawn=policies())
def test_no_path_serves_a_value_the_policy_hides(
    leaky_city: LeakyCity, drawn: dict[str, Any]
) -> None:
    hub = leaky_city.hub
    n = next(_counter)
    name = f"leak-probe-{n}"
    client_id, secret = register_client(hub.app, name, role="partner")
    hub.publish(toml_of(name, f"client:{client_id}", drawn))
    token = fetch_token(hub.http, client_id, secret)
    hidden = [c for c in leaky_city.checked if not served_whole(drawn, c)]
    assert hidden  # personal data is always among them
    answers = bodies(hub, token)
    for path, body in answers.items():
        for item in hidden:
            assert item.value not in body, (
                f"{path} served {item.type_name}.{item.names[0]} of {item.street} "
                f"({item.value[:12]}…) hidden by {drawn}"
            )
        assert not PHONE.search(body), f"{path}: an unmasked phone number: {body[:400]}"
        assert not ID_NUMBER.search(body), f"{path}: an unmasked ID number: {body[:400]}"
    # and not hidden more than it says: what it serves whole, the type's own list shows
    shown = [c for c in leaky_city.checked if served_whole(drawn, c) and c.names[0] in LISTED]
    for item in shown:
        listing = LISTED[item.names[0]]
        assert item.value in answers[listing], f"{listing} lacks {item.value} under {drawn}"


CASE_UPDATES = "subscription { caseUpdates { caseId status note gridCell } }"


def test_a_subscription_streams_only_the_rows_and_text_the_policy_shows(
    leaky_city: LeakyCity,
) -> None:
    """Over WebSocket: a client shown one street's cases subscribes to case updates; an
    update of the other street's case, published first, never reaches it, and the phone
    number typed into its own case's note arrives masked."""
    hub = leaky_city.hub
    client_id, secret = register_client(hub.app, "leak-probe-socket", role="partner")
    drawn = {
        "clearance": "internal",
        "types": {
            "GridCell": None,
            "Inspector": None,
            "ServiceCase": {"fields": ["*"], "row_filter": f"record.street == '{WEST}'"},
            "CaseUpdate": {"fields": ["*"]},  # the stream's fields; its rows are the cases'
        },
    }
    hub.publish(toml_of("leak-probe-socket", f"client:{client_id}", drawn))
    token = fetch_token(hub.http, client_id, secret)
    live = hub.app.state.hub.live

    def update(case: str, street: str, note: str) -> dict[str, Any]:
        return {
            "case_id": case,
            "status": "verifying",
            "previous_status": "received",
            "at": WHEN.isoformat(),
            "actor": "operator",
            "note": note,
            "street": street,
            "grid_cell": "BH-E-001" if street == EAST else "BH-T-001",
            "category": "C01",
            "channel": "12345热线",
        }

    with hub.http.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        assert ws.receive_json()["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "s", "payload": {"query": CASE_UPDATES}})
        listening = threading.Event()
        portal = hub.http.portal
        assert portal is not None  # the client is open (inside its ``with``)

        def publish_until_heard() -> None:
            # the subscription starts listening at a moment the socket does not tell: publish
            # the other street's update, then its own, until updates are heard
            while not listening.is_set():
                portal.call(live.publish_case, update("SC-LEAK-002", EAST, "东区回电13911112222"))
                portal.call(live.publish_case, update("SC-LEAK-000", WEST, "已回电13933334444核实"))
                time.sleep(0.05)

        publisher = threading.Thread(target=publish_until_heard, daemon=True)
        publisher.start()
        try:
            for _ in range(3):  # an east update before any of these would be a leak
                got = ws.receive_json()
                assert got["type"] == "next", got
                assert got["payload"].get("data"), got
                text = json.dumps(got, ensure_ascii=False)
                assert "SC-LEAK-002" not in text and "13911112222" not in text, text
                assert got["payload"]["data"]["caseUpdates"]["caseId"] == "SC-LEAK-000"
                assert "13933334444" not in text and "139****4444" in text, text
        finally:
            listening.set()
            publisher.join(timeout=5)
        ws.send_json({"type": "complete", "id": "s"})
