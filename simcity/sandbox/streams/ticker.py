"""A stream that does one thing every so often of the city's time (a pass of readings, a
chance of a change), first at once (or after ``delay_s``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from simcity.sandbox.streams import LiveCity


@dataclass
class Ticker:
    name: str
    every_s: float  # of the city's time
    tick: Callable[[], Awaitable[None]]
    delay_s: float = 0.0

    async def run(self, city: LiveCity) -> None:
        await city.clock.sleep(self.delay_s)
        while True:
            await self.tick()
            await city.clock.sleep(self.every_s)
