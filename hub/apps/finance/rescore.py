"""The smoke index rescored after a sync that changed its inputs.

The index reads the finance registry, the quarterly reports, complaints, public opinion and
news (:data:`INPUT_KINDS`); a sync that stores new or changed records of those kinds (the change
feed's ``record`` entries) makes one worker (a lease) rescore once the sync has settled (no
input changed for ``SETTLE_S`` and no sync run is going on, or ``MAX_WAIT_S`` after the first
change however busy the feed is), and publish the jump alarms it raises (``smoke.jump``).
Runs with the scheduled syncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Engine, select

from hub.apps.finance.services import (
    COMPLAINT_KIND,
    FIRM_KIND,
    NEWS_KIND,
    OPINION_KIND,
    REPORT_KIND,
    RunResult,
    SmokeIndexService,
)
from hub.feed import FeedEntry, FeedFollower
from hub.ingest.lease import while_held
from hub.ingest.tables import sync_runs
from hub.live import Alarm

log = logging.getLogger(__name__)
INPUT_KINDS = frozenset({FIRM_KIND, REPORT_KIND, COMPLAINT_KIND, OPINION_KIND, NEWS_KIND})
LEASE = "finance.rescore"
ACTOR = "cityhub:sync"
SETTLE_S = 2.0
MAX_WAIT_S = 30.0


def syncing(engine: Engine) -> bool:
    """Whether a sync run is going on (its rows may still be coming)."""
    with engine.connect() as conn:
        running = select(sync_runs.c.id).where(sync_runs.c.status == "running").limit(1)
        return conn.execute(running).first() is not None


def on_inputs_changed(
    service: Callable[[], SmokeIndexService],
    publish: Callable[[list[Alarm]], Awaitable[None]],
    engine: Engine,
    holder: str,
    wake_ups: Any = None,
    settle_s: float = SETTLE_S,
) -> Callable[[], Awaitable[None]]:
    """The trigger as a hub task (see the module)."""

    async def follow() -> None:
        follower = FeedFollower(engine)
        changed = asyncio.Event()

        async def note(entries: list[FeedEntry]) -> None:
            if any(e.kind in INPUT_KINDS for e in entries):
                changed.set()

        async def rescore_when_settled() -> None:
            loop = asyncio.get_running_loop()
            while True:
                await changed.wait()
                first = loop.time()
                while loop.time() - first < MAX_WAIT_S:
                    changed.clear()
                    try:
                        async with asyncio.timeout(settle_s):
                            await changed.wait()
                    except TimeoutError:
                        break
                changed.clear()
                # the rest of the pass first: a score from half a sync is no baseline
                while loop.time() - first < MAX_WAIT_S and await asyncio.to_thread(syncing, engine):
                    await asyncio.sleep(settle_s / 4)
                try:
                    result: RunResult = await asyncio.to_thread(service().rescore_as, ACTOR)
                except Exception as exc:  # e.g. no firms yet: the next change tries again
                    log.warning("smoke index not rescored: %s", str(exc)[:200])
                    continue
                log.info("smoke index rescored after a sync: %d jumps", len(result.jumps))
                await publish(result.alarms)

        follower.on("record", note)
        rescoring = asyncio.create_task(rescore_when_settled())
        try:
            await follower.run(wake_ups)
        finally:
            rescoring.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await rescoring

    async def run() -> None:
        await while_held(engine, LEASE, holder, follow)

    return run
