"""Stale tank sensors without a reading: every few seconds one worker (the holder of the
``hazchem.tank-silence`` lease, like the telemetry consumer's) asks each tank quantity's watch
which sensors have been silent past their window and raises their ``tank.*stale`` alarm, once
per silence, stored and published like every alarm (the rule: :mod:`hub.apps.hazchem.tanks`).
Before, a silent sensor was seen only when its readings resumed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from starlette.concurrency import run_in_threadpool

from hub.apps import kit
from hub.apps.hazchem.services import HazchemServices
from hub.ingest.lease import while_held
from hub.services import HubServices

LEASE = "hazchem.tank-silence"
CHECK_S = 5.0  # how often the holder looks; a window is at least ten sampling intervals
LEASE_S = 15.0  # a dead holder's lease runs out in this
log = logging.getLogger(__name__)


def tasks(hub: HubServices) -> list[Callable[[], Awaitable[None]]]:
    async def check() -> None:
        app = kit.service(hub, HazchemServices)
        while True:
            try:
                await hub.live.publish_alarms(await run_in_threadpool(app.silent_tanks))
            except Exception as exc:  # a store hiccup: the next round looks again
                log.warning("tank silence: %s", str(exc).splitlines()[0][:200])
            await asyncio.sleep(CHECK_S)

    async def watch() -> None:
        await while_held(hub.store.engine, LEASE, hub.sources.holder, check, LEASE_S)

    return [watch]
