"""Issue 14: some writes were stored but reported as failed, so a client's retry filed a
duplicate case. Filings carry idempotency keys: a retry with the same key from the same caller
gets the first answer and no second row; another caller's same key is its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.store.tables import IdempotencyRow, RecordRow
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.security.small_hub import LAT, LON, small_hub

REQUESTS = "/open311/v2/requests.json"
FILE_CASE = """mutation($input: FileCaseInput!) {
  fileCase(input: $input) { id trackingNumber status } }"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with small_hub(tmp_path_factory.mktemp("idempotency")) as h:
        yield h


def _cases(hub: Hub) -> int:
    with hub.app.state.store.engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count()).select_from(RecordRow).where(RecordRow.kind == "ServiceCase")
            ).scalar_one()
        )


def _file(hub: Hub, token: str, key: str | None, description: str) -> dict[str, Any]:
    report: dict[str, Any] = {
        "channel": "HOTLINE",
        "description": description,
        "lon": LON,
        "lat": LAT,
    }
    if key is not None:
        report["idempotencyKey"] = key
    answer = hub.http.post(
        "/graphql", json={"query": FILE_CASE, "variables": {"input": report}}, headers=bearer(token)
    )
    body: dict[str, Any] = answer.json()
    return body


def test_a_retried_case_filing_files_once_and_answers_the_same(hub: Hub) -> None:
    operator = person_token(hub.http, hub.app, "idem-op", "operator", "graph:read")
    other = person_token(hub.http, hub.app, "idem-op-2", "operator", "graph:read")
    key = str(uuid.uuid4())
    before = _cases(hub)
    first = _file(hub, operator, key, "路灯不亮已经三天了")
    assert "errors" not in first, first
    again = _file(hub, operator, key, "路灯不亮已经三天了")
    assert again == first  # the same case, the same tracking number
    assert first["data"]["fileCase"]["trackingNumber"]
    assert _cases(hub) == before + 1
    # the same key from someone else is theirs: a case of its own
    theirs = _file(hub, other, key, "路灯不亮已经三天了")
    assert theirs["data"]["fileCase"]["id"] != first["data"]["fileCase"]["id"]
    assert _cases(hub) == before + 2
    # no key: every call files, as before
    _file(hub, operator, None, "井盖缺失")
    _file(hub, operator, None, "井盖缺失")
    assert _cases(hub) == before + 4
    # the answer kept is sealed: its tracking number is not in the store in the clear
    with hub.app.state.store.engine.connect() as conn:
        kept = conn.execute(select(IdempotencyRow.result)).scalars().all()
    number = first["data"]["fileCase"]["trackingNumber"]
    assert kept and number not in str(kept) and key not in str(kept)


def test_a_bad_key_is_refused_with_a_code(hub: Hub) -> None:
    operator = person_token(hub.http, hub.app, "idem-op", "operator", "graph:read")
    before = _cases(hub)
    refused = _file(hub, operator, "x" * 200, "路灯不亮")
    assert refused["errors"][0]["extensions"]["code"] == "BAD_IDEMPOTENCY_KEY"
    assert _cases(hub) == before


def test_a_retried_open311_post_files_once(hub: Hub) -> None:
    client_id, secret = register_client(hub.app, "georeport-idem")
    headers = bearer(fetch_token(hub.http, client_id, secret))
    form = {"service_code": "C08-02", "lat": str(LAT), "long": str(LON), "description": "井盖缺失"}
    key = {"Idempotency-Key": f"o311-{time.time_ns()}"}
    before = _cases(hub)
    first = hub.http.post(REQUESTS, data=form, headers=headers | key)
    assert first.status_code == 201, first.text
    again = hub.http.post(REQUESTS, data=form, headers=headers | key)
    assert again.status_code == 201 and again.json() == first.json()
    assert _cases(hub) == before + 1
    other = hub.http.post(REQUESTS, data=form, headers=headers | {"Idempotency-Key": "other"})
    assert other.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    assert _cases(hub) == before + 2
    bad = hub.http.post(REQUESTS, data=form, headers=headers | {"Idempotency-Key": "x" * 200})
    assert bad.status_code == 400 and _cases(hub) == before + 2


def test_a_key_whose_filing_failed_files_on_retry(tmp_path: Path) -> None:
    """The first filing failed (nothing stored): the retry with the same key files."""
    from hub.idempotency import Idempotency, Ticket
    from hub.store import RecordStore

    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    keys = Idempotency(store.engine, b"k" * 32)
    calls: list[int] = []

    def failing(ticket: Ticket | None) -> dict[str, Any]:
        calls.append(1)
        raise RuntimeError("the store went away")

    def filing(ticket: Ticket | None) -> dict[str, Any]:
        calls.append(2)
        return {"case": "C-1"}  # wrote nothing of its own: the answer is kept after

    with pytest.raises(RuntimeError):
        keys.filed("case.file", "client:a", "k-1", failing)
    assert keys.filed("case.file", "client:a", "k-1", filing) == ({"case": "C-1"}, False)
    assert keys.filed("case.file", "client:a", "k-1", filing) == ({"case": "C-1"}, True)
    assert calls == [1, 2]
    store.close()
