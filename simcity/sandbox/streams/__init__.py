"""The living city: streams that keep the simulated systems moving, and incidents on demand.

A running sandbox makes a :class:`LiveCity` — its clock, seed, systems, MQTT broker and rates —
and starts every stream of the stream modules (:data:`MODULES`; each has
``streams(city) -> list[Stream]``) as a task. Telemetry goes over MQTT to the hub's topic, new
rows are appended to the systems' own streams (and pushed where the system pushes), so the hub
meets the new facts over the same protocols as the old ones.

Incidents (:data:`INCIDENTS`) are registered by the stream modules with :func:`incident`; each
is deterministic from the seed, its kind, the place and the clock, so a test can ask for one
(``POST /admin/incidents/{kind}`` on the control server, ``cityhub sandbox incident KIND``) and
wait for its alarm. A low random rate of them runs too (:func:`random_incidents`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from simcity.binhai.context import derive_seed
from simcity.clock import SimClock
from simcity.sandbox.dataset import SystemData

MODULES = tuple(
    f"simcity.sandbox.streams.{name}" for name in ("hazchem", "muck", "water", "cameras", "reports")
)
HOUR = 3600.0
DAY = 86400.0
# incidents the city has by itself, per day of the city's time (0 turns them off)
RANDOM_INCIDENTS_PER_DAY = 12.0


@dataclass(frozen=True)
class Where:
    """Where an incident is asked for: a site's key (a tank, station, camera, street, ...) or
    a point, or neither (the incident picks its own place, deterministically)."""

    site: str | None = None
    lon: float | None = None
    lat: float | None = None

    @classmethod
    def parse(cls, text: str | None) -> Where:
        """``SITE`` or ``LON,LAT``; empty: anywhere."""
        if not text:
            return cls()
        lon, sep, lat = text.partition(",")
        if sep:
            try:
                return cls(lon=float(lon), lat=float(lat))
            except ValueError:
                pass
        return cls(site=text.strip())


@dataclass
class LiveCity:
    """What every stream and incident shares."""

    clock: SimClock
    seed: int
    systems: dict[str, SystemData]
    mqtt_host: str
    mqtt_port: int
    rates: dict[str, float] = field(default_factory=dict)  # overrides, by rate name
    log: Callable[[str], None] = lambda message: None
    state: dict[str, Any] = field(default_factory=dict)  # streams' shared live state

    def rng(self, *names: object) -> random.Random:
        """A random source derived from the seed and ``names`` (say a kind and a time bucket):
        the same names always give the same numbers."""
        return random.Random(derive_seed(self.seed, "live/" + "/".join(map(str, names))))

    def rate(self, name: str, default: float) -> float:
        """A stream's configured rate (``--rate NAME=VALUE``), else its default."""
        return float(self.rates.get(name, default))


class Stream(Protocol):
    name: str

    async def run(self, city: LiveCity) -> None:
        """Run until cancelled."""


IncidentHandler = Callable[[LiveCity, Where], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Incident:
    kind: str
    description: str
    alarms: tuple[str, ...]  # the hub alarm kinds it should raise
    handler: IncidentHandler


INCIDENTS: dict[str, Incident] = {}


def incident(
    kind: str, description: str, alarms: tuple[str, ...]
) -> Callable[[IncidentHandler], IncidentHandler]:
    """Register an incident kind; the handler makes it happen and answers what it did (the
    subject's key, the place, what the hub should raise)."""

    def register(handler: IncidentHandler) -> IncidentHandler:
        INCIDENTS[kind] = Incident(kind, description, alarms, handler)
        return handler

    return register


def load_modules() -> None:
    for name in MODULES:
        importlib.import_module(name)


async def trigger(city: LiveCity, kind: str, where: Where) -> dict[str, Any]:
    load_modules()
    found = INCIDENTS.get(kind)
    if found is None:
        raise KeyError(kind)
    answer = await found.handler(city, where)
    city.log(f"incident {kind}: {answer}")
    return {"kind": kind, "alarms": list(found.alarms), "at": city.clock.now().isoformat(),
            **answer}  # fmt: skip


async def random_incidents(city: LiveCity) -> None:
    """A low random rate of incidents (``--rate incidents_per_day=N``), each drawn from the
    seed and the hour it falls in."""
    per_day = city.rate("incidents_per_day", RANDOM_INCIDENTS_PER_DAY)
    if per_day <= 0:
        return
    load_modules()
    hour = 0
    while True:
        await city.clock.sleep(HOUR)
        hour += 1
        rng = city.rng("incidents", hour)
        if rng.random() < per_day * HOUR / DAY and INCIDENTS:
            kind = rng.choice(sorted(INCIDENTS))
            with contextlib.suppress(Exception):  # one failed incident never stops the city
                await trigger(city, kind, Where())


def streams_of(city: LiveCity) -> list[Stream]:
    found: list[Stream] = []
    for name in MODULES:
        found.extend(importlib.import_module(name).streams(city))
    return found


async def run(city: LiveCity) -> None:
    """Every stream and the random incidents, until cancelled; a stream that fails is logged
    and restarted after a pause, never taking the others down."""

    async def keep(stream: Stream) -> None:
        while True:
            try:
                await stream.run(city)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                city.log(f"stream {stream.name} failed: {type(exc).__name__}: {exc}; restarting")
                await asyncio.sleep(2.0)

    tasks = [asyncio.create_task(keep(s), name=s.name) for s in streams_of(city)]
    tasks.append(asyncio.create_task(random_incidents(city), name="incidents"))
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        from simcity.sandbox.streams.publish import publisher

        await publisher(city).close()
