"""Health checks: is a source up, and how long did it take to answer."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from connectors.errors import ConnectorError

if TYPE_CHECKING:
    from connectors.connector import Connector


@dataclass(frozen=True)
class Health:
    system: str
    status: Literal["up", "down"]
    latency_ms: float
    checked_at: datetime
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checked_at"] = self.checked_at.isoformat()
        return data


async def check_health(connector: Connector, timeout_s: float = 5.0) -> Health:
    start = time.perf_counter()
    error: str | None = None
    try:
        async with asyncio.timeout(timeout_s):
            await connector.transport.check()
    except TimeoutError:
        error = f"no answer within {timeout_s:.0f} s"
    except ConnectorError as exc:
        error = str(exc)
    except OSError as exc:
        error = f"{type(exc).__name__}: {exc}"
    latency = round((time.perf_counter() - start) * 1000, 1)
    return Health(connector.id, "down" if error else "up", latency, datetime.now(UTC), error)
