"""Telemetry onto the hub's MQTT topic, as the city's gateways send it.

Readings go out as JSON arrays in the hub's reading form (``{"kind", "id", "at", "value" |
"lon"/"lat"/"speedKmh", ...}``, ``at`` in epoch seconds of the city's clock) on
``cityhub/telemetry/<kind>``, at QoS 1. One connection per live city, opened on first use and
reopened after the broker drops it; a batch that cannot be sent is dropped with a log line
(a gateway that is offline loses its readings: the hub's stale rules are there for that).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import aiomqtt

from simcity.sandbox.streams import LiveCity

TOPIC = "cityhub/telemetry/{kind}"
_KEY = "mqtt-publisher"
MAX_BATCH = 2000  # readings per message: big enough for a pass over all tanks, small enough


class Publisher:
    def __init__(self, city: LiveCity) -> None:
        self.city = city
        self._client: aiomqtt.Client | None = None
        self._lock = asyncio.Lock()
        self.sent: dict[str, int] = {}  # readings per kind, for status and tests

    async def _connected(self) -> aiomqtt.Client:
        if self._client is None:
            client = aiomqtt.Client(self.city.mqtt_host, self.city.mqtt_port, timeout=10)
            await client.__aenter__()
            self._client = client
        return self._client

    async def send(self, kind: str, readings: list[dict[str, Any]]) -> None:
        for start in range(0, len(readings), MAX_BATCH):
            chunk = readings[start : start + MAX_BATCH]
            body = json.dumps(chunk, ensure_ascii=False, separators=(",", ":"))
            async with self._lock:
                try:
                    client = await self._connected()
                    await client.publish(TOPIC.format(kind=kind), body, qos=1)
                    self.sent[kind] = self.sent.get(kind, 0) + len(chunk)
                except aiomqtt.MqttError as exc:
                    self.city.log(f"telemetry {kind}: {len(chunk)} readings lost ({exc})")
                    await self._drop()

    async def close(self) -> None:
        """Disconnect cleanly (before the broker stops: no "unexpected disconnection")."""
        async with self._lock:
            await self._drop()

    async def _drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(aiomqtt.MqttError):
                await client.__aexit__(None, None, None)


def publisher(city: LiveCity) -> Publisher:
    """The live city's one publisher."""
    found = city.state.get(_KEY)
    if not isinstance(found, Publisher):
        found = city.state[_KEY] = Publisher(city)
    return found
