"""Water supervision (水域监管平台): the 12 rivers with their water-quality class (GB 3838-2002)
and compliance rate, water-quality stations and their samples, pump stations and gates with
their SCADA states, ponding points, flood and waterlogging warnings from levels against
thresholds.

Telemetry handlers: ``water.level``, ``water.quality``, ``pump.state`` and ``gate.state``
(``POST /telemetry``, MQTT)."""

from hub.apps import App
from hub.apps.water.resolvers import WaterQueries
from hub.apps.water.services import services
from hub.apps.water.types import TYPES

APP = App(name="water", query=WaterQueries, types=TYPES, services=services)
