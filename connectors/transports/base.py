"""The transport interface and the cursor helpers the pull transports share."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar

from connectors.errors import ConnectorError
from connectors.mapping import KindMapping, parse_time

OVERLAP = timedelta(minutes=10)
"""Incremental pulls re-read this much before the cursor, so rows that arrive late (written
with an updated-at a little in the past) are not missed; upserts make the overlap harmless."""


@dataclass
class Page:
    """Native rows of one stream, and the stream's cursor once they are stored."""

    rows: list[dict[str, Any]]
    cursor: Any = None


class Transport(ABC):
    protocol: ClassVar[str]

    @abstractmethod
    def describe(self) -> str:
        """Where the source is (URL, folder, topic prefix), passwords masked."""

    @abstractmethod
    async def check(self) -> None:
        """Return if the source answers; raise SourceUnavailable saying why not."""

    @abstractmethod
    def pull(self, mapping: KindMapping, cursor: Any) -> AsyncIterator[Page]:
        """Pages of native rows for the mapping's stream, newer than ``cursor``."""

    async def write_back(self, path: str, body: Mapping[str, Any]) -> None:
        """Tell the source system something about one of its items at ``path`` (a status
        callback its spec declares). SourceUnavailable: try again later."""
        raise ConnectorError(f"{self.describe()}: a {self.protocol} source takes no write-back")

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


def since(cursor: Any) -> str | None:
    """The updated-at to ask the source for: the cursor minus the overlap, ISO 8601."""
    moment = parse_time(cursor) if isinstance(cursor, str) else None
    return (moment - OVERLAP).isoformat() if moment is not None else None


def advance(cursor: Any, mapping: KindMapping, rows: Iterable[Mapping[str, Any]]) -> Any:
    """The cursor after these rows: the latest updated-at seen (kept in the source's text)."""
    best = cursor if isinstance(cursor, str) else None
    best_time = parse_time(best) if best else None
    if mapping.updated_at is None:
        return best
    for row in rows:
        value = row.get(mapping.updated_at)
        moment = parse_time(value)
        if moment is not None and (best_time is None or moment > best_time):
            best_time, best = moment, value if isinstance(value, str) else moment.isoformat()
    return best
