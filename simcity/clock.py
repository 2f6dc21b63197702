"""The simulated city's clock: real time by default, ``speed`` times faster when asked.

The demo city is generated once per seed, anchored at ``BASE_TIME`` (2026-06-01) so that it is
deterministic and cached; a running city is shifted so that ``BASE_TIME`` becomes the clock's
``start`` (:meth:`SimClock.shift`), so the demo always looks like today. From then on the city's
time runs from ``start`` at ``speed`` sim-seconds per wall-second: every stream stamps its
readings and filings with :meth:`SimClock.now`, and paces itself with :meth:`SimClock.sleep`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from simcity.binhai.context import BASE_TIME, CST


def today_start() -> datetime:
    """Now in Binhai's time zone, to the second (the default start of a running city)."""
    return datetime.now(CST).replace(microsecond=0)


@dataclass(frozen=True)
class SimClock:
    start: datetime = field(default_factory=today_start)  # the city's time when it started
    speed: float = 1.0  # city seconds per wall-clock second
    wall_start: float = field(default_factory=time.time)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("the clock's start needs a time zone")
        if not 0 < self.speed <= 10_000:
            raise ValueError(f"speed must be in (0, 10000], got {self.speed}")

    @property
    def shift(self) -> timedelta:
        """What to add to a generated (``BASE_TIME``-anchored) time to place it in this city."""
        return self.start - BASE_TIME

    def now(self) -> datetime:
        """The city's time now (Binhai's time zone)."""
        return self.at_wall(time.time())

    def at_wall(self, wall: float) -> datetime:
        return (self.start + timedelta(seconds=(wall - self.wall_start) * self.speed)).astimezone(
            CST
        )

    def seconds(self) -> float:
        """The city's time now as a Unix timestamp (what readings carry)."""
        return self.start.timestamp() + (time.time() - self.wall_start) * self.speed

    def wall_seconds(self, city_seconds: float) -> float:
        """How long ``city_seconds`` of the city's time take on the wall clock."""
        return city_seconds / self.speed

    async def sleep(self, city_seconds: float) -> None:
        """Sleep for ``city_seconds`` of the city's time."""
        await asyncio.sleep(max(city_seconds, 0.0) / self.speed)
