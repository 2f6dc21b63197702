"""Issue 14, item 3: MQTT telemetry was consumed by every worker (each reading evaluated
twice: duplicate alarms and cases). Two hub instances on one store and the test Mosquitto
broker: one reading published, one alarm raised; the consumer stops, the other takes over and
gets what was published meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connectors.transports.mqtt import broker_address
from hub.app import create_app
from hub.apps.live import mqtt
from hub.config import load_settings
from hub.ingest.tables import sync_lease
from hub.live import ALARMS
from hub.store import RecordStore
from hub.store.tables import DeviceReadingRow, RecordRow
from tests.hub.city import small_city
from tests.security.small_hub import duty_catalog, tanks

MQTT_URL = os.environ.get("CITYHUB_TEST_MQTT_URL", "")
TANK = "TNK-A-01"  # high-high at 9 m


@pytest.fixture
def broker() -> str:
    if not MQTT_URL:
        if os.environ.get("CI"):
            pytest.fail("CITYHUB_TEST_MQTT_URL is unset: run the suite with scripts/test.sh")
        pytest.skip("CITYHUB_TEST_MQTT_URL is unset (scripts/mosquitto.sh starts Mosquitto)")
    return MQTT_URL


def _worker(folder: Path, url: str) -> tuple[Starlette, list[str]]:
    """A hub instance on the shared store, its own engine and in-process fan-out (a worker),
    and the alarms it publishes."""
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    app = create_app(load_settings(data_dir=folder, mqtt_url=url), store=store)
    published: list[str] = []
    broadcast = app.state.hub.live.broadcast
    publish = broadcast.publish

    async def counted(channel: str, message: str) -> Any:
        if channel == ALARMS:
            published.append(json.loads(message)["kind"])
        return await publish(channel, message)

    broadcast.publish = counted
    return app, published


def _publish(url: str, readings: list[dict[str, Any]]) -> None:
    host, port = broker_address(url)

    async def send() -> None:
        async with aiomqtt.Client(host, port) as client:
            await client.publish(f"cityhub/telemetry/{TANK}", json.dumps(readings), qos=1)

    asyncio.run(send())


def _level(at: float, value: float) -> dict[str, Any]:
    return {"kind": "tank.level", "id": TANK, "at": at, "value": value}


def _wait(what: str, check: Any, seconds: float = 15) -> Any:
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)
    return found


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(mqtt, "LEASE_S", 1.5)  # takeover in seconds, not 15
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    store.upsert([*small_city(), *duty_catalog(), *tanks()])
    store.close()
    yield tmp_path


def test_one_reading_raises_one_alarm_and_the_other_worker_takes_over(
    broker: str, folder: Path
) -> None:
    check = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    workers = [_worker(folder, broker) for _ in range(2)]
    clients = [TestClient(app) for app, _ in workers]
    running = []
    try:
        for client in clients:
            client.__enter__()
            running.append(client)

        def holder() -> str | None:
            with check.engine.connect() as conn:
                return conn.execute(
                    select(sync_lease.c.holder).where(sync_lease.c.name == mqtt.LEASE)
                ).scalar()

        held = _wait("a worker to hold the telemetry lease", holder)
        index = [app.state.hub.sources.holder for app, _ in workers].index(held)
        (_, heard), (other, heard_other) = workers[index], workers[1 - index]

        def stored(at: float) -> int:
            with check.engine.connect() as conn:
                rows = conn.execute(
                    select(DeviceReadingRow.at).where(DeviceReadingRow.device_id.contains(TANK))
                ).scalars()
                return sum(1 for when in rows if abs(when.timestamp() - at) < 1e-3)

        # normal readings until one is stored: the consumer's subscription is up
        start = time.time() - 600
        for n in range(100):
            _publish(broker, [_level(start + n, 5.0)])
            time.sleep(0.2)
            if stored(start + n):
                break
        else:
            pytest.fail("no worker stored the normal readings")
        over_at = time.time() - 300
        _publish(broker, [_level(over_at - 1, 5.0), _level(over_at, 9.5)])
        _wait("the high-high alarm", lambda: "tank.high_high" in heard)
        time.sleep(1.5)  # time enough for a second consumer to raise it too
        assert heard.count("tank.high_high") == 1 and heard_other == [], (heard, heard_other)
        assert stored(over_at) == 1
        with check.engine.connect() as conn:
            alarms = (
                conn.execute(
                    select(RecordRow.key).where(
                        RecordRow.kind == "Alarm", RecordRow.key.like(f"%{TANK}%")
                    )
                )
                .scalars()
                .all()
            )
        assert len([k for k in alarms if k.startswith("tank.high_high")]) == 1

        # the consumer stops (releasing its lease): the other takes over, and a reading
        # published before it has connected is not lost (one persistent session per store)
        running.remove(clients[index])
        clients[index].__exit__(None, None, None)
        again = time.time() - 100
        _publish(broker, [_level(again - 1, 5.0), _level(again, 9.6)])
        _wait("the other worker's alarm", lambda: "tank.high_high" in heard_other)
        assert holder() == other.state.hub.sources.holder
        assert heard.count("tank.high_high") == 1 and heard_other.count("tank.high_high") == 1
        assert stored(again) == 1
    finally:
        for client in running:
            client.__exit__(None, None, None)
        check.close()
