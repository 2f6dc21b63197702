"""Smart finance (智慧金融): the smoke index (冒烟指数) of the quasi-financial firms, the watch list
with its history, explanations, trends, statistics and jump alarms."""

from collections.abc import Awaitable, Callable

from hub.apps import App
from hub.apps.finance import rescore
from hub.apps.finance.resolvers import APP_NAME, FinanceMutations, FinanceQueries
from hub.apps.finance.services import SmokeIndexService
from hub.services import HubServices


def _services(hub: HubServices) -> SmokeIndexService:
    # the first scoring pass runs on the first read (or rescore), not at start-up
    return SmokeIndexService.from_environment(hub.store)


def _tasks(hub: HubServices) -> list[Callable[[], Awaitable[None]]]:
    # rescoring after syncs runs with the scheduled syncs
    if hub.settings.sync_interval_s <= 0:
        return []
    return [
        rescore.on_inputs_changed(
            lambda: hub.service(APP_NAME), hub.live.publish_alarms, hub.store.engine,
            hub.sources.holder, hub.broadcast,
        )
    ]  # fmt: skip


APP = App(
    name=APP_NAME,
    query=FinanceQueries,
    mutation=FinanceMutations,
    services=_services,
    tasks=_tasks,
)
