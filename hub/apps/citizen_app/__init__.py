"""The 滨海掌上行 citizen app's API: 指尖办 (apply for a government service online and follow
it, through the government-services app), 随手拍 (report a problem with photos and a place
and follow it to its result, through the citizen-service centre), 微资讯 (the district media
center's news, newest first, searchable). Photos are uploaded at ``/citizen-app/v1/photos``
(multipart) or as base64 through GraphQL, checked for size and real type and kept by content
hash. The other apps are reached through the hub's service registry, never imported."""

from hub.apps import App
from hub.apps.citizen_app.resolvers import APP_NAME, CitizenAppMutations, CitizenAppQueries
from hub.apps.citizen_app.routes import routes
from hub.apps.citizen_app.services import CitizenApp
from hub.services import HubServices


def _services(hub: HubServices) -> CitizenApp:
    return CitizenApp(hub)


APP = App(
    name=APP_NAME,
    query=CitizenAppQueries,
    mutation=CitizenAppMutations,
    services=_services,
    routes=routes,
)
