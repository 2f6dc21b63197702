"""Live: telemetry in over HTTP, alarms out over graphql-transport-ws, with real tokens and the
policies applied per socket. A test handler (kind ``test.level``) stands in for the apps'
alarm rules so these tests exercise the bus itself."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect
from websockets import Subprotocol

from hub.app import create_app
from hub.config import load_settings
from hub.live import Alarm, Reading
from hub.store import RecordStore
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.hub.city import small_city
from tests.live_server import served
from tests.policy_helpers import publish_approved

PROTOCOL = ["graphql-transport-ws"]
SUBSCRIBE_ALARMS = (
    "subscription($kinds: [String!]) "
    "{ alarms(kinds: $kinds) { kind severity subjectKey value message } }"
)


def over_ten(readings: Sequence[Reading]) -> list[Alarm]:
    return [
        Alarm(
            id=f"{r.at:017.6f}-{r.id}",
            kind="test.high",
            severity="alarm",
            subject_type="Sensor",
            subject_key=r.id,
            message=f"{r.id} at {r.value}",
            at=datetime.fromtimestamp(r.at, UTC),
            value=r.value,
        )
        for r in readings
        if r.value is not None and r.value > 10
    ]


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Starlette, TestClient]]:
    folder: Path = tmp_path_factory.mktemp("live")
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    store.upsert(small_city())
    app = create_app(load_settings(data_dir=folder), store=store)
    app.state.hub.live.register("test.level", over_ten)
    with TestClient(app) as http:
        yield app, http


def token(app: Starlette, http: TestClient, name: str, **options: Any) -> str:
    client_id, secret = register_client(app, name, **options)
    return fetch_token(http, client_id, secret)


def readings(*values: float, at: float = 1_780_000_000.0) -> list[dict[str, Any]]:
    return [
        {"kind": "test.level", "id": f"S{i}", "at": at + i, "value": v}
        for i, v in enumerate(values)
    ]


def test_telemetry_needs_a_token_with_the_scope(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    assert http.post("/telemetry", json=readings(1)).status_code == 401
    reader = token(app, http, "reader-only")
    refused = http.post("/telemetry", json=readings(1), headers=bearer(reader))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    forged = http.post("/telemetry", json=readings(1), headers=bearer(reader[:-4] + "AAAA"))
    assert forged.status_code == 401


def test_bad_readings_are_refused_by_index_and_the_rest_count(
    hub: tuple[Starlette, TestClient],
) -> None:
    app, http = hub
    device = token(app, http, "gateway-1", scopes=["telemetry:write"], devices=["*"])
    batch: list[Any] = [
        *readings(3, 12.5),
        {"kind": "test.level", "id": "S9", "at": "yesterday", "value": 1},
        {"kind": "test.level", "id": "S9", "at": 1.0, "value": "high"},
        {"kind": "nobody.handles.this", "id": "X", "at": 1.0, "value": 1},
        {"kind": "test.level", "id": "S9", "at": 1.0, "lon": 117.7},
        "not an object",
    ]
    answer = http.post("/telemetry", json={"readings": batch}, headers=bearer(device))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [2, 3, 4, 5, 6]
    assert "ISO 8601" in body["rejected"][0]["error"]
    assert "number" in body["rejected"][1]["error"]
    assert "no handler" in body["rejected"][2]["error"]
    assert "lon and lat" in body["rejected"][3]["error"]
    assert [a["subject_key"] for a in body["alarms"]] == ["S1"]
    not_json = http.post(
        "/telemetry", content=b"{nope", headers=bearer(device) | {"content-type": "text/plain"}
    )
    assert not_json.status_code == 400 and "JSON" in not_json.json()["error"]
    assert http.post("/telemetry", json={"x": 1}, headers=bearer(device)).status_code == 400
    all_bad = http.post("/telemetry", json=["x"], headers=bearer(device))
    assert all_bad.status_code == 422


def test_alarms_are_kept_and_readable(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    device = token(app, http, "gateway-2", scopes=["telemetry:write"], devices=["*"])
    posted = http.post(
        "/telemetry", json=readings(0, 40, at=1_790_000_000.0), headers=bearer(device)
    )
    assert posted.json()["alarmCount"] == 1
    operator = token(app, http, "ops-app", role="department")
    query = "{ alarms(last: 50) { totalCount edges { node { kind subjectKey value } } } }"
    data = http.post("/graphql", json={"query": query}, headers=bearer(operator)).json()
    assert "errors" not in data, data
    nodes = [e["node"] for e in data["data"]["alarms"]["edges"]]
    assert {"kind": "test.high", "subjectKey": "S1", "value": 40.0} in nodes


def _init(ws: Any, payload: dict[str, Any] | None) -> dict[str, Any]:
    ws.send_json({"type": "connection_init", "payload": payload or {}})
    return dict(ws.receive_json())


def test_a_socket_without_a_valid_token_is_closed(hub: tuple[Starlette, TestClient]) -> None:
    _, http = hub
    for payload in (None, {"Authorization": "Basic eDp5"}, {"Authorization": "Bearer abc.def.ghi"}):
        with http.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
            ws.send_json({"type": "connection_init", "payload": payload or {}})
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            assert closed.value.code == 4403
    # a subscribe before connection_init is refused by the protocol (4401)
    with http.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": SUBSCRIBE_ALARMS}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
        assert closed.value.code == 4401


async def _subscribe_and_post(
    base: str, operator: str, device: str, query: str, variables: dict[str, Any], value: float
) -> dict[str, Any]:
    """Subscribe over a real WebSocket, then post readings until one reaches the subscriber:
    the subscription starts listening a moment after `subscribe` (the protocol sends no
    acknowledgement for it)."""
    url = base.replace("http://", "ws://") + "/graphql"
    async with (
        websockets.connect(url, subprotocols=[Subprotocol(PROTOCOL[0])]) as ws,
        httpx.AsyncClient(base_url=base) as http,
    ):
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {operator}"}}
            )
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        await ws.send(json.dumps({"type": "subscribe", "id": "a", "payload": payload}))
        start = time.time() - 3600  # within the hub's plausible window (a day ahead at most)
        for attempt in range(50):
            batch = readings(value, at=start + attempt)
            posted = await http.post("/telemetry", json=batch, headers=bearer(device))
            assert posted.status_code == 200, posted.text
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
            except TimeoutError:
                continue
            await ws.send(json.dumps({"type": "complete", "id": "a"}))
            return dict(message)
    raise AssertionError("no alarm reached the subscriber")


def test_an_alarm_reaches_a_subscriber(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    operator = token(app, http, "ops-live", role="department")
    device = token(app, http, "gateway-3", scopes=["telemetry:write"], devices=["*"])
    with served(app) as base:
        message = asyncio.run(
            _subscribe_and_post(base, operator, device, SUBSCRIBE_ALARMS, {"kinds": ["test"]}, 99.0)
        )
    assert message["type"] == "next" and message["id"] == "a", message
    assert message["payload"]["data"]["alarms"] == {
        "kind": "test.high",
        "severity": "alarm",
        "subjectKey": "S0",
        "value": 99.0,
        "message": "S0 at 99.0",
    }


def test_counts_only_partners_get_no_live_rows(hub: tuple[Starlette, TestClient]) -> None:
    app, http = hub
    client_id, secret = register_client(app, "counts-only", role="partner")
    workflow = app.state.policy_workflow
    draft = workflow.draft(
        f'name = "counts-only"\nsubject = "client:{client_id}"\nclearance = "internal"\n'
        '[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    partner = fetch_token(http, client_id, secret)
    with http.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        assert _init(ws, {"Authorization": f"Bearer {partner}"})["type"] == "connection_ack"
        ws.send_json({"type": "subscribe", "id": "p", "payload": {"query": SUBSCRIBE_ALARMS}})
        message = ws.receive_json()
        assert message["type"] in {"error", "next"}, message
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert "counts only" in json.dumps(errors)
