"""The 28 source systems of Binhai New Area as connectors, each a thin mapping over a transport.

``SPECS`` declares them (by sector: :mod:`.government`, :mod:`.economy`, :mod:`.city`,
:mod:`.livelihood`); :func:`build_connectors` turns the declarations into live connectors for
the endpoints a deployment (or the simulated city) publishes: ``{"systems": {id: {"url": ...,
"path": ..., "secret": ..., "status_topic": ...}}}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from shapely.geometry.base import BaseGeometry

from connectors.binhai import city, economy, government, livelihood
from connectors.binhai.spec import ConnectorSpec
from connectors.connector import Connector
from connectors.descriptor import SystemDescriptor
from connectors.passthrough import LivePassThrough, rest_lookup
from connectors.transports.base import Transport
from connectors.transports.filedrop import FileDropTransport
from connectors.transports.graphql import GraphQLTransport
from connectors.transports.mqtt import MqttTransport
from connectors.transports.rest import RestTransport
from connectors.transports.sql import SqlTransport
from connectors.transports.webhook import WebhookTransport
from simcity.binhai.systems import SYSTEMS

SPECS: tuple[ConnectorSpec, ...] = (
    *government.SPECS,
    *economy.SPECS,
    *city.SPECS,
    *livelihood.SPECS,
)
SPEC_BY_ID = {spec.system: spec for spec in SPECS}

DESCRIPTORS: dict[str, SystemDescriptor] = {
    s.id: SystemDescriptor(
        id=s.id,
        name_zh=s.name_zh,
        name_en=s.name_en,
        department=s.department,
        sector=s.sector,
        classification=s.data_classification,
        protocol=SPEC_BY_ID[s.id].protocol,
        mode=SPEC_BY_ID[s.id].mode,
    )
    for s in SYSTEMS
}

if set(SPEC_BY_ID) != set(DESCRIPTORS) or len(SPECS) != 28:  # pragma: no cover
    raise AssertionError("one connector per Binhai system, 28 in all")


class EndpointError(ValueError):
    """The endpoints file lacks what a connector needs."""


def _need(endpoint: Mapping[str, Any], name: str, system: str) -> Any:
    if name not in endpoint:
        raise EndpointError(f"sources: {system} needs {name!r}")
    return endpoint[name]


def make_transport(spec: ConnectorSpec, endpoint: Mapping[str, Any]) -> Transport:
    system = spec.system
    if spec.protocol == "sql":
        return SqlTransport(_need(endpoint, "url", system))
    if spec.protocol == "rest":
        return RestTransport(
            _need(endpoint, "url", system), secret=endpoint.get("secret"), **spec.options
        )
    if spec.protocol == "filedrop":
        return FileDropTransport(_need(endpoint, "path", system))
    if spec.protocol == "mqtt":
        return MqttTransport(
            _need(endpoint, "url", system), status_topic=endpoint.get("status_topic")
        )
    if spec.protocol == "webhook":
        return WebhookTransport(
            _need(endpoint, "url", system), _need(endpoint, "secret", system), system=system
        )
    if spec.protocol == "graphql":
        return GraphQLTransport(_need(endpoint, "url", system))
    raise EndpointError(f"{system}: unknown protocol {spec.protocol!r}")


def build_connector(system: str, endpoint: Mapping[str, Any]) -> Connector:
    spec = SPEC_BY_ID[system]
    transport = make_transport(spec, endpoint)
    live = None
    if spec.live_path and isinstance(transport, RestTransport):
        live = LivePassThrough(rest_lookup(transport.get_json, spec.live_path), timeout_s=2.0)
    return Connector(DESCRIPTORS[system], transport, spec.mappings, live, spec.write_back)


def build_connectors(
    endpoints: Mapping[str, Any], only: Iterable[str] | None = None
) -> list[Connector]:
    """Connectors for the systems the endpoints file lists (or just ``only``), catalog order."""
    systems = endpoints.get("systems", {})
    wanted = list(only) if only else [s.id for s in SYSTEMS]
    unknown = [s for s in wanted if s not in SPEC_BY_ID]
    if unknown:
        raise EndpointError(f"unknown system(s): {', '.join(unknown)}")
    missing = [s for s in wanted if s not in systems]
    if missing:
        raise EndpointError(f"sources: no endpoint for {', '.join(missing)}")
    return [build_connector(s, systems[s]) for s in wanted]


@lru_cache(maxsize=1)
def binhai_area() -> BaseGeometry:
    """The district's outline: records placed outside it are quarantined."""
    from simcity.binhai.outline import outline

    return outline()
