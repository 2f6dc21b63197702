"""The living city as the run command has it (issue 16): every stream module of the sandbox at
once (``simcity.sandbox.streams.streams_of``, as ``cityhub sandbox up`` starts them) on a fast
clock, and a hub served by uvicorn consuming its telemetry over MQTT. Within 60 s the hub holds
fresh readings of every telemetry kind; a hazchem vehicle's position read over GraphQL moves
between two reads 30 s of the city's time apart; an incident asked for through the sandbox's
control server reaches an operator on the ``alarms`` subscription over a real WebSocket, with
a real token. (The new cases of each channel: tests/sandbox/test_report_streams.py.)"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets import Subprotocol

from hub.store import RecordStore
from simcity.clock import SimClock
from simcity.sandbox.streams import streams_of
from tests.auth_helpers import bearer, person_token
from tests.sandbox.living import City, living_city, wait

pytestmark = pytest.mark.slow
SPEED = 30.0
# every stream, thinned to what a shared CI machine takes at this speed
RATES = {
    "tanks": 200.0,
    "tank_interval_s": 60.0,
    "hazchem_vehicles": 200.0,
    "vehicle_fix_s": 15.0,
    "muck_trucks": 100.0,
    "muck_fix_s": 30.0,
    "camera_heartbeat_s": 7200.0,
    "video_events_per_hour": 2.0,
    "incidents_per_day": 0.0,
}
KINDS = (
    "tank.level", "tank.temperature", "tank.pressure", "vehicle.fix", "muck.fix",
    "water.level", "water.quality", "pump.state", "gate.state", "camera.heartbeat",
)  # fmt: skip
POSITIONS = "{ hazchemVehicles(first: 200) { edges { node { key position { at lon lat } } } } }"
ALARMS = "subscription($kinds: [String!]) { alarms(kinds: $kinds) { kind subjectKey message } }"


@pytest.fixture(scope="module")
def c(
    demo_dir: Path, demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[City]:
    folder = tmp_path_factory.mktemp("living-city")
    with living_city(
        demo_dir, demo_store, folder, SimClock(speed=SPEED), RATES, streams_of, serve=True
    ) as city:
        yield city


@pytest.fixture(scope="module")
def operator(c: City) -> str:
    """An operator of the ops centre, signed in through the hub's own login (code + PKCE)."""
    with httpx.Client(base_url=c.base) as http:
        return person_token(http, c.hub, "wall-operator", "operator", "graph:read")


def test_every_kind_is_fresh_and_a_vehicle_moves(c: City, operator: str) -> None:
    for kind in KINDS:
        wait(f"fresh {kind}", lambda kind=kind: c.fresh(kind), 60)
    print(f"\nevery kind fresh within {time.monotonic() - c.wall_started:.1f} s")

    def positions() -> dict[str, tuple[str, float, float]]:
        answer = httpx.post(
            f"{c.base}/graphql", json={"query": POSITIONS}, headers=bearer(operator)
        ).json()
        assert "errors" not in answer, answer
        return {
            e["node"]["key"]: (p["at"], p["lon"], p["lat"])
            for e in answer["data"]["hazchemVehicles"]["edges"]
            if (p := e["node"]["position"])
        }

    first = positions()
    time.sleep(30 / SPEED)  # 30 s of the city
    second = wait("newer fixes", lambda: (p := positions()) != first and p, 30)
    moved = [k for k in first.keys() & second.keys() if first[k][1:] != second[k][1:]]
    # the fleet drives between its sites (some stand at a site): many, not all, move
    assert len(moved) >= len(first) // 10, (len(moved), len(first))
    print(f"{len(moved)} of {len(first)} vehicles moved in 30 s of the city")


async def _alarm_on_the_socket(c: City, operator: str, kind: str, alarm: str) -> dict[str, Any]:
    url = c.base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {operator}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": ALARMS, "variables": {"kinds": [alarm.split(".")[0]]}}
        await ws.send(json.dumps({"type": "subscribe", "id": "a", "payload": payload}))
        await asyncio.sleep(0.5)  # the subscription listens a moment after `subscribe`
        asked = time.monotonic()
        answer = await asyncio.to_thread(c.incident, kind)
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), 60))
            assert message["type"] == "next", message
            got = message["payload"]["data"]["alarms"]
            if got["kind"] == alarm and got["subjectKey"] == answer["subject"]:
                print(f"\n{kind} -> {alarm} on the socket in {time.monotonic() - asked:.2f} s")
                return dict(got)


@pytest.mark.parametrize(
    ("incident", "alarm"),
    [("tank_overpressure", "tank.pressure_high_high"), ("river_flood", "water.flood")],
)
def test_an_incident_reaches_the_operator_on_the_alarms_subscription(
    c: City, operator: str, incident: str, alarm: str
) -> None:
    got = asyncio.run(_alarm_on_the_socket(c, operator, incident, alarm))
    assert got["message"]
