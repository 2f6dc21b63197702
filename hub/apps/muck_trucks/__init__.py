"""Muck-truck supervision (渣土车): trucks with permits, routes and time windows; live
positions checked against their allowed corridors (core ``GeofenceSet``) and the registered
dumping sites; violations — off route, wrong hours, unregistered dumping — as alarms and as
service cases filed with the citizen-service centre.

Telemetry handler: ``muck.fix`` (``POST /telemetry``, MQTT)."""

from hub.apps import App
from hub.apps.muck_trucks.resolvers import MuckQueries
from hub.apps.muck_trucks.services import services
from hub.apps.muck_trucks.types import TYPES

APP = App(name="muck_trucks", query=MuckQueries, types=TYPES, services=services)
