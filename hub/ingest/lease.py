"""Leases in the store (``sync_lease``, migration 0005): one holder at a time for a named job —
the scheduled syncs, the MQTT telemetry consumer, each running sync run — taken and renewed
atomically, taken over by another worker once the holder stops renewing and it expires."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from hub.ingest.tables import sync_lease

log = logging.getLogger(__name__)


class Lease:
    def __init__(self, engine: Engine, name: str, holder: str) -> None:
        self.engine = engine
        self.name = name
        self.holder = holder

    def take(self, seconds: float) -> bool:
        """Hold the lease for ``seconds`` (renew if held); False if another holder has a live
        one."""
        now = datetime.now(UTC)
        until = now + timedelta(seconds=seconds)
        with self.engine.begin() as conn:
            taken = conn.execute(
                update(sync_lease)
                .where(
                    sync_lease.c.name == self.name,
                    or_(sync_lease.c.holder == self.holder, sync_lease.c.expires_at < now),
                )
                .values(holder=self.holder, expires_at=until)
            ).rowcount
        if taken:
            return True
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(sync_lease).values(name=self.name, holder=self.holder, expires_at=until)
                )
        except IntegrityError:  # another worker holds it
            return False
        return True

    def release(self) -> None:
        """Give the lease up now (if held), so another worker need not wait for it to
        expire."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(sync_lease).where(
                    sync_lease.c.name == self.name, sync_lease.c.holder == self.holder
                )
            )

    async def renew_every(self, every_s: float, seconds: float) -> None:
        """Renew until cancelled; return when another holder has taken the lease over. A
        renewal the store refuses is logged and retried: the holder keeps working, and another
        worker takes over only if the lease runs out."""
        while True:
            await asyncio.sleep(every_s)
            try:
                if not await run_in_threadpool(self.take, seconds):
                    log.warning("lease %s: taken over by another worker", self.name)
                    return
            except Exception as exc:
                log.warning("lease %s not renewed: %s", self.name, type(exc).__name__)


def live_names(conn: Connection, names: Sequence[str], now: datetime) -> set[str]:
    """Which of ``names`` are leases held now."""
    if not names:
        return set()
    rows = conn.execute(
        select(sync_lease.c.name).where(
            sync_lease.c.name.in_(list(names)), sync_lease.c.expires_at >= now
        )
    )
    return set(rows.scalars())


async def while_held(
    engine: Engine,
    name: str,
    holder: str,
    work: Callable[[], Coroutine[Any, Any, None]],
    seconds: float = 30.0,
) -> None:
    """Run ``work`` in whichever worker holds lease ``name``, until cancelled: wait for the
    lease, run the work while renewing it, stop the work when another worker took it over
    (and wait for it again); give the lease up on the way out."""
    lease = Lease(engine, name, holder)
    try:
        while True:
            try:
                held = await run_in_threadpool(lease.take, seconds)
            except Exception as exc:  # a store hiccup: nobody works until it is back
                log.warning("lease %s: %s", name, type(exc).__name__)
                held = False
            if not held:
                await asyncio.sleep(seconds / 3)
                continue
            working = asyncio.create_task(work())
            renewing = asyncio.create_task(lease.renew_every(seconds / 3, seconds))
            await asyncio.wait({working, renewing}, return_when=asyncio.FIRST_COMPLETED)
            for task in (working, renewing):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if working.done() and not working.cancelled() and working.exception() is None:
                return  # the work is done
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(run_in_threadpool(lease.release))
