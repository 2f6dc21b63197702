"""Citizen-service response (便民服务响应): five channels through one door into
``ServiceCase``, the grid cell and duty of each case, duplicates merged, the nearest on-duty
inspector with the duty sent to verify, the department from the catalog, the closed loop with
deadlines; statistics and the 15-minute service circle; Open311 GeoReport v2 at
``/open311/v2/``."""

from collections.abc import Awaitable, Callable

from hub.apps import App
from hub.apps.citizen_service import duplicates
from hub.apps.citizen_service.open311 import routes
from hub.apps.citizen_service.resolvers import (
    APP_NAME,
    CitizenServiceMutations,
    CitizenServiceQueries,
)
from hub.apps.citizen_service.services import CitizenServiceCentre
from hub.idempotency import Idempotency
from hub.services import HubServices


def _tasks(hub: HubServices) -> list[Callable[[], Awaitable[None]]]:
    # the duplicate watch over the source systems' new cases runs with the scheduled syncs
    if hub.settings.sync_interval_s <= 0:
        return []

    async def publish(merged: duplicates.Merged) -> None:
        for update in merged.updates:
            await hub.live.publish_case(update)
        await hub.live.publish_alarms(merged.alarms)

    return [
        duplicates.watch(
            lambda: hub.service(APP_NAME), publish, hub.store.engine, hub.sources.holder,
            hub.broadcast,
        )
    ]  # fmt: skip


def _services(hub: HubServices) -> CitizenServiceCentre:
    # built lazily: the grid, catalog and inspectors are read on first use, not at start-up
    return CitizenServiceCentre(hub.store, keys=Idempotency(hub.store.engine, hub.settings.kek()))


APP = App(
    name=APP_NAME,
    query=CitizenServiceQueries,
    mutation=CitizenServiceMutations,
    services=_services,
    routes=routes,
    tasks=_tasks,
)
