"""Tanks: live level, temperature and pressure (reading kinds ``tank.level``, ``tank.temperature``
and ``tank.pressure``; ``id`` the tank's key, TNK-…), each quantity watched by one
:class:`TankWatch` over the core's ``TankMonitor`` — one code path, one monitor per quantity.

Limits per tank and quantity (NaN: no such limit):

* **level** (m; a reading may come in % of the level height with ``"unit": "%"``): high /
  high-high / low from the tank register's ``level_thresholds_m``; rate 5 % of the level height
  per minute (a leak or an overfill).
* **temperature** (°C): the temperature sensor's ``thresholds`` (high, high_high, low) where it
  has them; else from the tank's design temperature range ``design_temperature_c`` [lower,
  upper]: high-high at the upper design temperature, high 10 % of the design range below it,
  low at the lower design temperature (below it a refrigerated tank's steel turns brittle).
  Rate 2 °C per minute (sun and night move a tank a few degrees in hours, a fire or a runaway
  reaction in minutes).
* **pressure** (kPa, gauge): the pressure sensor's ``thresholds`` where it has them; else high
  at 90 % and high-high at 100 % of the tank's ``design_pressure_kpa``, no low. Rate 10 % of the
  design pressure per minute.
* **stale** for every quantity after ten sampling intervals of its sensor (60 s when the sensor
  does not say) without a reading.

Alarms, named ``tank.<state>`` for the level (as they always were: tank.high_high, tank.high,
tank.low, tank.rate, tank.stale) and ``tank.<quantity>_<state>`` for the others
(tank.temperature_high_high, tank.pressure_stale, …). Threshold alarms fire when a tank *enters*
the state (high-high implies high: one alarm, the most severe), not on every reading while it
stays there; a rate alarm on each reading that shows one.

**Stale, once per silence.** A sensor that has reported to this hub (a reading through ingest,
in any worker, in this run or an earlier one: its state is in the store) and then stays silent
past its window is stale — raised by the hub's timer (:mod:`hub.apps.hazchem.silence`) without
waiting for the next reading, or by that reading if it comes first; either way one alarm per
silence (its id names the reading the silence began after, so the store keeps one). A sensor
known only from the source system's last value (the demo city's generated data) is never stale
here: a hub starting on a frozen city would otherwise raise 18,000 stale alarms ten minutes in.
Silence is counted on the quantity's own clock — the newest reading time the hub has taken of
any tank — because readings carry the city's time (a sandbox on a fast clock, a replay of last
month), and because a whole feed going quiet (a gateway, the broker, the sandbox stopped) is
not 6,000 sensors failing: then the clock stops and no sensor is stale; one sensor silent while
the others report is.

Every accepted reading is stored by the live bus (``hub.state``) with what the rules say of it
(value, rate, alarms in force and since when), and the tanks' readings are served from there.
The monitors in each hub process are a read model, warmed on first use from the stored states
(else the sensors' last values).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any

import numpy as np

from core_ext import (
    TANK_HIGH,
    TANK_HIGH_HIGH,
    TANK_LOW,
    TANK_RATE,
    TANK_STALE,
    TankLimits,
    TankMonitor,
)
from hub.live import Alarm, Reading
from hub.state import DeviceState
from hub.state.warm import newer
from schema.record import Record

TANK_LEVEL = "tank.level"
TANK_TEMPERATURE = "tank.temperature"
TANK_PRESSURE = "tank.pressure"
RATE_SHARE_PER_MIN = 0.05  # 5 % of the level height in one minute: a leak or an overfill
RATE_C_PER_MIN = 2.0
PRESSURE_RATE_SHARE_PER_MIN = 0.10  # of the design pressure
PRESSURE_HIGH_SHARE = 0.90  # of the design pressure; high-high at 100 %
TEMPERATURE_HIGH_SHARE = 0.10  # of the design range, below its upper end
STALE_INTERVALS = 10  # sampling intervals of silence before a sensor counts as stale
DEFAULT_SAMPLING_S = 60
_HORIZONTAL = ("卧式罐", "卧式压力储罐")  # their level runs up the diameter

# Threshold states (kept while they last), most severe first: (flag, name, severity).
_ENTRIES = (
    (TANK_HIGH_HIGH, "high_high", "critical"),
    (TANK_HIGH, "high", "alarm"),
    (TANK_LOW, "low", "warning"),
)
FLAG_NAMES = {TANK_HIGH: "high", TANK_HIGH_HIGH: "high_high", TANK_LOW: "low"}
_BY_TIME = attrgetter("at")
_HELD = (TANK_HIGH_HIGH, TANK_HIGH, TANK_LOW)  # the threshold states a tank is held in
_HELD_BITS = TANK_HIGH | TANK_HIGH_HIGH | TANK_LOW


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else math.nan


# ---------------------------------------------------------------------------------------------
# The quantities


def level_height_m(tank: Record) -> float:
    """The height the level runs up: the height, or a horizontal tank's diameter."""
    a = tank.attrs
    horizontal = a.get("tank_type") in _HORIZONTAL
    return float((a.get("diameter_m") if horizontal else a.get("height_m")) or 0.0)


