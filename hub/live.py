"""Live events: alarms and case updates, published once and delivered to every subscriber in
every hub worker (through the fan-out: in-process, or Redis between workers), and the
telemetry router that turns batches of readings into alarms.

Apps register a telemetry handler per reading kind (``tank.level`` → tank alarms,
``vehicle.fix`` → geofences and speeding, ``water.level`` → flood warnings); the HTTP and MQTT
ingest paths only parse, route and publish. Alarms are also kept in the store (kind
``Alarm``) so an operator who connects later can read the recent ones.
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from hub.fanout import Broadcast
from hub.store import RecordStore
from schema.record import Record

ALARMS = "live.alarms"
CASES = "live.cases"
ALARM_KIND = "Alarm"
SEVERITIES = ("info", "warning", "alarm", "critical")
MAX_BATCH = 100_000


@dataclass(frozen=True)
class Alarm:
    """Something an operator must see now: a tank over its limit, a vehicle in a forbidden
    zone, a river above its warning level, a firm's smoke index jumping."""

    id: str
    kind: str  # tank.high_high, geofence.forbidden, vehicle.speeding, water.flood, ...
    severity: str
    subject_type: str  # the record kind it concerns: Tank, HazchemVehicle, WaterStation, ...
    subject_key: str
    message: str
    at: datetime
    value: float | None = None
    lon: float | None = None
    lat: float | None = None
    grid_cell: str | None = None
    source: str = "telemetry"

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"severity {self.severity!r}: one of {', '.join(SEVERITIES)}")

    def to_json(self) -> str:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> Alarm:
        data = json.loads(text)
        data["at"] = datetime.fromisoformat(data["at"])
        return cls(**data)

    def to_record(self) -> Record:
        geometry = None
        if self.lon is not None and self.lat is not None:
            geometry = {"type": "Point", "coordinates": [self.lon, self.lat]}
        attrs = {k: v for k, v in asdict(self).items() if k not in {"id", "lon", "lat"}}
        attrs["at"] = self.at.isoformat()
        return Record(
            kind=ALARM_KIND,
            key=self.id,
            source_system="cityhub",
            source_id=self.id,
            fetched_at=self.at,
            attrs=attrs,
            geometry=geometry,
            datum="GCJ-02" if geometry else None,
        )


@dataclass(frozen=True)
class Reading:
    """One telemetry reading: a sensor value or a vehicle fix."""

    kind: str
    id: str
    at: float  # epoch seconds
    value: float | None = None
    lon: float | None = None
    lat: float | None = None
    speed_kmh: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ReadingError(ValueError):
    pass


def _number(item: dict[str, Any], name: str, *, required: bool = False) -> float | None:
    value = item.get(name)
    if value is None:
        if required:
            raise ReadingError(f"{name} is required")
        return None
    return _finite(value, name)


def _finite(value: Any, name: str) -> float:
    # float and int (not bool, whose type is not int) first: nearly every reading's numbers
    if (type(value) is not float and type(value) is not int) and (
        isinstance(value, bool) or not isinstance(value, int | float)
    ):
        raise ReadingError(f"{name} must be a number")
    if not math.isfinite(value):
        raise ReadingError(f"{name} must be finite")
    return float(value)


_KNOWN = frozenset({"kind", "id", "at", "value", "lon", "lat", "speedKmh"})
_READING_FIELDS = ("kind", "id", "at", "value", "lon", "lat", "speed_kmh", "extra")
_new = object.__new__
if tuple(f.name for f in fields(Reading)) != _READING_FIELDS:  # pragma: no cover
    raise RuntimeError("hub.live: _READING_FIELDS must list Reading's fields, in order")


def parse_reading(item: Any) -> Reading:
    """A reading from its JSON form: ``{"kind", "id", "at" (epoch s or ISO 8601), "value" |
    "lon"/"lat"[/"speedKmh"]}``; a clear :class:`ReadingError` otherwise."""
    if not isinstance(item, dict):
        raise ReadingError("a reading is a JSON object")
    get = item.get
    kind, ident = get("kind"), get("id")
    if not isinstance(kind, str) or not kind:
        raise ReadingError("kind is required")
    if type(ident) is not str:
        if not isinstance(ident, str | int) or isinstance(ident, bool):
            raise ReadingError("id is required")
        ident = str(ident)
    if ident == "":
        raise ReadingError("id is required")
    at = get("at")
    if isinstance(at, str):
        try:
            parsed = datetime.fromisoformat(at)
        except ValueError:
            raise ReadingError("at must be epoch seconds or ISO 8601") from None
        if parsed.tzinfo is None:
            raise ReadingError("at needs a time zone offset")
        stamp = parsed.timestamp()
    elif at is None:
        raise ReadingError("at is required")
    else:
        stamp = _finite(at, "at")
    lon, lat = get("lon"), get("lat")
    if lon is not None:
        lon = _finite(lon, "lon")
    if lat is not None:
        lat = _finite(lat, "lat")
    if (lon is None) != (lat is None):
        raise ReadingError("lon and lat come together")
    if lon is not None and lat is not None and not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise ReadingError("lon/lat out of range")
    value, speed = get("value"), get("speedKmh")
    if value is not None:
        value = _finite(value, "value")
    if speed is not None:
        speed = _finite(speed, "speedKmh")
    extra = {} if item.keys() <= _KNOWN else {k: v for k, v in item.items() if k not in _KNOWN}
    # Reading is frozen: its generated __init__ sets each field through object.__setattr__,
    # which costs as much as all the checks above; the batch path fills the instance's dict
    # directly (the same fields, the same values: equal to Reading(...) and as immutable).
    reading = _new(Reading)
    reading.__dict__.update(
        kind=kind, id=ident, at=float(stamp), value=value, lon=lon, lat=lat, speed_kmh=speed,
        extra=extra,
    )  # fmt: skip
    return reading


