"""The video platform's live side: its cameras' keep-alives and its analytics' events.

* ``camera.heartbeat`` — the platform relays every camera's state (在线 / 离线 / 故障) every
  ``camera_heartbeat_s`` (3 min of the city's time: the hub calls an online camera silent after
  5), in ``HEARTBEAT_SLICES`` batches spread over the period. Now and then a camera drops
  (``camera_drops_per_day``, 40 of the 4,000 a day: 离线 or 故障 for 1–8 h), then comes back.
* ``video.event`` — the analytics' incident events (占道经营 / 垃圾暴露 / 烟火 / 人群聚集) on the
  cameras that run them, ``video_events_per_hour`` (3) across the district: the hub files a
  case for each, so the rate stays low.

Incident: ``camera_outage`` — the cameras of one street go offline together (a cut fibre, a
power failure) for 2 h; their heartbeats say so at once (the hub's ``camera.outage``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from schema.record import Record
from simcity.sandbox.streams import DAY, HOUR, LiveCity, Stream, Where, incident
from simcity.sandbox.streams.places import incident_rng, pick, records
from simcity.sandbox.streams.publish import publisher

HEARTBEAT_S = 180.0
HEARTBEAT_SLICES = 12
DROPS_PER_DAY = 40.0
EVENTS_PER_HOUR = 3.0
OUTAGE_S = 2 * HOUR
ONLINE, OFFLINE, FAULT = "在线", "离线", "故障"
# the analytics whose events are incidents (the hub's sharp-eyes EVENT_TYPES); face and plate
# recognition produce identifications, which the platform does not send as events
INCIDENT_ANALYTICS = ("占道经营识别", "垃圾暴露识别", "烟火识别", "人群聚集识别")
_KEY = "cameras"


@dataclass
class CameraNet:
    """Every camera's state as the platform sees it, and when a drop ends."""

    city: LiveCity
    cameras: list[Record]
    status: dict[str, str] = field(default_factory=dict)
    back_at: dict[str, float] = field(default_factory=dict)  # camera: when it comes back
    outages: dict[str, float] = field(default_factory=dict)  # street: until when
    events: int = 0
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)  # the platform's, by camera

    def __post_init__(self) -> None:
        self.status = {c.key: str(c.attrs.get("status") or ONLINE) for c in self.cameras}
        data = self.city.systems["cameras"]
        mapping = next(m for m in data.spec.mappings if m.kind == "Camera")
        self.rows = {str(r.get(mapping.key)): r for r in data.streams.get(mapping.stream, [])}

    def set(self, camera: str, status: str) -> None:
        """A camera's new state, also in the platform's own row (its live status answer)."""
        self.status[camera] = status
        row = self.rows.get(camera)
        if row is not None:
            row["status"] = status

    def heartbeats(self, part: list[Record], at: float) -> list[dict[str, Any]]:
        out = []
        for c in part:
            back = self.back_at.get(c.key)
            if back is not None and at >= back:
                del self.back_at[c.key]
                self.set(c.key, ONLINE)
            out.append({"kind": "camera.heartbeat", "id": c.key, "at": at,
                        "status": self.status[c.key]})  # fmt: skip
        return out

    def drops(self, at: float, seconds: float, n: int) -> None:
        """The cameras that drop in ``seconds`` of the city's time (the ``n``-th batch's)."""
        rng = self.city.rng("cameras/drops", n)
        expected = self.city.rate("camera_drops_per_day", DROPS_PER_DAY) * seconds / DAY
        for _ in range(_poisson(rng.random, expected)):
            c = rng.choice(self.cameras)
            if self.status[c.key] == ONLINE:
                self.set(c.key, OFFLINE if rng.random() < 0.7 else FAULT)
                self.back_at[c.key] = at + rng.uniform(1, 8) * HOUR

    def event(self, at: float) -> dict[str, Any] | None:
        """One analytics event on a camera that runs the analytics and is online."""
        self.events += 1
        rng = self.city.rng("cameras/events", self.events)
        able = [c for c in self.cameras
                if self.status[c.key] == ONLINE and _analytics(c)]  # fmt: skip
        if not able:
            return None
        c = rng.choice(able)
        return {"kind": "video.event", "id": c.key, "at": at, "event": rng.choice(_analytics(c)),
                "confidence": round(rng.uniform(0.72, 0.98), 2),
                "eventId": f"VE{int(at)}{self.events:05d}"}  # fmt: skip

    def street_of(self, where: Where) -> str:
        """The street ``where`` names (a street, or a camera's key or name), or the street of
        the camera nearest its point, or one not in an outage drawn from the seed and the
        hour."""
        streets = sorted(
            {str(c.attrs.get("street")) for c in self.cameras if c.attrs.get("street")}
        )
        if where.site in streets:
            return str(where.site)
        rng = incident_rng(self.city, "camera_outage")
        if where.site is None and where.lon is None:
            at = self.city.clock.seconds()
            up = [s for s in streets if self.outages.get(s, 0.0) <= at]
            return rng.choice(up or streets)
        camera = pick(self.cameras, where, rng, "camera or street")
        return str(camera.attrs.get("street"))


