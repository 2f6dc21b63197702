"""Live: alarms and case updates as GraphQL subscriptions, recent alarms, and telemetry
ingest over HTTP (``POST /telemetry``) and MQTT, routed to the apps' alarm evaluation."""

from hub.apps import App
from hub.apps.live.mqtt import tasks
from hub.apps.live.resolvers import LiveQueries, LiveSubscriptions
from hub.apps.live.routes import routes

APP = App(
    name="live",
    query=LiveQueries,
    subscription=LiveSubscriptions,
    routes=routes,
    tasks=tasks,
)
