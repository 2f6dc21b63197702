"""Government services (政务服务 and "指尖办"): the catalogue of service items with their
required materials; online applications submitted with their materials, validated against the
item, carried through submitted → accepted / returned for missing materials → under review →
approved / rejected with actor and time at each step and the promised deadline; the applicant
follows by tracking number; statistics (items served online, average time to a decision)."""

from hub.apps import App
from hub.apps.gov_services.resolvers import APP_NAME, GovServicesMutations, GovServicesQueries
from hub.apps.gov_services.services import GovernmentServices
from hub.apps.gov_services.types import TYPES
from hub.idempotency import Idempotency
from hub.services import HubServices


def _services(hub: HubServices) -> GovernmentServices:
    # built lazily: the catalogue and applications are read on first use, not at start-up
    return GovernmentServices(hub.store, keys=Idempotency(hub.store.engine, hub.settings.kek()))


APP = App(
    name=APP_NAME,
    query=GovServicesQueries,
    mutation=GovServicesMutations,
    types=TYPES,
    services=_services,
)
