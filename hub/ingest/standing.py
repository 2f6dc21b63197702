"""Standing subscriptions to the push systems (the hotline, snap-and-send, online
applications): while scheduled syncs are on, one worker keeps a subscription to each of their
streams, so a new row is in the store seconds after the source sends it, not at the next
``cityhub sync``.

Each subscription starts from the stream's cursor in ``connector_state`` (the delivery
sequence the last run stored up to), takes the source's backlog and then each delivery as it
comes (a run of its own, as a pushed delivery is: :meth:`SyncEngine.push`), the sequence kept
as the cursor only once the rows are stored. When the source goes quiet past its heartbeats,
refuses, or a delivery cannot be stored, the subscription is dropped and opened again from the
cursor after a growing pause: nothing is skipped, and a row delivered twice is unchanged.
The lease (``standing-subscriptions`` in ``sync_lease``) decides the worker; another takes
over when it stops renewing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from connectors.errors import ConnectorError
from connectors.mapping import KindMapping
from connectors.transports.webhook import WebhookTransport
from hub.ingest.lease import while_held
from hub.ingest.sources import SourcesUnavailable, SourceSystems

log = logging.getLogger(__name__)
LEASE = "standing-subscriptions"
LEASE_S = 30.0
RETRY_S = (1.0, 30.0)  # the pause before subscribing again: first, and at most


def push_systems(sources: SourceSystems) -> list[str]:
    """The systems of the endpoints file that push over webhooks (their connector's mode and
    protocol: the MQTT systems push too, but their telemetry comes in over the broker)."""
    from connectors.binhai import SPEC_BY_ID

    return [
        s for s in sources.endpoints().get("systems", {})
        if s in SPEC_BY_ID and SPEC_BY_ID[s].mode == "push"
        and SPEC_BY_ID[s].protocol == "webhook"
    ]  # fmt: skip


def cursor_of(sources: SourceSystems, system: str, mapping: KindMapping) -> Any:
    state = sources.engine().state(system) or {}
    return (state.get("cursor") or {}).get(f"{mapping.kind}:{mapping.stream}")


async def stand(sources: SourceSystems, system: str, mapping: KindMapping) -> None:
    """One stream's subscription, opened again whenever it drops, until cancelled."""
    pause = RETRY_S[0]
    while True:
        from connectors.binhai import build_connector

        connector = None
        try:
            endpoint = sources.endpoints().get("systems", {}).get(system) or {}
            connector = build_connector(system, endpoint)
            transport = connector.transport
            if not isinstance(transport, WebhookTransport):
                log.warning("standing subscription: %s does not push over webhooks", system)
                return
            cursor = await asyncio.to_thread(cursor_of, sources, system, mapping)
            async for page in transport.follow(mapping, cursor):
                if not page.rows:
                    continue  # a heartbeat: the subscription stands
                report = await sources.engine().push(
                    connector, page.rows, mapping.stream, cursor=page.cursor
                )
                if report.status != "ok":
                    raise ConnectorError(f"not stored: {report.error}")
                pause = RETRY_S[0]
        except (ConnectorError, SourcesUnavailable) as exc:
            log.warning("standing subscription %s/%s: %s", system, mapping.stream, exc)
        except Exception as exc:  # never let one stream stop the others; retried below
            log.error("standing subscription %s/%s failed: %s: %s", system, mapping.stream,
                      type(exc).__name__, str(exc)[:300])  # fmt: skip
        finally:
            if connector is not None:
                await connector.close()
        await asyncio.sleep(pause)
        pause = min(pause * 2, RETRY_S[1])


async def hold_all(sources: SourceSystems) -> None:
    """Every push system's streams, each on its own subscription, until cancelled."""
    from connectors.binhai import SPEC_BY_ID

    while True:
        try:
            systems = push_systems(sources)
            break
        except SourcesUnavailable as exc:  # no endpoints file yet: the sources come later
            log.warning("standing subscriptions wait: %s", exc)
            await asyncio.sleep(RETRY_S[1] / 3)
    tasks = [
        asyncio.create_task(stand(sources, system, mapping), name=f"standing {system}")
        for system in systems
        for mapping in SPEC_BY_ID[system].mappings
    ]
    if tasks:
        log.info("standing subscriptions: %s", ", ".join(systems))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def run(sources: SourceSystems) -> None:
    """The standing subscriptions, in the one worker that holds their lease."""
    await while_held(
        sources.store.engine, LEASE, sources.holder, lambda: hold_all(sources), LEASE_S
    )
