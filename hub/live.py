"""Live events: alarms and case updates, published once and delivered to every subscriber in
every hub worker (through the fan-out: in-process, or Redis between workers), and the
telemetry router that turns batches of readings into alarms.

Apps register a telemetry handler per reading kind (``tank.level`` → tank alarms,
``vehicle.fix`` → geofences and speeding, ``water.level`` → flood warnings); the HTTP and MQTT
ingest paths only parse, route and publish. Each reading is validated on its own (its fields,
a plausible time, the sender's devices, the kind's own check) before any app's rules see it,
so one bad reading costs only itself. Every accepted batch is stored in one transaction
(``hub.state``: the history, each device's latest state, the alarms raised — kind ``Alarm``,
so an operator who connects later can read the recent ones — and a ``reading`` feed entry)
before it is acknowledged.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from hub import feed, state
from hub.fanout import Broadcast
from hub.store import RecordStore
from schema.record import Record

ALARMS = "live.alarms"
CASES = "live.cases"
ALARM_KIND = "Alarm"
SEVERITIES = ("info", "warning", "alarm", "critical")
MAX_BATCH = 100_000
# A plausible reading time, by default: at most a day ahead of the hub's clock (a sensor's
# clock drifts; milliseconds sent as seconds are 30,000 years ahead) and 30 days behind (a
# gateway's buffer after an outage).
MAX_AHEAD_S = 86_400.0
MAX_BEHIND_S = 30 * 86_400.0


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
    # the sender's id of this reading ("readingId"): a retry with the same id is a no-op
    reading_id: str | None = None


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


_KNOWN = frozenset({"kind", "id", "at", "value", "lon", "lat", "speedKmh", "readingId"})
_READING_FIELDS = ("kind", "id", "at", "value", "lon", "lat", "speed_kmh", "extra", "reading_id")
MAX_READING_ID = 128  # device_readings.idempotency_key
_new = object.__new__
if tuple(f.name for f in fields(Reading)) != _READING_FIELDS:  # pragma: no cover
    raise RuntimeError("hub.live: _READING_FIELDS must list Reading's fields, in order")


def parse_reading(item: Any) -> Reading:
    """A reading from its JSON form: ``{"kind", "id", "at" (epoch s or ISO 8601), "value" |
    "lon"/"lat"[/"speedKmh"][, "readingId"]}``; a clear :class:`ReadingError` otherwise."""
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
    rid = get("readingId")
    if rid is not None:
        if isinstance(rid, bool) or not isinstance(rid, str | int):
            raise ReadingError("readingId must be a string")
        rid = str(rid)
        if not 0 < len(rid) <= MAX_READING_ID:
            raise ReadingError(f"readingId: 1 to {MAX_READING_ID} characters")
    extra = {} if item.keys() <= _KNOWN else {k: v for k, v in item.items() if k not in _KNOWN}
    # Reading is frozen: its generated __init__ sets each field through object.__setattr__,
    # which costs as much as all the checks above; the batch path fills the instance's dict
    # directly (the same fields, the same values: equal to Reading(...) and as immutable).
    reading = _new(Reading)
    reading.__dict__.update(
        kind=kind, id=ident, at=float(stamp), value=value, lon=lon, lat=lat, speed_kmh=speed,
        extra=extra, reading_id=rid,
    )  # fmt: skip
    return reading


# A handler evaluates one kind's readings (a whole batch at once, so the core's vectorised
# kernels see arrays) and returns the alarms they raise.
Handler = Callable[[Sequence[Reading]], list[Alarm]]
# An optional per-reading check of a kind (unknown tank, missing value, ...): the reason a
# reading is refused, or None; refused readings are reported by index like unparsable ones.
Check = Callable[[Reading], str | None]
# An optional account of a device's state after the handler took its latest reading (a
# tank's level in metres and alarms in force), stored with it in device_state.
Describe = Callable[[Reading], dict[str, Any]]
# An optional catch-up of a kind's read model with the states another worker stored (the
# feed's "reading" entries name the devices): the monitors then judge the next reading as the
# worker that took the last one would have.
Refresh = Callable[[dict[str, "state.DeviceState"]], None]
# An optional rewrite of a kind's accepted readings into the form the hub keeps (a level in
# centimetres as metres, a water sample's items under their standard names), before its rules
# see them: the history then aggregates like with like. Given the batch, returns it (the same
# list when nothing needed rewriting).
Normalise = Callable[[list[Reading]], list[Reading]]
# Whether the sender may write (kind, device id): a telemetry client's devices
# (hub.auth.devices.DeviceBinding.allows); None on paths with no client to bind.
DeviceCheck = Callable[[str, str], bool]
NOT_A_DEVICE_OF_THIS_CLIENT = "not a device of this client"
log = logging.getLogger(__name__)


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)  # {"index", "error"}
    alarms: list[Alarm] = field(default_factory=list)
    duplicates: int = 0  # accepted readings already stored (a retry): not applied again
    readings: list[Reading] = field(default_factory=list)  # the accepted ones, applied
    states: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)


def _too_far(at: float, now: float, ahead: float, behind: float) -> str | None:
    if at > now + ahead:
        if at > now * 100:  # epoch milliseconds (or microseconds) for seconds
            return "at is in milliseconds: send epoch seconds (or ISO 8601)"
        return f"at is more than {ahead:.0f} s ahead of the hub's clock"
    if at < now - behind:
        return f"at is more than {behind:.0f} s behind the hub's clock"
    return None


class LiveBus:
    """Publishes alarms and case updates to every worker's subscribers, keeps alarms, and
    stores every accepted reading (``hub.state``)."""

    def __init__(
        self,
        broadcast: Broadcast,
        store: RecordStore,
        *,
        max_ahead_s: float = MAX_AHEAD_S,
        max_behind_s: float = MAX_BEHIND_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.broadcast = broadcast
        self.store = store
        self.handlers: dict[str, Handler] = {}
        self.checks: dict[str, Check] = {}
        self.describers: dict[str, Describe] = {}
        self.refreshers: dict[str, Refresh] = {}
        self.normalisers: dict[str, Normalise] = {}
        self.max_ahead_s = max_ahead_s
        self.max_behind_s = max_behind_s  # 0: no limit behind
        self.clock = clock

    def register(
        self,
        kind: str,
        handler: Handler,
        check: Check | None = None,
        describe: Describe | None = None,
        refresh: Refresh | None = None,
        normalise: Normalise | None = None,
    ) -> None:
        if kind in self.handlers:
            raise ValueError(f"a telemetry handler for {kind!r} is registered already")
        self.handlers[kind] = handler
        if check is not None:
            self.checks[kind] = check
        if describe is not None:
            self.describers[kind] = describe
        if refresh is not None:
            self.refreshers[kind] = refresh
        if normalise is not None:
            self.normalisers[kind] = normalise

    async def publish_alarms(self, alarms: Sequence[Alarm]) -> None:
        if not alarms:
            return
        await run_in_threadpool(self.store.upsert, [a.to_record() for a in alarms])
        await self._broadcast(alarms)

    async def _broadcast(self, alarms: Sequence[Alarm]) -> None:
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
        """Parse, validate and route a batch (CPU-bound: call from a thread). Bad readings,
        and those for devices the sender does not own, are reported by index; the rest still
        count. Nothing is stored here (see :meth:`store_batch`)."""
        if len(items) > MAX_BATCH:
            raise ReadingError(f"at most {MAX_BATCH} readings per batch")
        result = IngestResult()
        rejected = result.rejected
        handlers, checks = self.handlers, self.checks
        now, ahead = self.clock(), self.max_ahead_s
        behind = self.max_behind_s or math.inf
        earliest, latest = now - behind, now + ahead
        valid: list[tuple[int, Reading]] = []
        for index, item in enumerate(items):
            try:
                reading = parse_reading(item)
            except ReadingError as exc:
                rejected.append({"index": index, "error": str(exc)})
                continue
            at = reading.at
            if not earliest <= at <= latest:
                rejected.append({"index": index, "error": _too_far(at, now, ahead, behind)})
                continue
            kind = reading.kind
            if devices is not None and not devices(kind, reading.id):
                rejected.append({"index": index, "error": NOT_A_DEVICE_OF_THIS_CLIENT})
                continue
            if kind not in handlers:
                rejected.append({"index": index, "error": f"no handler for kind {kind!r}"})
                continue
            valid.append((index, reading))
        # a retry is known by its reading id before any check: the first time it was taken,
        # so "older than the last reading" is no reason to refuse it now
        retried = self._retried(valid)
        by_kind: dict[str, list[tuple[int, Reading]]] = {}
        late = False  # refused after the readings above: the refusals need sorting
        for index, reading in valid:
            kind = reading.kind
            if retried and (kind, reading.id, reading.reading_id) in retried:
                result.duplicates += 1
                continue
            check = checks.get(kind)
            try:
                problem = check(reading) if check is not None else None
            except Exception:  # a bug of the hub's check: this reading only, never the batch
                log.exception("telemetry check for %s failed on %r", kind, reading.id)
                problem = f"the hub could not check this {kind} reading"
            if problem is not None:
                rejected.append({"index": index, "error": problem})
                late = True
                continue
            bucket = by_kind.get(kind)
            if bucket is None:
                bucket = by_kind[kind] = []
            bucket.append((index, reading))
        accepted = result.duplicates
        failed = False
        for kind, indexed in by_kind.items():
            readings = [r for _, r in indexed]
            try:
                normalise = self.normalisers.get(kind)
                if normalise is not None:
                    readings = normalise(readings)
                alarms = handlers[kind](readings)
                states = self._describe(kind, readings)
            except Exception:
                # a rule that fails is a bug of the hub, not of the sender's readings: those
                # of this kind are refused by index, the other kinds' go on
                log.exception("telemetry handler for %s failed on %d readings", kind, len(indexed))
                rejected.extend(
                    {"index": i, "error": f"the hub could not evaluate {kind} readings"}
                    for i, _ in indexed
                )
                failed = True
                continue
            result.alarms.extend(alarms)
            result.states.update(states)
            result.readings.extend(readings)
            accepted += len(readings)
        if (late and len(rejected) > 1) or failed:
            rejected.sort(key=lambda r: r["index"])
        result.accepted = accepted
        return result

    def _retried(self, valid: list[tuple[int, Reading]]) -> set[tuple[str, str, str]]:
        keys = [(r.kind, r.id, r.reading_id) for _, r in valid if r.reading_id is not None]
        return state.seen(self.store.engine, keys) if keys else set()

    def _describe(
        self, kind: str, readings: list[Reading]
    ) -> dict[tuple[str, str], dict[str, Any]]:
        describe = self.describers.get(kind)
        if describe is None:
            return {}
        newest: dict[str, Reading] = {}
        for r in readings:
            before = newest.get(r.id)
            if before is None or r.at >= before.at:
                newest[r.id] = r
        return {(kind, ident): describe(r) for ident, r in newest.items()}

    def store_batch(self, result: IngestResult) -> None:
        """Store what a batch's evaluation accepted, in one transaction (call from a thread)."""
        state.write_batch(
            self.store.engine,
            state.StateWrite(
                readings=result.readings,
                states=result.states,
                alarms=[a.to_record() for a in result.alarms],
            ),
        )

    def refresh(self, entries: Sequence[feed.FeedEntry]) -> None:
        """Bring the kinds' read models up to the devices' stored states named by the feed's
        ``reading`` entries (call from a thread: it reads the store). A read model skips what
        it has seen already (its own worker's readings)."""
        by_kind: dict[str, set[str]] = {}
        for entry in entries:
            for device in (entry.payload or {}).get("devices") or ():
                kind, _, ident = str(device).partition(":")
                if kind in self.refreshers:
                    by_kind.setdefault(kind, set()).add(ident)
        for kind, ids in by_kind.items():
            self.refreshers[kind](state.latest(self.store.engine, kind, sorted(ids)))

    def ingest_sync(self, items: Sequence[Any], devices: DeviceCheck | None = None) -> IngestResult:
        result = self.evaluate(items, devices)
        self.store_batch(result)
        return result

    async def ingest(
        self, items: Sequence[Any], devices: DeviceCheck | None = None
    ) -> IngestResult:
        """Evaluate and store a batch, then tell every worker: the alarms to subscribers, a
        wake-up to the feed's followers. Raises the store's error when it could not be
        stored (nothing of it is then acknowledged)."""
        result = await run_in_threadpool(self.ingest_sync, items, devices)
        if result.readings or result.alarms:
            await self._broadcast(result.alarms)
            await feed.announce(self.broadcast)
        return result


def now() -> datetime:
    return datetime.now(UTC)
