"""Live: alarms and case updates as GraphQL subscriptions, recent alarms, and telemetry
ingest over HTTP (``POST /telemetry``) and MQTT, routed to the apps' alarm evaluation, and the
feed's readings followed into the apps' monitors."""

from collections.abc import Awaitable, Callable

from hub.apps import App
from hub.apps.live import follow, mqtt
from hub.apps.live.resolvers import LiveQueries, LiveSubscriptions
from hub.apps.live.routes import routes
from hub.services import HubServices


def tasks(hub: HubServices) -> list[Callable[[], Awaitable[None]]]:
    return [*mqtt.tasks(hub), *follow.tasks(hub)]


APP = App(
    name="live",
    query=LiveQueries,
    subscription=LiveSubscriptions,
    routes=routes,
    tasks=tasks,
)