def _sensor_thresholds(sensor: Record | None) -> dict[str, Any]:
    th = sensor.attrs.get("thresholds") if sensor is not None else None
    return th if isinstance(th, dict) else {}


def _ordered(high: float, high_high: float) -> tuple[float, float]:
    """A sensor's high over the design's high-high (one from each source): high at it."""
    return (high_high, high_high) if high > high_high else (high, high_high)


def level_limits(tank: Record, sensor: Record | None) -> TankLimits:
    th = tank.attrs.get("level_thresholds_m") or {}
    height = level_height_m(tank)
    return TankLimits(
        high=_number(th.get("high")),
        high_high=_number(th.get("high_high")),
        low=_number(th.get("low")),
        max_rate_per_min=height * RATE_SHARE_PER_MIN if height > 0 else math.nan,
    )


def temperature_limits(tank: Record, sensor: Record | None) -> TankLimits:
    th = _sensor_thresholds(sensor)
    design = tank.attrs.get("design_temperature_c")
    lower, upper = math.nan, math.nan
    if isinstance(design, list | tuple) and len(design) == 2:
        lower, upper = _number(design[0]), _number(design[1])
    high, high_high = _ordered(
        _number(th.get("high", upper - TEMPERATURE_HIGH_SHARE * (upper - lower))),
        _number(th.get("high_high", upper)),
    )
    return TankLimits(
        high=high,
        high_high=high_high,
        low=_number(th.get("low", lower)),
        max_rate_per_min=RATE_C_PER_MIN,
    )


def pressure_limits(tank: Record, sensor: Record | None) -> TankLimits:
    th = _sensor_thresholds(sensor)
    design = _number(tank.attrs.get("design_pressure_kpa"))
    design = design if design > 0 else math.nan
    high, high_high = _ordered(
        _number(th.get("high", PRESSURE_HIGH_SHARE * design)),
        _number(th.get("high_high", design)),
    )
    return TankLimits(
        high=high,
        high_high=high_high,
        low=_number(th.get("low")),
        max_rate_per_min=design * PRESSURE_RATE_SHARE_PER_MIN,
    )


@dataclass(frozen=True)
class Quantity:
    """What one kind of tank reading measures, and how the hub judges and keeps it."""

    kind: str  # the reading kind: tank.level
    name: str  # level / temperature / pressure
    suffix: str  # of its sensor's key: TNK-…-L
    unit: str  # the unit the hub keeps: m / °C / kPa
    words: str  # in the alarms' messages: 液位 / 温度 / 压力
    alarm: str  # alarm kind prefix: "tank." / "tank.temperature_"
    value_key: str  # in the stored state: level_m / temperature_c / pressure_kpa
    rate_key: str  # rate_m_per_min / rate_c_per_min / rate_kpa_per_min
    units: tuple[str, ...]  # accepted "unit"s of a reading (absent: the hub's)
    limits: Callable[[Record, Record | None], TankLimits]


