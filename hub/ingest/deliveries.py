"""Webhook deliveries already taken, in the store (table ``webhook_deliveries``, migration
0006): every hub worker refuses a delivery another one took, inside the replay window.

A claim is an insert on the (system, delivery id) key, so two workers racing on the same
delivery cannot both win; rows older than the window are pruned as claims come in (after
the window the delivery's timestamp is refused anyway).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from connectors.transports.webhook import REPLAY_WINDOW_S
from hub.ingest.tables import webhook_deliveries as table


class StoreLedger:
    def __init__(self, engine: Engine, window_s: float = REPLAY_WINDOW_S) -> None:
        self.engine = engine
        self.window = timedelta(seconds=window_s)

    def claim_now(self, system: str, delivery_id: str) -> bool:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            conn.execute(delete(table).where(table.c.seen_at < now - self.window))
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(table).values(system=system, delivery_id=delivery_id, seen_at=now)
                )
        except IntegrityError:  # taken before, by this worker or another
            return False
        return True

    def release_now(self, system: str, delivery_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(table).where(table.c.system == system, table.c.delivery_id == delivery_id)
            )

    async def claim(self, system: str, delivery_id: str) -> bool:
        return await run_in_threadpool(self.claim_now, system, delivery_id)

    async def release(self, system: str, delivery_id: str) -> None:
        await run_in_threadpool(self.release_now, system, delivery_id)
