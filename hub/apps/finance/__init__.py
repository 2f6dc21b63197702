"""Smart finance (智慧金融): the smoke index (冒烟指数) of the quasi-financial firms, the watch list
with its history, explanations, trends, statistics and jump alarms."""

from hub.apps import App
from hub.apps.finance.resolvers import APP_NAME, FinanceMutations, FinanceQueries
from hub.apps.finance.services import SmokeIndexService
from hub.services import HubServices


def _services(hub: HubServices) -> SmokeIndexService:
    # the first scoring pass runs on the first read (or rescore), not at start-up
    return SmokeIndexService.from_environment(hub.store)


APP = App(name=APP_NAME, query=FinanceQueries, mutation=FinanceMutations, services=_services)