# A handler evaluates one kind's readings (a whole batch at once, so the core's vectorised
# kernels see arrays) and returns the alarms they raise.
Handler = Callable[[Sequence[Reading]], list[Alarm]]
# An optional per-reading check of a kind (unknown tank, missing value, ...): the reason a
# reading is refused, or None; refused readings are reported by index like unparsable ones.
Check = Callable[[Reading], str | None]
# Whether the sender may write (kind, device id): a telemetry client's devices
# (hub.auth.devices.DeviceBinding.allows); None on paths with no client to bind.
DeviceCheck = Callable[[str, str], bool]
NOT_A_DEVICE_OF_THIS_CLIENT = "not a device of this client"


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"index", "error"}
    alarms: list[Alarm] = field(default_factory=list)


class LiveBus:
    """Publishes alarms and case updates to every worker's subscribers, keeps alarms."""

    def __init__(self, broadcast: Broadcast, store: RecordStore) -> None:
        self.broadcast = broadcast
        self.store = store
        self.handlers: dict[str, Handler] = {}
        self.checks: dict[str, Check] = {}

    def register(self, kind: str, handler: Handler, check: Check | None = None) -> None:
        if kind in self.handlers:
            raise ValueError(f"a telemetry handler for {kind!r} is registered already")
        self.handlers[kind] = handler
        if check is not None:
            self.checks[kind] = check

    async def publish_alarms(self, alarms: Sequence[Alarm]) -> None:
        if not alarms:
            return
        await run_in_threadpool(self.store.upsert, [a.to_record() for a in alarms])
        for alarm in alarms:
            await self.broadcast.publish(ALARMS, alarm.to_json())

    async def publish_case(self, update: dict[str, Any]) -> None:
        """A service case changed (filed, dispatched, resolved, ...)."""
        await self.broadcast.publish(CASES, json.dumps(update, ensure_ascii=False, default=str))

    @asynccontextmanager
    async def alarms(self) -> AsyncIterator[AsyncIterator[Alarm]]:
        async with self.broadcast.subscribe(ALARMS) as sub:

            async def decoded() -> AsyncIterator[Alarm]:
                async for message in sub:
                    yield Alarm.from_json(message)

            yield decoded()

    @asynccontextmanager
    async def case_updates(self) -> AsyncIterator[AsyncIterator[dict[str, Any]]]:
        async with self.broadcast.subscribe(CASES) as sub:

            async def decoded() -> AsyncIterator[dict[str, Any]]:
                async for message in sub:
                    yield json.loads(message)

            yield decoded()

    def evaluate(self, items: Sequence[Any], devices: DeviceCheck | None = None) -> IngestResult:
        """Parse and route a batch (CPU-bound: call from a thread). Bad readings, and those
        for devices the sender does not own, are reported by index; the rest still count."""
        if len(items) > MAX_BATCH:
            raise ReadingError(f"at most {MAX_BATCH} readings per batch")
        result = IngestResult()
        rejected = result.rejected
        handlers, checks = self.handlers, self.checks
        by_kind: dict[str, list[Reading]] = {}
        accepted = 0
        for index, item in enumerate(items):
            try:
                reading = parse_reading(item)
            except ReadingError as exc:
                rejected.append({"index": index, "error": str(exc)})
                continue
            kind = reading.kind
            if devices is not None and not devices(kind, reading.id):
                rejected.append({"index": index, "error": NOT_A_DEVICE_OF_THIS_CLIENT})
                continue
            if kind not in handlers:
                rejected.append({"index": index, "error": f"no handler for kind {kind!r}"})
                continue
            check = checks.get(kind)
            problem = check(reading) if check is not None else None
            if problem is not None:
                rejected.append({"index": index, "error": problem})
                continue
            bucket = by_kind.get(kind)
            if bucket is None:
                bucket = by_kind[kind] = []
            bucket.append(reading)
            accepted += 1
        result.accepted = accepted
        for kind, readings in by_kind.items():
            result.alarms.extend(handlers[kind](readings))
        return result

    async def ingest(
        self, items: Sequence[Any], devices: DeviceCheck | None = None
    ) -> IngestResult:
        result = await run_in_threadpool(self.evaluate, items, devices)
        await self.publish_alarms(result.alarms)
        return result


def now() -> datetime:
    return datetime.now(UTC)