def _analytics(camera: Record) -> list[str]:
    return [a for a in camera.attrs.get("ai_capabilities") or () if a in INCIDENT_ANALYTICS]


def _poisson(draw: Any, mean: float) -> int:
    """Knuth's: how many events of a Poisson process of ``mean`` (small)."""
    limit, n, p = math.exp(-mean), 0, draw()
    while p > limit:
        n += 1
        p *= draw()
    return n


def camera_net(city: LiveCity) -> CameraNet:
    found = city.state.get(_KEY)
    if not isinstance(found, CameraNet):
        found = city.state[_KEY] = CameraNet(city, records(city, "cameras", "Camera"))
    return found


@dataclass
class Heartbeats:
    name: str = "camera.heartbeat"

    async def run(self, city: LiveCity) -> None:
        net, send = camera_net(city), publisher(city).send
        period = city.rate("camera_heartbeat_s", HEARTBEAT_S)
        step = period / HEARTBEAT_SLICES
        n = 0
        while True:
            at = round(city.clock.seconds(), 3)
            net.drops(at, step, n)
            part = net.cameras[n % HEARTBEAT_SLICES :: HEARTBEAT_SLICES]
            await send("camera.heartbeat", net.heartbeats(part, at))
            n += 1
            await city.clock.sleep(step)


@dataclass
class VideoEvents:
    name: str = "video.event"

    async def run(self, city: LiveCity) -> None:
        net, send = camera_net(city), publisher(city).send
        per_hour = city.rate("video_events_per_hour", EVENTS_PER_HOUR)
        if per_hour <= 0:
            return
        while True:
            rng = city.rng("cameras/gap", net.events)
            await city.clock.sleep(rng.expovariate(per_hour / HOUR))
            event = net.event(round(city.clock.seconds(), 3))
            if event is not None:
                await send("video.event", [event])


def streams(city: LiveCity) -> list[Stream]:
    return [Heartbeats(), VideoEvents()]


@incident("camera_outage", "the cameras of one street go offline together",
          alarms=("camera.outage",))  # fmt: skip
async def camera_outage(city: LiveCity, where: Where) -> dict[str, Any]:
    net = camera_net(city)
    street = net.street_of(where)
    at = round(city.clock.seconds(), 3)
    dropped = [c for c in net.cameras
               if c.attrs.get("street") == street and net.status[c.key] == ONLINE]  # fmt: skip
    for c in dropped:
        net.set(c.key, OFFLINE)
        net.back_at[c.key] = at + OUTAGE_S
    net.outages[street] = at + OUTAGE_S
    await publisher(city).send("camera.heartbeat", net.heartbeats(dropped, at))
    return {"subject": street, "cameras": len(dropped), "backAt": at + OUTAGE_S}
