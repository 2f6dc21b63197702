"""A connector: a system descriptor + a transport + mappings into records + a health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from connectors.descriptor import SystemDescriptor
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

    async def close(self) -> None:
        await self.transport.close()
