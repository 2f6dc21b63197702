"""The running hub's side of the source systems: signed webhook pushes into the store, live
pass-through at query time, and scheduled incremental syncs.

The endpoints file (``CITYHUB_SOURCES``; the simulated city writes one) says where each system
is. It is read when first needed, so a hub started before its sources still comes up; with no
file, pushes are refused (503) and live fields answer with an error entry.

Scheduled syncs (``CITYHUB_SYNC_INTERVAL_S`` > 0) run in one worker at a time: a lease row in
the store, taken and renewed atomically, decides which; when that worker stops, another takes
over once the lease expires.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool

from connectors.connector import Connector
from connectors.errors import ConnectorError
from connectors.passthrough import LiveValue
from connectors.transports.webhook import DeliveryError
from hub.config import Settings
from hub.ingest.deliveries import StoreLedger
from hub.ingest.lease import Lease
from hub.ingest.sync import RunReport, SyncEngine
from hub.store import RecordStore

log = logging.getLogger(__name__)
LEASE = "scheduled-sync"


class SourcesUnavailable(Exception):
    """No endpoints file, or it does not name the system."""


class SourceSystems:
    def __init__(self, settings: Settings, store: RecordStore) -> None:
        self.settings = settings
        self.store = store
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self._endpoints: dict[str, Any] | None = None
        self._connectors: dict[str, Connector] = {}
        self._engine: SyncEngine | None = None
        self.deliveries = StoreLedger(store.engine)  # webhook deliveries taken, for replays

    # -- the endpoints file and the connectors ------------------------------------------

    def endpoints(self) -> dict[str, Any]:
        if self._endpoints is None:
            from hub.ingest.status import SourcesError, load_endpoints

            try:
                self._endpoints = load_endpoints(self.settings.sources_file)
            except SourcesError as exc:
                raise SourcesUnavailable(str(exc)) from None
        return self._endpoints

    def connector(self, system: str) -> Connector:
        found = self._connectors.get(system)
        if found is not None:
            return found
        from connectors.binhai import EndpointError, build_connector

        endpoint = self.endpoints().get("systems", {}).get(system)
        if endpoint is None:
            raise SourcesUnavailable(f"no endpoint for system {system!r}")
        try:
            found = build_connector(system, endpoint)
        except (EndpointError, KeyError) as exc:
            raise SourcesUnavailable(f"{system}: {exc}") from None
        self._connectors[system] = found
        return found

    def engine(self) -> SyncEngine:
        if self._engine is None:
            from connectors.binhai import binhai_area
            from connectors.validate import RecordValidator

            self._engine = SyncEngine(
                self.store,
                RecordValidator(binhai_area()),
                call_timeout_s=self.settings.sync_call_timeout_s,
                run_timeout_s=self.settings.sync_run_timeout_s,
            )
        return self._engine

    # -- push ----------------------------------------------------------------------------

    def webhook_secret(self, system: str) -> str | None:
        """The shared secret of a system that pushes (None: it may not push here)."""
        from connectors.binhai import SPEC_BY_ID

        spec = SPEC_BY_ID.get(system)
        if spec is None or spec.mode != "push":
            return None
        try:
            endpoint = self.endpoints().get("systems", {}).get(system) or {}
        except SourcesUnavailable:
            return None
        secret = endpoint.get("secret")
        return str(secret) if secret else None

    async def take_delivery(self, system: str, delivery: Mapping[str, Any]) -> RunReport:
        """A signed delivery's events, as a run of the system's connector."""
        try:
            connector = self.connector(system)
        except SourcesUnavailable as exc:
            raise DeliveryError(str(exc), 503) from None
        events = [e for e in delivery["events"] if isinstance(e, dict)]
        if not delivery["events"]:
            # a standing subscription's heartbeat (or an empty backlog): nothing to store,
            # and no run to record every few seconds
            return RunReport(system, status="ok")
        stream = delivery.get("stream")
        try:
            report = await self.engine().push(
                connector, events, stream if isinstance(stream, str) else None
            )
        except ConnectorError as exc:
            raise DeliveryError(str(exc), 400) from None
        if report.status != "ok":
            raise DeliveryError(f"not stored: {report.error}", 503)
        return report

    # -- live pass-through ---------------------------------------------------------------

    def live_system(self, kind: str) -> str | None:
        """The system that serves ``kind``'s live state, if any."""
        from connectors.binhai import SPEC_BY_ID

        for system, spec in SPEC_BY_ID.items():
            if spec.live_path and any(m.kind == kind for m in spec.mappings):
                return system
        return None

    async def live(self, kind: str, key: str) -> tuple[str, LiveValue[Any]]:
        """(system, value) of one item's live state; raises when the source cannot say and
        nothing is cached (the caller reports an error entry, the rest of the query stands)."""
        system = self.live_system(kind)
        if system is None:
            raise SourcesUnavailable(f"no source system serves live {kind}")
        connector = self.connector(system)
        if connector.live is None:
            raise SourcesUnavailable(f"{system} has no live pass-through")
        return system, await connector.live.get(key)

    # -- scheduled syncs -----------------------------------------------------------------

    def take_lease(self, seconds: float) -> bool:
        """Hold the scheduled-sync lease for ``seconds`` (renew if held); False if another
        worker holds a live one."""
        return Lease(self.store.engine, LEASE, self.holder).take(seconds)

    async def sync_pulls(self) -> list[RunReport]:
        """One scheduled pass: every pull-mode system in the endpoints file."""
        from connectors.binhai import SPEC_BY_ID

        systems = [
            s for s in self.endpoints().get("systems", {}) if s in SPEC_BY_ID and
            SPEC_BY_ID[s].mode == "pull"
        ]  # fmt: skip
        # fresh connectors per pass: their transports hold connections for one run
        from connectors.binhai import build_connectors

        connectors = build_connectors(self.endpoints(), systems)
        try:
            return await self.engine().sync_all(connectors)
        finally:
            for connector in connectors:
                await connector.close()

    async def run_schedule(self) -> None:
        interval = self.settings.sync_interval_s
        while True:
            try:
                if await run_in_threadpool(self.take_lease, interval * 2):
                    # held for the whole pass, however long (each run has its deadline)
                    lease = Lease(self.store.engine, LEASE, self.holder)
                    renewing = asyncio.create_task(lease.renew_every(interval / 2, interval * 2))
                    try:
                        reports = await self.sync_pulls()
                    finally:
                        renewing.cancel()
                    down = [r.connector for r in reports if r.status != "ok"]
                    log.info(
                        "scheduled sync: %d systems, %d records new or changed%s",
                        len(reports),
                        sum(r.changed for r in reports),
                        f"; not synced: {', '.join(down)}" if down else "",
                    )
            except SourcesUnavailable as exc:
                log.warning("scheduled sync skipped: %s", exc)
            except Exception as exc:  # never let the scheduler die; the next pass retries
                log.error("scheduled sync failed: %s", str(exc).splitlines()[0][:300])
            await asyncio.sleep(interval)

    async def close(self) -> None:
        for connector in self._connectors.values():
            await connector.close()
        self._connectors.clear()
