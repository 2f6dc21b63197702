"""Each worker follows the change feed's ``reading`` entries, so the apps' monitors (tank
levels, river gauges, vehicles) take in what other workers stored: the next reading is judged
against the device's true last state, wherever that was accepted, and no worker raises an alarm
another has raised already."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from hub.feed import FeedEntry, FeedFollower
from hub.services import HubServices


def tasks(hub: HubServices) -> list[Callable[[], Awaitable[None]]]:
    if not hub.live.refreshers:
        return []

    async def follow() -> None:
        follower = FeedFollower(hub.store.engine)  # from the head: warm-up read the rest

        async def refresh(entries: list[FeedEntry]) -> None:
            await asyncio.to_thread(hub.live.refresh, entries)

        follower.on("reading", refresh)
        await follower.run(hub.broadcast)

    return [follow]
