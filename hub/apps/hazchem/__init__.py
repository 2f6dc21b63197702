"""Hazardous chemicals (危化品全域监管): firms, sites, tanks with live levels and alarms,
real-name warehouse slips and stock by hazard class, vehicles with live positions,
trajectories, forbidden-zone entries and speeding, statistics by category and park.

Telemetry handlers: ``tank.level``, ``tank.temperature``, ``tank.pressure`` and
``vehicle.fix`` (``POST /telemetry``, MQTT); a timer raises the alarms of silent tank sensors."""

from hub.apps import App
from hub.apps.hazchem import silence
from hub.apps.hazchem.resolvers import HazchemQueries
from hub.apps.hazchem.services import services
from hub.apps.hazchem.types import TYPES

APP = App(name="hazchem", query=HazchemQueries, types=TYPES, services=services, tasks=silence.tasks)
