"""Two hub workers (separate `cityhub serve` processes over one store) sharing a Redis fan-out:
a tank reading ingested through worker A raises an alarm that reaches a GraphQL subscriber
connected to worker B."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets import Subprotocol

from tests.live_server import free_port

REDIS_URL = os.environ.get("CITYHUB_TEST_REDIS_URL", "")
T0 = time.time()  # after the demo city's own readings


def _cityhub(env: dict[str, str], *args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "hub", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout) if "--json" in args else {}


def _wait_ready(base: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert server.poll() is None, server.stdout.read() if server.stdout else ""
        time.sleep(0.3)
    pytest.fail(f"{base} did not become ready")


@pytest.fixture(scope="module")
def workers(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not REDIS_URL:
        if os.environ.get("CI"):
            pytest.fail("CITYHUB_TEST_REDIS_URL is unset: run the suite with scripts/test.sh")
        pytest.skip("CITYHUB_TEST_REDIS_URL is unset (scripts/test.sh starts Redis)")
    data = tmp_path_factory.mktemp("two-workers")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env |= {
        "CITYHUB_DATA_DIR": str(data),
        "CITYHUB_LOG_LEVEL": "warning",
        "CITYHUB_FANOUT_URL": f"{REDIS_URL}?prefix=t_{uuid.uuid4().hex[:12]}",
    }
    _cityhub(env, "demo", "load", "--from", str(demo_dir))
    reader = _cityhub(env, "client", "create", "ops-wall", "--role", "department", "--json")
    device = _cityhub(
        env,
        "client",
        "create",
        "tank-gateway",
        "--scope",
        "telemetry:write",
        "--device",
        "*",
        "--json",
    )
    servers: list[subprocess.Popen[str]] = []
    bases: list[str] = []
    try:
        for _ in range(2):
            port = free_port()
            servers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "hub", "serve", "--port", str(port)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
            bases.append(f"http://127.0.0.1:{port}")
        for base, server in zip(bases, servers, strict=True):
            _wait_ready(base, server)
        yield {"a": bases[0], "b": bases[1], "reader": reader, "device": device}
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)


def _token(base: str, credentials: dict[str, Any]) -> str:
    answer = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(credentials["client_id"], credentials["client_secret"]),
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


async def _alarm_across_workers(w: dict[str, Any]) -> tuple[dict[str, Any], int]:
    reader = _token(w["b"], w["reader"])
    device = _token(w["a"], w["device"])
    async with httpx.AsyncClient(timeout=30) as http:
        query = (
            "{ hazchemTanks(first: 1) { edges { node { key limits { highHighM lowM highM } } } } }"
        )
        tank = (
            await http.post(
                f"{w['b']}/graphql",
                json={"query": query},
                headers={"Authorization": f"Bearer {reader}"},
            )
        ).json()["data"]["hazchemTanks"]["edges"][0]["node"]
        limits = tank["limits"]
        normal = (limits["lowM"] + limits["highM"]) / 2
        over = limits["highHighM"] + 0.1
        url = w["b"].replace("http://", "ws://") + "/graphql"
        async with websockets.connect(
            url, subprotocols=[Subprotocol("graphql-transport-ws")]
        ) as ws:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {reader}"}}
            await ws.send(json.dumps(init))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            subscription = (
                'subscription { alarms(kinds: ["tank"]) { kind subjectKey value severity } }'
            )
            await ws.send(
                json.dumps({"type": "subscribe", "id": "1", "payload": {"query": subscription}})
            )
            # readings into worker A until the subscriber on B hears one (subscribing has no
            # acknowledgement): back to normal, then over high-high, each time
            for attempt in range(40):
                at = T0 + attempt * 120
                batch = [
                    {"kind": "tank.level", "id": tank["key"], "at": at, "value": normal},
                    {"kind": "tank.level", "id": tank["key"], "at": at + 60, "value": over},
                ]
                posted = await http.post(
                    f"{w['a']}/telemetry",
                    json=batch,
                    headers={"Authorization": f"Bearer {device}"},
                )
                assert posted.status_code == 200, posted.text
                assert posted.json()["alarmCount"] >= 1
                # the first reading after the demo city's own is late, so a stale warning may
                # come first: wait for the high-high alarm itself
                while True:
                    try:
                        message = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                    except TimeoutError:
                        break
                    alarm = (message.get("payload") or {}).get("data", {}).get("alarms") or {}
                    if message["type"] != "next" or alarm.get("kind") == "tank.high_high":
                        return message, attempt
    raise AssertionError("no alarm crossed from worker A to the subscriber on worker B")


def test_an_alarm_ingested_by_one_worker_reaches_a_subscriber_on_the_other(
    workers: dict[str, Any],
) -> None:
    message, attempts = asyncio.run(_alarm_across_workers(workers))
    assert message["type"] == "next", message
    alarm = message["payload"]["data"]["alarms"]
    assert alarm["kind"] == "tank.high_high" and alarm["severity"] == "critical"
    print(f"\nalarm crossed workers after {attempts + 1} batch(es)")
