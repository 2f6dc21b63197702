"""A connector: a system descriptor + a transport + mappings into records + a health check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from connectors.descriptor import SystemDescriptor
from connectors.errors import ConnectorError
from connectors.health import Health, check_health
from connectors.mapping import KindMapping
from connectors.passthrough import LivePassThrough
from connectors.transports.base import Page, Transport


@dataclass
class Connector:
    descriptor: SystemDescriptor
    transport: Transport
    mappings: tuple[KindMapping, ...]
    live: LivePassThrough[Any] | None = field(default=None)
    # where the system takes the hub's status changes back, {id} its item's source id
    write_back_path: str | None = None

    @property
    def id(self) -> str:
        return self.descriptor.id

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.kind for m in self.mappings))

    async def health(self, timeout_s: float = 5.0) -> Health:
        return await check_health(self, timeout_s)

    def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        return self.transport.pull(mapping, cursor)

    async def write_back(self, source_id: str, body: Mapping[str, Any]) -> None:
        """Tell the system about its item ``source_id`` (ConnectorError if it takes nothing
        back; SourceUnavailable: try again later)."""
        if self.write_back_path is None:
            raise ConnectorError(f"{self.id} takes no write-back")
        path = self.write_back_path.replace("{id}", quote(source_id, safe=""))
        await self.transport.write_back(path, body)

    async def close(self) -> None:
        await self.transport.close()