LEVEL = Quantity(
    TANK_LEVEL, "level", "L", "m", "液位", "tank.", "level_m", "rate_m_per_min", ("m", "%"),
    level_limits,
)  # fmt: skip
TEMPERATURE = Quantity(
    TANK_TEMPERATURE, "temperature", "T", "°C", "温度", "tank.temperature_", "temperature_c",
    "rate_c_per_min", ("°C", "C", "℃"), temperature_limits,
)  # fmt: skip
PRESSURE = Quantity(
    TANK_PRESSURE, "pressure", "P", "kPa", "压力", "tank.pressure_", "pressure_kpa",
    "rate_kpa_per_min", ("kPa",), pressure_limits,
)  # fmt: skip
QUANTITIES = (LEVEL, TEMPERATURE, PRESSURE)


# ---------------------------------------------------------------------------------------------
# The watch


@dataclass(frozen=True)
class TankReading:
    """A tank's latest reading of one quantity and its alarm state."""

    value: float
    at: datetime
    percent: float | None  # of the level height (levels only)
    rate_per_min: float | None
    active: tuple[str, ...]  # threshold alarms in force: high_high, high, low
    since: datetime | None  # when the current alarm state began


@dataclass(frozen=True)
class TankSpec:
    key: str
    site: str | None
    firm: str | None
    level_height_m: float
    limits: TankLimits
    sampling_s: float
    grid_cell: str | None
    lon: float | None
    lat: float | None
    label: str  # for messages: tank number and substance


def tank_spec(tank: Record, sensor: Record | None, quantity: Quantity = LEVEL) -> TankSpec:
    a = tank.attrs
    sampling = float((sensor.attrs.get("sampling_interval_s") if sensor else None) or 0)
    sampling = sampling or DEFAULT_SAMPLING_S
    point = tank.point()
    substance = (a.get("substance") or {}).get("name", "")
    return TankSpec(
        key=tank.key,
        site=a.get("site"),
        firm=a.get("firm"),
        level_height_m=level_height_m(tank),
        limits=replace(quantity.limits(tank, sensor), stale_after_s=sampling * STALE_INTERVALS),
        sampling_s=sampling,
        grid_cell=a.get("grid_cell"),
        lon=point[0] if point else None,
        lat=point[1] if point else None,
        label=f"{tank.key} {a.get('tank_no', '')} {substance}".strip(),
    )


