"""MQTT telemetry (aiomqtt): devices keep their latest state as retained messages.

A pull subscribes to the stream's topic filter and takes the retained state of every device:
it stops when it has as many messages as the source announced on ``<prefix>/$count`` (a
retained count the publisher keeps), or when the topic falls quiet. The source is up when its
retained ``<status topic>`` says ``online`` (publishers set ``offline`` as their last will).
:meth:`MqttTransport.listen` follows live messages for push-mode ingestion.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from connectors.errors import SourceProtocolError, SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page, Transport, advance

_LOCKS: dict[tuple[int, str, int], asyncio.Lock] = {}


def _broker_lock(host: str, port: int) -> asyncio.Lock:
    """One subscription session at a time per broker from this process: the in-process
    broker (amqtt) mishandles clients that subscribe concurrently; Mosquitto doesn't care."""
    return _LOCKS.setdefault((id(asyncio.get_running_loop()), host, port), asyncio.Lock())


def broker_address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp"):
        raise SourceProtocolError(f"not an mqtt:// URL: {url}")
    return parts.hostname or "127.0.0.1", parts.port or 1883


class MqttTransport(Transport):
    protocol = "mqtt"

    def __init__(
        self,
        url: str,
        *,
        status_topic: str | None = None,
        quiet_s: float = 1.0,
        timeout_s: float = 60.0,
        page_size: int = 2000,
    ) -> None:
        self.url = url
        self.host, self.port = broker_address(url)
        self.status_topic = status_topic
        self.quiet_s = quiet_s
        self.timeout_s = timeout_s
        self.page_size = page_size

    def describe(self) -> str:
        return f"{self.url} {self.status_topic or ''}".strip()

    def _client(self) -> aiomqtt.Client:
        return aiomqtt.Client(self.host, self.port, timeout=5, max_queued_incoming_messages=0)

    async def check(self) -> None:
        if self.status_topic is None:
            try:
                async with self._client():
                    return
            except aiomqtt.MqttError as exc:
                raise SourceUnavailable(f"broker {self.url}: {exc}") from None
        try:
            async with _broker_lock(self.host, self.port), self._client() as client:
                await client.subscribe(self.status_topic, qos=0)
                async with asyncio.timeout(2.0):
                    async for message in client.messages:
                        status = bytes(message.payload).decode("utf-8", "replace")
                        if status.strip() == "online":
                            return
                        raise SourceUnavailable(f"{self.status_topic} says {status!r}")
        except TimeoutError:
            raise SourceUnavailable(f"no status on {self.status_topic} (publisher gone)") from None
        except aiomqtt.MqttError as exc:
            raise SourceUnavailable(f"broker {self.url}: {exc}") from None

    async def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        await self.check()
        prefix = mapping.stream.removesuffix("/#")
        count_topic = f"{prefix}/$count"
        expected: int | None = None
        rows: list[dict[str, Any]] = []
        received = 0
        try:
            async with _broker_lock(self.host, self.port), self._client() as client:
                # QoS 0: retained state is re-read on every pull, acknowledgements buy nothing
                await client.subscribe(mapping.stream, qos=0)
                if not mapping.stream.endswith("/#"):
                    await client.subscribe(count_topic, qos=0)
                async with asyncio.timeout(self.timeout_s):
                    while expected is None or received < expected:
                        try:
                            async with asyncio.timeout(self.quiet_s):
                                message = await anext(client.messages)
                        except TimeoutError:
                            break  # the topic fell quiet: every retained message is in
                        topic = str(message.topic)
                        payload = bytes(message.payload)
                        if topic == count_topic:
                            expected = int(json.loads(payload)["count"])
                            continue
                        received += 1
                        try:
                            row = json.loads(payload)
                        except ValueError:
                            row = {"__raw": payload.decode("utf-8", "replace")}
                        if not isinstance(row, dict):
                            row = {"__raw": row}
                        row["__topic"] = topic
                        rows.append(row)
                        if len(rows) >= self.page_size:
                            cursor = advance(cursor, mapping, rows)
                            yield Page(rows, cursor)
                            rows = []
        except TimeoutError:
            raise SourceUnavailable(
                f"{mapping.stream}: {received} of {expected} retained messages in "
                f"{self.timeout_s:.0f} s"
            ) from None
        except aiomqtt.MqttError as exc:
            raise SourceUnavailable(f"broker {self.url}: {exc}") from None
        cursor = advance(cursor, mapping, rows)
        yield Page(rows, cursor)

    async def listen(self, topic: str) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Live messages on a topic filter, (topic, decoded JSON), until cancelled."""
        async with self._client() as client:
            await client.subscribe(topic, qos=0)
            async for message in client.messages:
                try:
                    body = json.loads(bytes(message.payload))
                except ValueError:
                    continue
                if isinstance(body, dict):
                    yield str(message.topic), body
