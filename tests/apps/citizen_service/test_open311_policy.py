"""Open311 (``/open311/v2``) under the same policy as GraphQL, end to end over HTTP with real
tokens: a counts-only partner, a partner with masks, a partner allowed three fields with a
purpose and a rate limit, a department of one street, a partner viewer, an operator, a
steward and a principal with the personal clearance. Each answer's raw body is scanned for
the values its policy hides."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.auth_helpers import bearer
from tests.policy.case_city import (
    CASES_PER_STREET,
    COUNTS_ONLY,
    EAST_ADDRESS,
    EAST_DEPARTMENT,
    EAST_ONLY,
    ID_NUMBER,
    MASKED_PARTNER,
    PERSONAL_CLEARANCE,
    PHONE,
    PLANTED,
    PLATE,
    WEST,
    case_city,
    case_key,
)
from tests.policy.conftest import EAST, Hub, hub_over, person_token

LIST = "/open311/v2/requests.json"
EAST_CASE = case_key(EAST, 3)
WEST_CASE = case_key(WEST, 3)

# The client: three fields, a purpose and two reads a minute.
THREE_FIELDS = """name = "three-fields"
subject = "client:three-fields"
[types.ServiceCase]
fields = ["subcategory", "status"]
purpose = ["case-followup"]
rate_limit = 2
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    yield from hub_over(tmp_path_factory.mktemp("open311-policy"), case_city())


def _absent(text: str, *values: str) -> None:
    for value in values:
        assert value not in text, f"{value!r} served"