class TankWatch:
    """One quantity's live tank readings and their alarms (thread-safe: handlers run in worker
    threads)."""

    def __init__(
        self,
        tanks: Iterable[Record],
        sensors: dict[str, Record],
        stored: dict[str, DeviceState] | None = None,
        quantity: Quantity = LEVEL,
    ) -> None:
        self.quantity = quantity
        self.specs: dict[str, TankSpec] = {}
        for tank in tanks:
            sensor = sensors.get(f"{tank.key}-{quantity.suffix}")
            self.specs[tank.key] = tank_spec(tank, sensor, quantity)
        self.monitor = TankMonitor({k: s.limits for k, s in self.specs.items()})
        self.state: dict[str, int] = {}  # threshold flags in force
        self.since: dict[str, float] = {}
        self.rates: dict[str, float] = {}
        # Each tank's last reading time, kept beside the monitor: the monitor's evaluate holds
        # it mutably borrowed with the GIL released, so reading it from another thread at the
        # same time fails ("Already mutably borrowed"); every monitor call goes under the lock,
        # and the per-reading check reads this dict instead.
        self.last_at: dict[str, float] = {}
        self.reported: set[str] = set()  # sensors that reported to the hub: they can go stale
        self.silenced: dict[str, float] = {}  # tank -> the reading its alarmed silence began at
        self.newest = -math.inf  # the newest reading time taken: the tanks' clock
        self.lock = threading.Lock()
        self._seed(sensors, stored or {})

    def _seed(self, sensors: dict[str, Record], stored: dict[str, DeviceState]) -> None:
        """Start from each tank's stored state (it reported to the hub), else its sensor's last
        value (no alarms: that is the state as loaded)."""
        q = self.quantity
        ids, values, times = [], [], []
        for key in self.specs:
            kept = stored.get(key)
            value = kept.state.get(q.value_key) if kept is not None else None
            if kept is not None and isinstance(value, int | float):
                ids.append(key)
                values.append(float(value))
                times.append(kept.at.timestamp())
                continue
            sensor = sensors.get(f"{key}-{q.suffix}")
            if sensor is None:
                continue
            value, when = sensor.attrs.get("last_value"), sensor.attrs.get("last_reading_at")
            if isinstance(value, int | float) and isinstance(when, str):
                ids.append(key)
                values.append(float(value))
                times.append(datetime.fromisoformat(when).timestamp())
        if ids:
            self._evaluate(ids, values, times, raise_alarms=False)
        self.reported.update(k for k in stored if k in self.specs)
        for key, kept in stored.items():  # when the alarm state in force began
            since = kept.state.get("alarm_since")
            if key in self.state and isinstance(since, int | float):
                self.since[key] = float(since)

    def check(self, reading: Reading) -> str | None:
        spec = self.specs.get(reading.id)
        if spec is None:
            return f"no tank {reading.id!r}"
        q = self.quantity
        if reading.value is None:
            return f"value (the {q.name}, {q.unit}) is required"
        unit = reading.extra.get("unit")
        if unit is not None and unit not in q.units:
            return "unit must be " + " or ".join(f'"{u}"' for u in q.units)
        last = self.last_at.get(reading.id)
        if last is not None and reading.at < last:
            return f"older than tank {reading.id}'s last reading"
        return None

    def value_of(self, reading: Reading) -> float:
        """The reading's value in the unit the hub keeps (a level in % as metres)."""
        value = float(reading.value)  # type: ignore[arg-type]
        if reading.extra.get("unit") == "%":
            return value / 100.0 * self.specs[reading.id].level_height_m
        return value

    def normalise(self, readings: list[Reading]) -> list[Reading]:
        """Readings in the hub's unit, without the ``unit`` key: the history keeps one unit."""
        if not any(r.extra for r in readings):  # nearly every batch: nothing to rewrite
            return readings
        return [self._in_unit(r) if "unit" in r.extra else r for r in readings]

    def _in_unit(self, r: Reading) -> Reading:
        extra = {k: v for k, v in r.extra.items() if k != "unit"}
        return replace(r, value=self.value_of(r), extra=extra)

    def evaluate(self, readings: Sequence[Reading]) -> list[Alarm]:
        ordered = sorted(readings, key=_BY_TIME)  # the monitor takes them in time order
        value_of = self.value_of
        return self._evaluate(
            [r.id for r in ordered],
            # check() saw to the values; only a unit ("%") needs converting
            [value_of(r) if r.extra else r.value for r in ordered],  # type: ignore[misc]
            [r.at for r in ordered],
        )

    def _evaluate(
        self, ids: list[str], values: list[float], times: list[float], raise_alarms: bool = True
    ) -> list[Alarm]:
        alarms: list[Alarm] = []
        with self.lock:
            # a concurrent batch may have moved a tank on since check(): drop what is now late
            last_at = self.last_at
            keep = [
                i
                for i, (tid, t) in enumerate(zip(ids, times, strict=True))
                if (last := last_at.get(tid)) is None or t >= last
            ]
            if len(keep) < len(ids):
                ids = [ids[i] for i in keep]
                values = [values[i] for i in keep]
                times = [times[i] for i in keep]
            if not ids:
                return alarms
            result = self.monitor.evaluate(ids, values, times)
            flags = result.flags
            self.rates.update(zip(ids, result.rates.tolist(), strict=True))
            # Most readings raise nothing and change no state: look only at the flagged ones
            # and at every reading of a tank that is (or this batch puts) in an alarm state.
            state = self.state
            flagged = np.flatnonzero(flags).tolist()
            touched = set(state).union(ids[i] for i in flagged)
            candidates = sorted(
                set(flagged).union(i for i, tid in enumerate(ids) if tid in touched)
            )
            # each candidate's reading before it (the start of a silence it ends)
            previous = {tid: last_at.get(tid) for tid in touched}
            reported, seen = self.reported, set()
            for i in candidates:
                tid = ids[i]
                f = int(flags[i])
                held = f & _HELD_BITS
                before = state.get(tid, 0)
                if held != before:
                    self.since[tid] = times[i]
                    if held:
                        state[tid] = held
                    else:
                        state.pop(tid, None)
                silent_from, previous[tid] = previous[tid], times[i]
                if not raise_alarms:
                    continue
                new = held & ~before
                for bit, name, severity in _ENTRIES:
                    if new & bit:
                        alarms.append(self._alarm(tid, name, severity, values[i], times[i]))
                        break  # high-high implies high: one alarm, the most severe
                rate = float(result.rates[i])
                if f & TANK_RATE:
                    alarms.append(self._alarm(tid, "rate", "alarm", values[i], times[i], rate))
                # stale on a reading that ends a silence: once per silence, and only for a
                # sensor that had reported to the hub before it
                if (
                    f & TANK_STALE
                    and silent_from is not None
                    and (tid in reported or tid in seen)
                    and self.silenced.get(tid) != silent_from
                ):
                    alarms.append(self._stale(tid, values[i], times[i], silent_from, resumed=True))
                seen.add(tid)
            last_at.update(zip(ids, times, strict=True))  # in time order: the latest wins
            for tid in ids:
                self.silenced.pop(tid, None)
            if raise_alarms:
                reported.update(ids)
            self.newest = max(self.newest, max(times))
        return alarms

    def now(self) -> float:
        """The tanks' clock: the newest reading time taken."""
        return self.newest

    def silent(self, now: float | None = None) -> list[Alarm]:
        """Stale alarms of the sensors that reported to the hub and have been silent past their
        window at ``now`` (the tanks' clock by default), each once per silence."""
        at = self.now() if now is None else now
        if not math.isfinite(at):
            return []
        alarms = []
        with self.lock:
            for tid in self.monitor.stale(at):
                key = str(tid)
                since = self.last_at.get(key)
                if since is None or key not in self.reported or self.silenced.get(key) == since:
                    continue
                self.silenced[key] = since
                value = self.monitor.last_reading(key)
                alarms.append(self._stale(key, value[0] if value else math.nan, at, since))
        return alarms

    def _stale(
        self, tid: str, value: float, at: float, silent_from: float, resumed: bool = False
    ) -> Alarm:
        """A stale alarm, named by the reading its silence began after: the timer's and the
        next reading's are the same alarm."""
        lim = self.specs[tid].limits
        text = f"{self.quantity.words}传感器超过 {lim.stale_after_s:.0f} s 无数据"
        text += "后恢复上报" if resumed else ""
        return self._alarm(tid, "stale", "warning", value, at, ident=silent_from, text=text)

    def _alarm(
        self,
        tid: str,
        name: str,
        severity: str,
        value: float,
        at: float,
        rate: float = math.nan,
        ident: float | None = None,
        text: str | None = None,
    ) -> Alarm:
        spec = self.specs[tid]
        lim, q = spec.limits, self.quantity
        u, w = q.unit, q.words
        if text is None:
            text = {
                "high_high": f"{w}高高报警 {value:.2f} {u} ≥ {lim.high_high:.2f} {u}",
                "high": f"{w}高报警 {value:.2f} {u} ≥ {lim.high:.2f} {u}",
                "low": f"{w}低报警 {value:.2f} {u} ≤ {lim.low:.2f} {u}",
                "rate": f"{w}变化过快 {rate:+.2f} {u}/min (限 {lim.max_rate_per_min:.2f})",
            }[name]
        kind = f"{q.alarm}{name}"
        return Alarm(
            id=f"{kind}:{tid}:{at if ident is None else ident:.3f}",
            kind=kind,
            severity=severity,
            subject_type="Tank",
            subject_key=tid,
            message=f"{spec.label}: {text}",
            at=_at(at),
            value=value if math.isfinite(value) else None,
            lon=spec.lon,
            lat=spec.lat,
            grid_cell=spec.grid_cell,
        )

    def reading(self, tid: str) -> TankReading | None:
        """The tank's latest reading as this worker's monitor has it."""
        spec = self.specs.get(tid)
        if spec is None:
            return None
        with self.lock:
            last = self.monitor.last_reading(tid)
        if last is None:
            return None
        value, when = last
        held = self.state.get(tid, 0)
        rate = self.rates.get(tid)
        since = self.since.get(tid)
        return TankReading(
            value=value,
            at=_at(when),
            percent=self._percent(spec, value),
            rate_per_min=rate if rate is not None and math.isfinite(rate) else None,
            active=tuple(FLAG_NAMES[b] for b in _HELD if held & b),
            since=_at(since) if since is not None and held else None,
        )

    def _percent(self, spec: TankSpec, value: float) -> float | None:
        if self.quantity is not LEVEL or spec.level_height_m <= 0:
            return None
        return 100.0 * value / spec.level_height_m

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the tanks' states stored by other workers (newer than what this one saw);
        no alarm: the worker that took the reading raised it."""
        key_of = self.quantity.value_key
        ids, values, times = [], [], []
        for key, kept in newer(stored, self.last_at.get).items():
            value = kept.state.get(key_of)
            if key in self.specs and isinstance(value, int | float):
                ids.append(key)
                values.append(float(value))
                times.append(kept.at.timestamp())
        if not ids:
            return
        self._evaluate(ids, values, times, raise_alarms=False)
        with self.lock:
            self.reported.update(ids)  # through ingest, in another worker
            for key in ids:
                since = stored[key].state.get("alarm_since")
                if key in self.state and isinstance(since, int | float):
                    self.since[key] = float(since)

    def describe(self, reading: Reading) -> dict[str, Any]:
        """What the rules say of a tank after its latest reading: stored in device_state."""
        tid = reading.id
        q = self.quantity
        with self.lock:
            held = self.state.get(tid, 0)
            since = self.since.get(tid)
            rate = self.rates.get(tid)
        # called for every tank of every batch: no list built, no unit looked up, for the
        # many in no alarm with a value in the hub's unit
        return {
            q.value_key: self.value_of(reading) if reading.extra else reading.value,
            q.rate_key: rate if rate is not None and math.isfinite(rate) else None,
            "alarms": [FLAG_NAMES[b] for b in _HELD if held & b] if held else [],
            "alarm_since": since if held else None,
        }

    def reading_of(self, kept: DeviceState) -> TankReading | None:
        """A tank's reading as stored (``describe``'s account of its latest reading)."""
        spec = self.specs.get(kept.id)
        s = kept.state
        q = self.quantity
        value = s.get(q.value_key, s.get("value"))
        if spec is None or not isinstance(value, int | float):
            return None
        rate, since = s.get(q.rate_key), s.get("alarm_since")
        return TankReading(
            value=float(value),
            at=kept.at,
            percent=self._percent(spec, float(value)),
            rate_per_min=float(rate) if isinstance(rate, int | float) else None,
            active=tuple(str(a) for a in s.get("alarms") or ()),
            since=_at(since) if isinstance(since, int | float) else None,
        )

    def of_site(self, site: str) -> list[str]:
        return [k for k, s in self.specs.items() if s.site == site]

    def in_alarm(self) -> list[str]:
        """Tanks with a threshold alarm in force, in key order."""
        return sorted(self.state)
