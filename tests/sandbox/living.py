"""A living city for a test: a sandbox on a fast clock (in-process, its own MQTT broker) runs
some of its streams, and a hub over a copy of the demo city consumes the telemetry over MQTT.

``living_city(...)`` yields a :class:`City` once the hub holds the telemetry lease (so the
first readings are not lost) and the streams have started; every alarm the hub publishes is
heard with its wall-clock time (``City.heard``). With ``serve=True`` the hub runs under a real
uvicorn (``City.base``: for WebSocket subscriptions), else under a TestClient."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from hub.app import create_app
from hub.apps.live import mqtt
from hub.config import load_settings
from hub.ingest.tables import sync_lease
from hub.live import ALARMS, Alarm
from hub.state import latest_of_kind
from hub.store import RecordStore
from hub.store.tables import DeviceReadingRow, DeviceStateRow, RecordRow
from simcity.clock import SimClock
from simcity.sandbox.run import Sandbox
from simcity.sandbox.streams import LiveCity, Stream
from simcity.sandbox.streams.publish import publisher
from tests.city_thread import CityThread
from tests.demo_copy import copy_of
from tests.live_server import served


@dataclass
class City:
    sandbox: Sandbox
    live: LiveCity
    hub: Starlette
    store: RecordStore
    started: float  # the city's time when the streams started (epoch s)
    wall_started: float
    heard: list[tuple[float, Alarm]] = field(default_factory=list)  # (wall time, alarm)
    base: str = ""  # the served hub's URL (serve=True)

    @property
    def control(self) -> str:
        return str(self.sandbox.endpoints["control"])

    def incident(self, kind: str, at: str | None = None) -> dict[str, Any]:
        """Ask the sandbox's control server for an incident; its answer."""
        answer = httpx.post(f"{self.control}/admin/incidents/{kind}", json={"at": at} if at else {})
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def alarm_after(
        self, kinds: set[str], subject: str, since: float, within: float, source: str | None = None
    ) -> tuple[float, Alarm]:
        """The first alarm of ``kinds`` on ``subject`` heard after wall time ``since``."""

        def found() -> tuple[float, Alarm] | None:
            for heard_at, alarm in list(self.heard):
                mine = alarm.kind in kinds and alarm.subject_key == subject
                if heard_at >= since and mine and source in (None, alarm.source):
                    return heard_at, alarm
            return None

        result: tuple[float, Alarm] = wait(f"{kinds} on {subject}", found, within)
        return result

    def fresh(self, kind: str) -> dict[str, Any]:
        """The devices of ``kind`` whose stored state is from after the streams started."""
        stored = latest_of_kind(self.store.engine, kind)
        return {k: s for k, s in stored.items() if s.at.timestamp() >= self.started}


def wait(what: str, check: Callable[[], Any], seconds: float) -> Any:
    """Poll ``check`` until it answers something true; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (found := check()):
        assert time.monotonic() < deadline, f"not within {seconds:.0f} s: {what}"
        time.sleep(0.2)
    return found


@contextlib.contextmanager
def living_city(
    demo_dir: Path,
    demo_store: RecordStore,
    folder: Path,
    clock: SimClock,
    rates: dict[str, float],
    streams: Callable[[LiveCity], Sequence[Stream]],
    serve: bool = False,
    **settings: Any,
) -> Iterator[City]:
    store = copy_of(demo_store, folder)
    with store.engine.begin() as conn:  # a hub that has heard no telemetry yet
        conn.execute(delete(DeviceStateRow))
        conn.execute(delete(DeviceReadingRow))
        conn.execute(delete(RecordRow).where(RecordRow.kind == "Alarm"))
    loop = CityThread()
    sandbox = Sandbox(folder / "sb", demo_dir, clock=clock, live=False, rates=rates)
    loop.run(sandbox.start())
    assert sandbox.city is not None and sandbox.mqtt_url
    city = sandbox.city
    hub = create_app(
        load_settings(data_dir=folder, mqtt_url=sandbox.mqtt_url, **settings), store=store
    )
    heard: list[tuple[float, Alarm]] = []
    broadcast = hub.state.hub.live.broadcast
    publish = broadcast.publish

    async def tapped(channel: str, message: str) -> Any:
        if channel == ALARMS:
            heard.append((time.monotonic(), Alarm.from_json(message)))
        return await publish(channel, message)

    broadcast.publish = tapped
    tasks: list[asyncio.Task[None]] = []

    async def start_streams() -> None:
        for stream in streams(city):
            tasks.append(asyncio.create_task(stream.run(city)))

    async def stop() -> None:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await publisher(city).close()  # before the broker goes
        await sandbox.stop()

    def subscribed() -> bool:
        with store.engine.connect() as conn:
            return bool(
                conn.execute(
                    select(sync_lease.c.holder).where(sync_lease.c.name == mqtt.LEASE)
                ).scalar()
            )

    try:
        with served(hub) if serve else TestClient(hub) as running:
            wait("the hub to consume the sandbox's telemetry", subscribed, 30)
            time.sleep(0.5)  # the subscription follows the lease
            started, wall = city.clock.seconds(), time.monotonic()
            loop.run(start_streams())
            base = running if isinstance(running, str) else ""
            yield City(sandbox, city, hub, store, started, wall, heard, base)
    finally:
        loop.run(stop())
        loop.close()
        store.close()
