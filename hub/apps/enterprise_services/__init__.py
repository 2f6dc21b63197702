"""Enterprise services "双万双服": firms' requests to government filed on the citizen-service
centre's enterprise channel, assigned to departments by request type, followed to resolution
and rated through the centre's closed loop (reached through the hub's service registry);
figures by department and request type."""

from hub.apps import App
from hub.apps.enterprise_services.resolvers import (
    APP_NAME,
    EnterpriseServiceMutations,
    EnterpriseServiceQueries,
)
from hub.apps.enterprise_services.services import services

APP = App(
    name=APP_NAME,
    query=EnterpriseServiceQueries,
    mutation=EnterpriseServiceMutations,
    services=services,
)
