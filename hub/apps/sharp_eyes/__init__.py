"""Sharp Eyes (雪亮工程): the public video network on the map — cameras with their health
(online / offline / fault, heartbeats), coverage per grid cell (core ``GridIndex``), and the
video platform's analytics events placed at their cameras and filed as service cases.

Telemetry handler: ``video.event`` (``POST /telemetry``, MQTT)."""

from hub.apps import App
from hub.apps.sharp_eyes.resolvers import SharpEyesQueries
from hub.apps.sharp_eyes.services import services
from hub.apps.sharp_eyes.types import TYPES

APP = App(name="sharp_eyes", query=SharpEyesQueries, types=TYPES, services=services)