def _by_id(rows: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {row["service_request_id"]: row for row in rows}


def test_a_counts_only_partner_reads_no_request(hub: Hub) -> None:
    hub.publish(COUNTS_ONLY)
    auth = bearer(hub.token("case-counter", client_id="case-counter"))
    for path in (LIST, f"/open311/v2/requests/{EAST_CASE}.json", "/open311/v2/requests.xml"):
        answer = hub.http.get(path, headers=auth)
        assert answer.status_code == 403, answer.text
        assert "ServiceCase is served to you as counts only" in answer.text
        _absent(answer.text, EAST_CASE, WEST_CASE, *PLANTED, *EAST_ONLY)


def test_three_fields_with_a_purpose_and_two_reads_a_minute(hub: Hub) -> None:
    hub.publish(THREE_FIELDS)
    auth = bearer(hub.token("three-fields", client_id="three-fields"))
    missing = hub.http.get(LIST, headers=auth)
    assert missing.status_code == 403
    assert "Cityhub-Purpose header, one of: case-followup" in missing.json()[0]["description"]
    purpose = auth | {"Cityhub-Purpose": "case-followup"}
    # a filter on a field it is not served would tell it the field: refused
    dated = hub.http.get(LIST, params={"start_date": "2026-01-01T00:00:00Z"}, headers=purpose)
    assert dated.status_code == 403 and "start_date" in dated.json()[0]["description"]
    answer = hub.http.get(LIST, headers=purpose)
    assert answer.status_code == 200, answer.text
    rows = answer.json()
    assert len(rows) == 2 * CASES_PER_STREET
    for row in rows:
        assert set(row) == {"service_request_id", "status", "service_code", "address_id",
                            "zipcode"}  # fmt: skip
        assert row["service_code"] == "C08-02" and row["status"] == "open"
    _absent(answer.text, *PLANTED, *EAST_ONLY, "区城市管理委员会", "路灯", "lat")
    limited = hub.http.get(f"/open311/v2/requests/{EAST_CASE}.json", headers=purpose)
    assert limited.status_code == 429
    assert "rate limit for ServiceCase: 2 requests per minute" in limited.text
    assert limited.headers["retry-after"] == "60"
    _absent(limited.text, *PLANTED, *EAST_ONLY)


def test_a_masked_partner_gets_masked_places_and_no_description(hub: Hub) -> None:
    hub.publish(MASKED_PARTNER)
    auth = bearer(hub.token("masked-cases", client_id="masked-cases"))
    answer = hub.http.get(f"/open311/v2/requests/{EAST_CASE}.json", headers=auth)
    assert answer.status_code == 200, answer.text
    (row,) = answer.json()
    assert "description" not in row and "expected_datetime" not in row
    assert row["lat"] is None and row["long"] is None
    assert row["address"] != EAST_ADDRESS and "*" in str(row["address"])
    assert row["agency_responsible"] == "区城市管理委员会" and row["service_name"] == "路灯"
    _absent(answer.text, *PLANTED, *EAST_ONLY, "井盖")
    xml = hub.http.get(f"/open311/v2/requests/{EAST_CASE}.xml", headers=auth)
    assert xml.status_code == 200 and "<description>" not in xml.text
    _absent(xml.text, *PLANTED, *EAST_ONLY)


def test_a_department_of_one_street_reads_its_own_cases_only(hub: Hub) -> None:
    hub.publish(EAST_DEPARTMENT)
    auth = bearer(hub.token("east-cases", client_id="east-cases", role="department"))
    listed = hub.http.get(LIST, headers=auth)
    assert listed.status_code == 200, listed.text
    rows = _by_id(listed.json())
    assert set(rows) == {case_key(EAST, i) for i in range(CASES_PER_STREET)}
    # its own street's cases, the description and the address scrubbed as on GraphQL: a
    # department has no personal clearance
    assert rows[EAST_CASE]["address"] == EAST_ADDRESS.replace("777", "***")
    description = str(rows[EAST_CASE]["description"])
    assert "139****6666" in description and "津A" in description
    _absent(listed.text, *PLANTED, WEST_CASE)
    # the other street's case is "no service request", as one that does not exist
    hidden = hub.http.get(f"/open311/v2/requests/{WEST_CASE}.json", headers=auth)
    nothing = hub.http.get("/open311/v2/requests/CASE-W-999.json", headers=auth)
    assert hidden.status_code == nothing.status_code == 404
    assert hidden.json()[0]["description"].replace(WEST_CASE, "?") == nothing.json()[0][
        "description"
    ].replace("CASE-W-999", "?")
    named = hub.http.get(
        LIST, params={"service_request_id": f"{WEST_CASE},{EAST_CASE}"}, headers=auth
    )
    assert [r["service_request_id"] for r in named.json()] == [EAST_CASE]


@pytest.mark.parametrize("role", ["partner-viewer", "operator", "steward"])
def test_people_without_the_personal_clearance_get_descriptions_scrubbed(
    hub: Hub, role: str
) -> None:
    token = person_token(hub, f"o311-{role}", role, "graph:read")
    listed = hub.http.get(LIST, headers=bearer(token))
    assert listed.status_code == 200, listed.text
    rows = _by_id(listed.json())
    assert set(rows) == {case_key(s, i) for s in (WEST, EAST) for i in range(CASES_PER_STREET)}
    assert "139****6666" in str(rows[EAST_CASE]["description"])
    _absent(listed.text, *PLANTED)


def test_the_personal_clearance_reads_descriptions_whole(hub: Hub) -> None:
    hub.publish(PERSONAL_CLEARANCE)
    auth = bearer(hub.token("case-auditor", client_id="case-auditor"))
    (row,) = hub.http.get(f"/open311/v2/requests/{EAST_CASE}.json", headers=auth).json()
    for value in (PHONE, ID_NUMBER, PLATE):
        assert value in str(row["description"])


def test_pages_are_bounded(hub: Hub) -> None:
    auth = bearer(hub.token("pager", role="partner"))
    assert hub.http.get(LIST, params={"page_size": "1000"}, headers=auth).status_code == 400
    assert hub.http.get(LIST, params={"page_size": "0"}, headers=auth).status_code == 400
    assert hub.http.get(LIST, params={"page": "-1"}, headers=auth).status_code == 400
    assert hub.http.get(LIST, params={"page_size": "x"}, headers=auth).status_code == 400
    many = ",".join(f"CASE-{i}" for i in range(101))
    assert hub.http.get(LIST, params={"service_request_id": many}, headers=auth).status_code == 400
    first = hub.http.get(LIST, params={"page_size": "5"}, headers=auth).json()
    second = hub.http.get(LIST, params={"page_size": "5", "page": "2"}, headers=auth).json()
    third = hub.http.get(LIST, params={"page_size": "5", "page": "3"}, headers=auth).json()
    assert [len(first), len(second), len(third)] == [5, 5, 2 * CASES_PER_STREET - 10]
    ids = [r["service_request_id"] for r in first + second + third]
    assert len(set(ids)) == 2 * CASES_PER_STREET


READ_ONLY = """name = "read-only-app"
subject = "client:read-only-app"
clearance = "internal"
[types.ServiceCase]
fields = ["*"]
"""


def test_filing_is_judged_by_the_write_side_and_refusals_are_on_record(hub: Hub) -> None:
    """A client that may read cases but whose policy takes no step files nothing over
    Open311 (as over GraphQL), and each refusal — the filing, a counts-only read — leaves an
    audit entry with its reason and the client."""
    hub.publish(READ_ONLY)
    auth = bearer(hub.token("read-only-app", client_id="read-only-app"))
    log = hub.app.state.audit
    before = hub.app.state.store.count("ServiceCase")
    mark = log.head()[0]
    posted = hub.http.post(
        LIST,
        data={
            "service_code": "C08-02",
            "lat": "39.005",
            "long": "117.705",
            "description": "路灯坏了",
        },
        headers=auth,
    )
    assert posted.status_code == 403, posted.text
    assert "not a step policy read-only-app" in posted.text, posted.text
    assert hub.app.state.store.count("ServiceCase") == before
    hub.publish(COUNTS_ONLY.replace("case-counter", "case-counter-2"))
    counted = bearer(hub.token("case-counter-2", client_id="case-counter-2"))
    assert hub.http.get(LIST, headers=counted).status_code == 403
    entries, _, _ = log.page(first=100)
    later = [e for e in entries if e.seq > mark]
    refused = [e for e in later if e.action == "request.refused"]
    by_client = {e.client_id: e.entry["detail"] for e in refused}
    assert by_client["read-only-app"]["reason"] == "policy", by_client
    assert by_client["read-only-app"]["status"] == 403
    assert by_client["read-only-app"]["path"] == LIST
    assert by_client["case-counter-2"]["reason"] == "policy", by_client
    assert "counts only" in by_client["case-counter-2"]["why"]
    assert any(e.action == "write.refused" for e in later), [e.action for e in later]
