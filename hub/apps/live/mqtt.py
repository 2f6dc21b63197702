"""Telemetry over MQTT: the hub subscribes to ``cityhub/telemetry/#`` on the configured
broker (``CITYHUB_MQTT_URL``); each message is one reading or a JSON array of readings, routed
like ``POST /telemetry``. A broker that goes away is retried with back-off, never fatal.

One worker consumes at a time (each reading is evaluated once: one alarm, one case): the one
holding the ``mqtt-telemetry`` lease in the store, renewed while it consumes; the others wait
and take over when it stops (released at shutdown, or expired when it dies). The subscription
is one persistent MQTT session per store (a fixed client id, QoS 1, no clean session), so the
broker keeps what is published while no worker holds it and hands it to the next holder."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Awaitable, Callable

import aiomqtt
from sqlalchemy.exc import SQLAlchemyError

from connectors.transports.mqtt import broker_address
from hub.ingest.lease import while_held
from hub.services import HubServices

TOPIC = "cityhub/telemetry/#"
LEASE = "mqtt-telemetry"
LEASE_S = 15.0  # a dead holder's lease runs out in this; renewed every third of it
log = logging.getLogger(__name__)


def session_id(hub: HubServices) -> str:
    """The MQTT client id every worker on this store uses (so the broker keeps one session
    for them all); the store URL hashed, never shown."""
    digest = hashlib.sha256(str(hub.store.engine.url).encode()).hexdigest()[:16]
    return f"cityhub-telemetry-{digest}"


def tasks(hub: HubServices) -> list[Callable[[], Awaitable[None]]]:
    url = hub.settings.mqtt_url
    if not url:
        return []
    host, port = broker_address(url)

    async def subscribe() -> None:
        delay = 1.0
        while True:
            try:
                async with aiomqtt.Client(
                    hostname=host, port=port, identifier=session_id(hub), clean_session=False
                ) as client:
                    await client.subscribe(TOPIC, qos=1)
                    delay = 1.0
                    async for message in client.messages:
                        await _handle(hub, str(message.topic), message.payload)
            except aiomqtt.MqttError as exc:
                log.warning("telemetry broker %s:%s: %s; retry in %.0f s", host, port, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def consume() -> None:
        log.info("telemetry: this worker consumes %s when it holds the lease", TOPIC)
        await while_held(hub.store.engine, LEASE, hub.sources.holder, subscribe, LEASE_S)

    return [consume]


async def _handle(hub: HubServices, topic: str, payload: object) -> None:
    try:
        body = json.loads(payload if isinstance(payload, bytes | str) else b"")
    except ValueError:
        log.warning("telemetry on %s: not JSON, dropped", topic)
        return
    items = body if isinstance(body, list) else [body]
    try:
        result = await hub.live.ingest(items)
    except SQLAlchemyError as exc:  # not stored: the broker's QoS 1 is no help once acked
        log.error("telemetry on %s: %d readings not stored: %s", topic, len(items), exc)
        return
    if result.rejected:
        log.warning(
            "telemetry on %s: %d of %d readings refused (first: %s)",
            topic,
            len(result.rejected),
            len(items),
            result.rejected[0]["error"],
        )
