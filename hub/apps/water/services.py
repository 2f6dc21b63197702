"""Water supervision (水域监管): the business rules behind the resolvers.

* **Water quality** — GB 3838-2002 single-factor classification: each measured basic item
  (Table 1) gets the best class whose limit it meets (dissolved oxygen is a floor, pH a range
  of 6–9 for every class, the rest ceilings); the sample's class is the worst of them, 6 (劣Ⅴ)
  when an item misses the class V limit. As in the national assessment rules (地表水环境质量
  评价办法), water temperature and faecal coliforms do not decide the class, and total nitrogen
  counts for lakes and reservoirs only (their total-phosphorus limits are the lake column).
* **Water bodies** — a river with fewer than five stations is classed by the mean
  concentrations of its stations' latest samples (the assessment rules' method for so few
  sections); its compliance rate is the share of its sampled stations whose latest class meets
  the river's target class, and the sample compliance rate the share of all samples the hub
  has seen (the stored one per station, then every ``water.quality`` reading) that met it.
* **Levels** — river gauges (``water.level`` on a River, metres) against the river's warning
  level raise ``water.flood``; ponding gauges (``water.level`` on a PondingPoint, the depth of
  water on the road) against the point's warning depth (15 cm, GB 51222-2017's limit for one
  lane) raise ``water.waterlogging``. The core's ``TankMonitor`` keeps each gauge's last value
  and flags threshold crossings; an alarm fires when a gauge *enters* the state.
* **Pumps and gates** — SCADA states (``pump.state``, ``gate.state``) update the live status;
  a pump station entering 故障 (fault) raises ``pump.fault``.

The state lives in each hub process (built lazily from the store on first use); alarms go to
the store and to every worker's subscribers through the live bus.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from shapely.geometry import shape

from core_ext import TANK_HIGH, GridIndex, TankLimits, TankMonitor
from hub import state
from hub.live import Alarm, Reading
from hub.state import DeviceState
from hub.state.warm import ReadModel, Stored, grid_of, newer
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices
    from hub.store import RecordStore

WATER_LEVEL = "water.level"
WATER_QUALITY = "water.quality"
PUMP_STATE = "pump.state"
GATE_STATE = "gate.state"
WORST = 6  # 劣Ⅴ类
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV", 5: "V", 6: "劣V"}
CLASS_NAMES = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}
# 地表水环境质量评价办法: the status a class stands for (one section, or a mean-classed body)
STATUS_OF_CLASS = {1: "优", 2: "优", 3: "良好", 4: "轻度污染", 5: "中度污染", 6: "重度污染"}
MEAN_METHOD_MAX_STATIONS = 4  # five sections or more: the class-share method instead
PUMP_STATUSES = ("运行", "停机", "检修", "故障")
GATE_STATUSES = ("关闭", "部分开启", "全开")
LAKE_TYPES = ("lake", "reservoir", "湖泊", "水库")


@dataclass(frozen=True)
class Parameter:
    """One basic item of GB 3838-2002 Table 1 with its class I..V limits (mg/L unless said)."""

    key: str  # the record attribute (WaterStation.readings)
    code: str
    name: str
    limits: tuple[float, float, float, float, float]
    floor: bool = False  # dissolved oxygen: the value must be at least the limit
    lake_limits: tuple[float, float, float, float, float] | None = None
    lakes_only: bool = False  # total nitrogen
    unit: str = "mg/L"


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("dissolved_oxygen_mg_l", "DO", "溶解氧", (7.5, 6, 5, 3, 2), floor=True),
    Parameter("permanganate_index_mg_l", "CODMn", "高锰酸盐指数", (2, 4, 6, 10, 15)),
    Parameter("cod_mg_l", "COD", "化学需氧量", (15, 15, 20, 30, 40)),
    Parameter("bod5_mg_l", "BOD5", "五日生化需氧量", (3, 3, 4, 6, 10)),
    Parameter("ammonia_nitrogen_mg_l", "NH3-N", "氨氮", (0.15, 0.5, 1.0, 1.5, 2.0)),
    Parameter(
        "total_phosphorus_mg_l",
        "TP",
        "总磷",
        (0.02, 0.1, 0.2, 0.3, 0.4),
        lake_limits=(0.01, 0.025, 0.05, 0.1, 0.2),
    ),
    Parameter("total_nitrogen_mg_l", "TN", "总氮", (0.2, 0.5, 1.0, 1.5, 2.0), lakes_only=True),
    Parameter("copper_mg_l", "Cu", "铜", (0.01, 1.0, 1.0, 1.0, 1.0)),
    Parameter("zinc_mg_l", "Zn", "锌", (0.05, 1.0, 1.0, 2.0, 2.0)),
    Parameter("fluoride_mg_l", "F", "氟化物", (1.0, 1.0, 1.0, 1.5, 1.5)),
    Parameter("selenium_mg_l", "Se", "硒", (0.01, 0.01, 0.01, 0.02, 0.02)),
    Parameter("arsenic_mg_l", "As", "砷", (0.05, 0.05, 0.05, 0.1, 0.1)),
    Parameter("mercury_mg_l", "Hg", "汞", (0.00005, 0.00005, 0.0001, 0.001, 0.001)),
    Parameter("cadmium_mg_l", "Cd", "镉", (0.001, 0.005, 0.005, 0.005, 0.01)),
    Parameter("chromium_vi_mg_l", "Cr6", "铬（六价）", (0.01, 0.05, 0.05, 0.05, 0.1)),
    Parameter("lead_mg_l", "Pb", "铅", (0.01, 0.01, 0.05, 0.05, 0.1)),
    Parameter("cyanide_mg_l", "CN", "氰化物", (0.005, 0.05, 0.2, 0.2, 0.2)),
    Parameter("volatile_phenol_mg_l", "VPhen", "挥发酚", (0.002, 0.002, 0.005, 0.01, 0.1)),
    Parameter("petroleum_mg_l", "Oil", "石油类", (0.05, 0.05, 0.05, 0.5, 1.0)),
    Parameter("anionic_surfactant_mg_l", "LAS", "阴离子表面活性剂", (0.2, 0.2, 0.2, 0.3, 0.3)),
    Parameter("sulfide_mg_l", "S2-", "硫化物", (0.05, 0.1, 0.2, 0.5, 1.0)),
)
PH = "ph"
PH_RANGE = (6.0, 9.0)
# Measured and kept, but no class of their own (see the module's docstring).
REPORTED_ONLY = {
    "water_temperature_c": "水温",
    "turbidity_ntu": "浊度",
    "fecal_coliform_per_l": "粪大肠菌群",
    "conductivity_us_cm": "电导率",
}
BY_KEY = {p.key: p for p in PARAMETERS}


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


# Names a reading may use for a parameter: the attribute (snake or camel case) or the code.
ALIASES: dict[str, str] = {}
for _p in PARAMETERS:
    ALIASES[_norm(_p.key)] = _p.key
    ALIASES[_norm(_p.code)] = _p.key
for _k in (PH, *REPORTED_ONLY):
    ALIASES[_norm(_k)] = _k
ALIASES.update({"codcr": "cod_mg_l", "nh3": "ammonia_nitrogen_mg_l", "tp": "total_phosphorus_mg_l"})


def _at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _stamp(value: Any, default: datetime) -> float:
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value).timestamp()
        except ValueError:
            pass
    return default.timestamp()


def _point(geometry: dict[str, Any] | None) -> tuple[float, float] | None:
    if not geometry:
        return None
    if geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        return float(lon), float(lat)
    geom = shape(geometry)
    if geom.is_empty:
        return None
    if geom.geom_type == "MultiLineString":
        geom = shapely.line_merge(geom)
    p = geom.interpolate(0.5, normalized=True) if geom.geom_type == "LineString" else geom
    p = p if p.geom_type == "Point" else geom.representative_point()
    return round(float(shapely.get_x(p)), 6), round(float(shapely.get_y(p)), 6)


# ---------------------------------------------------------------------------------------------
# GB 3838-2002 classification


@dataclass(frozen=True)
class ParameterClass:
    key: str
    value: float
    water_class: int | None  # None: measured, but no class of its own


@dataclass(frozen=True)
class Classification:
    water_class: int | None  # None: nothing classifiable was measured
    items: tuple[ParameterClass, ...]

    def worst_items(self) -> list[str]:
        """The items that decide the class (its 定类因子)."""
        return [i.key for i in self.items if i.water_class == self.water_class]

    def exceeding(self, target: int) -> list[str]:
        """The items worse than the target class (超标项目), worst first."""
        over = [i for i in self.items if i.water_class is not None and i.water_class > target]
        return [i.key for i in sorted(over, key=lambda i: -(i.water_class or 0))]


def _limits(p: Parameter, lake: bool) -> tuple[float, ...]:
    return p.lake_limits if lake and p.lake_limits else p.limits


def parameter_class(key: str, value: float, lake: bool = False) -> int | None:
    """The class (1..6) one item's value meets, None when the item has no class here."""
    if key == PH:
        return 1 if PH_RANGE[0] <= value <= PH_RANGE[1] else WORST
    p = BY_KEY.get(key)
    if p is None or (p.lakes_only and not lake):
        return None
    limits = np.asarray(_limits(p, lake), dtype=np.float64)
    # the best class whose limit holds: the first ceiling >= value, the first floor <= value
    i = np.searchsorted(-limits, -value, "left") if p.floor else np.searchsorted(limits, value)
    return int(i) + 1


def classify(values: Mapping[str, float], lake: bool = False) -> Classification:
    """A sample's class: the worst of its items' classes (single-factor method)."""
    items = tuple(
        ParameterClass(k, float(v), parameter_class(k, float(v), lake))
        for k, v in values.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    )
    classes = [i.water_class for i in items if i.water_class is not None]
    return Classification(max(classes) if classes else None, items)


def limit_for(key: str, target: int, lake: bool = False) -> float | None:
    """The limit an item must meet for the target class (None: no such limit)."""
    p = BY_KEY.get(key)
    if p is None or not 1 <= target <= 5 or (p.lakes_only and not lake):
        return None
    return float(_limits(p, lake)[target - 1])


def sample_values(readings: Any) -> dict[str, float]:
    """The numeric items of a stored ``readings`` object."""
    if not isinstance(readings, dict):
        return {}
    return {
        k: float(v)
        for k, v in readings.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def quality_status(classes: Sequence[int]) -> str | None:
    """The status of a water body from its sections' classes (评价办法, five or more
    sections): the share of I–III, then the share of 劣Ⅴ, decide it."""
    n = len(classes)
    if not n:
        return None
    good = sum(1 for c in classes if c <= 3) / n
    worst = sum(1 for c in classes if c == WORST) / n
    if good >= 0.9:
        return "优"
    if good >= 0.75:
        return "良好"
    if worst < 0.2:
        return "轻度污染"
    return "中度污染" if worst < 0.4 else "重度污染"


# ---------------------------------------------------------------------------------------------
# Stations and water bodies


@dataclass(frozen=True)
class StationSample:
    """A station's latest sample and what it means against its river's target."""

    values: dict[str, float]
    at: datetime
    classification: Classification
    target: int | None

    @property
    def water_class(self) -> int | None:
        return self.classification.water_class

    @property
    def compliant(self) -> bool | None:
        if self.water_class is None or self.target is None:
            return None
        return self.water_class <= self.target


@dataclass
class SampleTally:
    samples: int = 0
    compliant: int = 0


@dataclass(frozen=True)
class RiverSpec:
    key: str
    name: str
    target: int | None
    lake: bool
    warning_level_m: float | None
    lon: float | None
    lat: float | None


@dataclass
class BodyFigures:
    """Water-quality figures of one water body (or the district: key None)."""

    key: str | None
    name: str
    target: int | None
    stations: int = 0
    sampled: int = 0
    compliant: int = 0
    samples: int = 0
    samples_compliant: int = 0
    by_class: dict[int, int] = field(default_factory=dict)
    water_class: int | None = None  # by the mean concentrations (few sections)
    status: str | None = None

    @property
    def compliance_rate(self) -> float | None:
        return self.compliant / self.sampled if self.sampled else None

    @property
    def sample_compliance_rate(self) -> float | None:
        return self.samples_compliant / self.samples if self.samples else None


class QualityWatch:
    """Stations' latest samples, their classes and the sample tallies (thread-safe): from the
    stations' records, then the samples the hub stored (``stored``: each station's latest
    with its tallies, as ``describe`` accounts for them), then the feed's (``refresh``)."""

    def __init__(
        self,
        rivers: Iterable[Record],
        stations: Iterable[Record],
        stored: dict[str, DeviceState] | None = None,
    ) -> None:
        self.rivers: dict[str, RiverSpec] = {}
        for r in rivers:
            a = r.attrs
            point = _point(r.geometry)
            target = a.get("target_class")
            warning = a.get("warning_level_m")
            self.rivers[r.key] = RiverSpec(
                key=r.key,
                name=str(a.get("name") or r.key),
                target=int(target) if isinstance(target, int) and 1 <= target <= 5 else None,
                lake=str(a.get("water_body_type") or "") in LAKE_TYPES,
                warning_level_m=float(warning) if isinstance(warning, int | float) else None,
                lon=point[0] if point else None,
                lat=point[1] if point else None,
            )
        self.river_of: dict[str, str | None] = {}
        self.names: dict[str, str] = {}
        self.places: dict[str, tuple[float | None, float | None, str | None]] = {}
        self.latest: dict[str, StationSample] = {}
        self.tally: dict[str, SampleTally] = {}
        self.lock = threading.Lock()
        for s in stations:
            a = s.attrs
            self.river_of[s.key] = a.get("river")
            self.names[s.key] = str(a.get("name") or s.key)
            point = _point(s.geometry)
            self.places[s.key] = (
                point[0] if point else None,
                point[1] if point else None,
                a.get("grid_cell"),
            )
            self.tally[s.key] = SampleTally()
            values = sample_values(a.get("readings"))
            if values:
                self._take(s.key, values, _stamp(a.get("sampled_at"), s.fetched_at))
        self.refresh(stored or {})

    def describe(self, reading: Reading) -> dict[str, Any]:
        """A station's tallies after its latest sample (kept with the sample, whose items
        are the reading's ``parameters``, in device_state)."""
        with self.lock:
            t = self.tally[reading.id]
            return {"samples": t.samples, "samples_compliant": t.compliant}

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the stations' samples and tallies stored (by other workers, or before a
        restart): what the worker that took them counted."""
        with self.lock:
            for key, kept in newer(stored, self._last_at).items():
                values = sample_values((kept.state.get("extra") or {}).get("parameters"))
                if key not in self.river_of or not values:
                    continue
                self.latest[key] = self._sample(key, values, kept.at.timestamp())
                tally = self.tally_of(kept)
                if tally is not None:
                    self.tally[key] = tally

    def _last_at(self, station: str) -> float | None:
        sample = self.latest.get(station)
        return sample.at.timestamp() if sample is not None else None

    def sample_of(self, kept: DeviceState) -> StationSample | None:
        """A station's latest sample as stored."""
        values = sample_values((kept.state.get("extra") or {}).get("parameters"))
        return self._sample(kept.id, values, kept.at.timestamp()) if values else None

    @staticmethod
    def tally_of(kept: DeviceState) -> SampleTally | None:
        """A station's tallies as stored with its latest sample."""
        samples, good = kept.state.get("samples"), kept.state.get("samples_compliant")
        if isinstance(samples, int) and isinstance(good, int):
            return SampleTally(samples, good)
        return None

    def river(self, station: str) -> RiverSpec | None:
        key = self.river_of.get(station)
        return self.rivers.get(key) if key else None

    def _sample(self, station: str, values: dict[str, float], at: float) -> StationSample:
        river = self.river(station)
        lake = river.lake if river else False
        return StationSample(
            values, _at(at), classify(values, lake), river.target if river else None
        )

    def _take(self, station: str, values: dict[str, float], at: float) -> StationSample:
        sample = self._sample(station, values, at)
        self.latest[station] = sample
        if sample.compliant is not None:
            t = self.tally[station]
            t.samples += 1
            t.compliant += 1 if sample.compliant else 0
        return sample

    def check(self, reading: Reading) -> str | None:
        if reading.id not in self.river_of:
            return f"no water-quality station {reading.id!r}"
        try:
            values = sample_of(reading)
        except ValueError as exc:
            return str(exc)
        if not values:
            return "a water.quality reading needs at least one parameter"
        last = self.latest.get(reading.id)
        if last is not None and reading.at < last.at.timestamp():
            return f"older than station {reading.id}'s last sample"
        return None

    def evaluate(self, readings: Sequence[Reading]) -> list[Alarm]:
        alarms: list[Alarm] = []
        with self.lock:
            for r in sorted(readings, key=lambda r: r.at):
                last = self.latest.get(r.id)
                if last is not None and r.at < last.at.timestamp():
                    continue  # a concurrent batch moved the station on since check()
                sample = self._take(r.id, sample_of(r), r.at)
                was_compliant = last is None or last.compliant is not False
                if sample.compliant is False and was_compliant:
                    alarms.append(self._alarm(r.id, sample))
        return alarms

    def _alarm(self, station: str, sample: StationSample) -> Alarm:
        lon, lat, cell = self.places[station]
        cls = sample.water_class or WORST
        target = sample.target or WORST
        items = "、".join(
            f"{item_code(k)} {sample.values[k]:g}" for k in sample.classification.exceeding(target)
        )
        return Alarm(
            id=f"water.quality_exceeded:{station}:{sample.at.timestamp():.3f}",
            kind="water.quality_exceeded",
            severity="alarm" if cls == WORST else "warning",
            subject_type="WaterStation",
            subject_key=station,
            message=f"{self.names[station]} 水质 {CLASS_NAMES[cls]}，未达目标 "
            f"{CLASS_NAMES[target]}（超标：{items}）",
            at=sample.at,
            value=float(cls),
            lon=lon,
            lat=lat,
            grid_cell=cell,
        )

    def figures(
        self, rivers: Iterable[str], stations: Iterable[str]
    ) -> tuple[BodyFigures, list[BodyFigures]]:
        """Figures per river and for the district over the given (visible) keys."""
        total = BodyFigures(None, "全区", None)
        bodies: dict[str, BodyFigures] = {}
        for key in rivers:
            spec = self.rivers.get(key)
            bodies[key] = BodyFigures(
                key, spec.name if spec else key, spec.target if spec else None
            )
        members: dict[str, list[StationSample]] = {}
        with self.lock:
            for station in stations:
                river = self.river_of.get(station)
                groups = [total] + ([bodies[river]] if river in bodies else [])
                sample = self.latest.get(station)
                tally = self.tally.get(station, SampleTally())
                for g in groups:
                    g.stations += 1
                    g.samples += tally.samples
                    g.samples_compliant += tally.compliant
                    if sample is not None and sample.water_class is not None:
                        g.by_class[sample.water_class] = g.by_class.get(sample.water_class, 0) + 1
                    if sample is not None and sample.compliant is not None:
                        g.sampled += 1
                        g.compliant += 1 if sample.compliant else 0
                if river in bodies and sample is not None:
                    members.setdefault(river, []).append(sample)
        for key, body in bodies.items():
            body.water_class, body.status = body_class(members.get(key, []), self.rivers.get(key))
        total.status = quality_status([c for c, n in total.by_class.items() for _ in range(n)])
        return total, list(bodies.values())

    def body(self, river: str) -> BodyFigures:
        """One river's figures over all its stations."""
        return self.figures([river], self.of_river(river))[1][0]

    def of_river(self, river: str) -> list[str]:
        return sorted(k for k, r in self.river_of.items() if r == river)


def body_class(
    samples: Sequence[StationSample], spec: RiverSpec | None
) -> tuple[int | None, str | None]:
    """A water body's class and status: by the mean concentrations of its stations' latest
    samples when it has few stations, by the shares of their classes otherwise."""
    classes = [s.water_class for s in samples if s.water_class is not None]
    if not classes:
        return None, None
    if len(samples) > MEAN_METHOD_MAX_STATIONS:
        return max(classes), quality_status(classes)
    sums: dict[str, list[float]] = {}
    for s in samples:
        for k, v in s.values.items():
            sums.setdefault(k, []).append(v)
    means = {k: sum(v) / len(v) for k, v in sums.items()}
    cls = classify(means, spec.lake if spec else False).water_class
    return cls, STATUS_OF_CLASS.get(cls) if cls else None


def item_code(key: str) -> str:
    p = BY_KEY.get(key)
    return p.code if p else ("pH" if key == PH else key)


# what a station's history aggregates: an item by its code (by its name when it has none)
SAMPLE_MEASURES = {
    **{p.code: ("parameters", p.key) for p in PARAMETERS},
    "pH": ("parameters", PH),
    **{k: ("parameters", k) for k in REPORTED_ONLY},
}


def normalise_samples(readings: list[Reading]) -> list[Reading]:
    """Samples as the hub keeps them: their items under their attribute names in
    ``parameters`` (however the sender named them), so the history aggregates an item."""
    return [replace(r, extra={"parameters": sample_of(r)}) for r in readings]


def sample_of(reading: Reading) -> dict[str, float]:
    """The parameters of a ``water.quality`` reading: a ``parameters`` object, or the items
    at the top level (attribute names, camel case, or the standard's codes)."""
    given = reading.extra.get("parameters")
    if given is not None and not isinstance(given, dict):
        raise ValueError("parameters must be an object of item: value")
    raw: dict[str, Any] = dict(given or {})
    raw.update({k: v for k, v in reading.extra.items() if k != "parameters"})
    values: dict[str, float] = {}
    for name, value in raw.items():
        key = ALIASES.get(_norm(str(name)))
        if key is None:
            raise ValueError(f"unknown water-quality parameter {name!r}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite")
        if key == PH and not 0 <= value <= 14:
            raise ValueError("ph must be between 0 and 14")
        if key != PH and key != "water_temperature_c" and value < 0:
            raise ValueError(f"{name} must not be negative")
        values[key] = float(value)
    return values


# ---------------------------------------------------------------------------------------------
# Levels: river gauges and ponding gauges


@dataclass(frozen=True)
class Gauge:
    key: str
    subject_type: str  # River or PondingPoint
    name: str
    warning_m: float  # warning level (river) or warning depth (ponding), metres
    lon: float | None
    lat: float | None
    grid_cell: str | None


@dataclass(frozen=True)
class GaugeLevel:
    value_m: float
    at: datetime
    warning_m: float
    over: bool
    since: datetime | None


class LevelWatch:
    """River stages and ponding depths against their thresholds (thread-safe)."""

    def __init__(
        self,
        rivers: Iterable[Record],
        ponding: Iterable[Record],
        grid: GridIndex | None,
        stored: dict[str, DeviceState] | None = None,
    ) -> None:
        stored = stored or {}
        self.gauges: dict[str, Gauge] = {}
        seeds: list[tuple[str, float, float]] = []
        for r in rivers:
            a = r.attrs
            warning = a.get("warning_level_m")
            if not isinstance(warning, int | float):
                continue
            point = _point(r.geometry)
            cell = grid.locate_key(*point) if grid is not None and point else None
            lon, lat = point or (None, None)
            self.gauges[r.key] = Gauge(
                r.key, "River", str(a.get("name") or r.key), float(warning), lon, lat, cell
            )
            if isinstance(a.get("water_level_m"), int | float):
                seeds.append((r.key, float(a["water_level_m"]), r.fetched_at.timestamp()))
        for p in ponding:
            a = p.attrs
            warning = a.get("warning_depth_cm")
            if not isinstance(warning, int | float):
                continue
            point = _point(p.geometry)
            lon, lat = point or (None, None)
            self.gauges[p.key] = Gauge(
                p.key,
                "PondingPoint",
                str(a.get("name") or p.key),
                float(warning) / 100.0,
                lon,
                lat,
                a.get("grid_cell"),
            )
            if isinstance(a.get("depth_cm"), int | float):
                seeds.append((p.key, float(a["depth_cm"]) / 100.0, p.fetched_at.timestamp()))
        self.monitor = TankMonitor(
            {k: TankLimits(high=g.warning_m) for k, g in self.gauges.items()}
        )
        self.over: dict[str, float] = {}  # gauge -> since when it is at or over its threshold
        self.lock = threading.Lock()
        # the levels the hub stored last win over the records' (no alarm: the state as loaded)
        seeds = [x for x in seeds if x[0] not in stored]
        for key, kept in stored.items():
            level = kept.state.get("level_m")
            if key in self.gauges and isinstance(level, int | float):
                seeds.append((key, float(level), kept.at.timestamp()))
        if seeds:
            ids, values, times = zip(*seeds, strict=True)
            self._evaluate(list(ids), list(values), list(times), raise_alarms=False)
        for key, kept in stored.items():  # since when a gauge is over its threshold
            since = kept.state.get("since")
            if key in self.over and isinstance(since, int | float):
                self.over[key] = float(since)

    def check(self, reading: Reading) -> str | None:
        gauge = self.gauges.get(reading.id)
        if gauge is None:
            return f"no river or ponding point {reading.id!r}"
        if reading.value is None:
            what = "the water level" if gauge.subject_type == "River" else "the ponding depth"
            return f"value ({what}) is required"
        unit = reading.extra.get("unit", "m")
        if unit not in ("m", "cm"):
            return 'unit must be "m" or "cm"'
        if gauge.subject_type == "PondingPoint" and reading.value < 0:
            return "a ponding depth must not be negative"
        last = self.monitor.last_reading(reading.id)
        if last is not None and reading.at < last[1]:
            return f"older than {reading.id}'s last level reading"
        return None

    def normalise(self, readings: list[Reading]) -> list[Reading]:
        """Levels sent in centimetres as metres: the history keeps metres."""
        if not any(r.extra for r in readings):
            return readings
        return [
            replace(
                r, value=self.metres(r), extra={k: v for k, v in r.extra.items() if k != "unit"}
            )
            if r.extra.get("unit") == "cm"
            else r
            for r in readings
        ]

    @staticmethod
    def metres(reading: Reading) -> float:
        value = float(reading.value)  # type: ignore[arg-type]
        return value / 100.0 if reading.extra.get("unit") == "cm" else value

    def evaluate(self, readings: Sequence[Reading]) -> list[Alarm]:
        ordered = sorted(readings, key=lambda r: r.at)
        return self._evaluate(
            [r.id for r in ordered], [self.metres(r) for r in ordered], [r.at for r in ordered]
        )

    def _evaluate(
        self, ids: list[str], values: list[float], times: list[float], raise_alarms: bool = True
    ) -> list[Alarm]:
        alarms: list[Alarm] = []
        with self.lock:
            keep = [
                i
                for i, (gid, t) in enumerate(zip(ids, times, strict=True))
                if (last := self.monitor.last_reading(gid)) is None or t >= last[1]
            ]
            ids = [ids[i] for i in keep]
            values = [values[i] for i in keep]
            times = [times[i] for i in keep]
            if not ids:
                return alarms
            flags = self.monitor.evaluate(ids, values, times).flags
            # only the flagged readings and those of gauges in the state can change anything
            touched = set(self.over).union(ids[i] for i in np.flatnonzero(flags).tolist())
            for i, gid in enumerate(ids):
                if gid not in touched:
                    continue
                over = bool(int(flags[i]) & TANK_HIGH)
                if over and gid not in self.over:
                    self.over[gid] = times[i]
                    if raise_alarms:
                        alarms.append(self._alarm(gid, values[i], times[i]))
                elif not over:
                    self.over.pop(gid, None)
        return alarms

    def _alarm(self, gid: str, value: float, at: float) -> Alarm:
        g = self.gauges[gid]
        if g.subject_type == "River":
            kind, severity = "water.flood", "alarm"
            text = f"{g.name} 水位 {value:.2f} m，达到或超过警戒水位 {g.warning_m:.2f} m"
        else:
            kind, severity = "water.waterlogging", "warning"
            text = (
                f"{g.name} 积水 {value * 100:.0f} cm，达到或超过警戒深度 {g.warning_m * 100:.0f} cm"
            )
        return Alarm(
            id=f"{kind}:{gid}:{at:.3f}",
            kind=kind,
            severity=severity,
            subject_type=g.subject_type,
            subject_key=gid,
            message=text,
            at=_at(at),
            value=value,
            lon=g.lon,
            lat=g.lat,
            grid_cell=g.grid_cell,
        )

    def level(self, gid: str) -> GaugeLevel | None:
        g = self.gauges.get(gid)
        last = self.monitor.last_reading(gid) if g else None
        if g is None or last is None:
            return None
        since = self.over.get(gid)
        return GaugeLevel(
            value_m=last[0],
            at=_at(last[1]),
            warning_m=g.warning_m,
            over=since is not None,
            since=_at(since) if since is not None else None,
        )

    def refresh(self, stored: dict[str, DeviceState]) -> None:
        """Take in the gauges' states stored by other workers (newer than what this one saw);
        no alarm: the worker that took the reading raised it."""
        ids, values, times = [], [], []
        for key, kept in stored.items():
            level, at = kept.state.get("level_m"), kept.at.timestamp()
            if key not in self.gauges or not isinstance(level, int | float):
                continue
            with self.lock:  # the monitor is borrowed mutably while it evaluates
                last = self.monitor.last_reading(key)
            if last is None or at > last[1] + state.SAME_TIME_S:
                ids.append(key)
                values.append(float(level))
                times.append(at)
        if not ids:
            return
        self._evaluate(ids, values, times, raise_alarms=False)
        with self.lock:
            for key in ids:
                since = stored[key].state.get("since")
                if key in self.over and isinstance(since, int | float):
                    self.over[key] = float(since)

    def describe(self, reading: Reading) -> dict[str, Any]:
        """A gauge's state after its latest reading: stored with it in device_state."""
        with self.lock:
            since = self.over.get(reading.id)
        return {"level_m": self.metres(reading), "over": since is not None, "since": since}

    def level_of(self, kept: DeviceState) -> GaugeLevel | None:
        """A gauge's level as stored (``describe``'s account of its latest reading)."""
        g = self.gauges.get(kept.id)
        value, since = kept.state.get("level_m"), kept.state.get("since")
        if g is None or not isinstance(value, int | float):
            return None
        return GaugeLevel(
            value_m=float(value),
            at=kept.at,
            warning_m=g.warning_m,
            over=bool(kept.state.get("over")),
            since=_at(since) if isinstance(since, int | float) else None,
        )

    def in_warning(self, subject_type: str | None = None) -> list[str]:
        """Gauges at or over their threshold now, in key order."""
        return sorted(
            k
            for k in self.over
            if subject_type is None or self.gauges[k].subject_type == subject_type
        )


# ---------------------------------------------------------------------------------------------
# Pumps and gates (SCADA)


@dataclass(frozen=True)
class PumpState:
    status: str
    pumps: int
    running_pumps: int
    current_flow_m3_s: float | None
    inlet_level_m: float | None
    outlet_level_m: float | None
    at: datetime


@dataclass(frozen=True)
class GateState:
    status: str
    opening_m: float | None
    upstream_level_m: float | None
    downstream_level_m: float | None
    at: datetime


def _num(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _field(reading: Reading, *names: str) -> Any:
    return next((reading.extra[n] for n in names if n in reading.extra), None)


def _number_field(reading: Reading, camel: str, snake: str) -> tuple[bool, float | None, str]:
    """(given, value, problem) of a numeric SCADA field named in camel or snake case."""
    raw = _field(reading, camel, snake)
    if raw is None:
        return False, None, ""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        return True, None, f"{camel} must be a finite number"
    return True, float(raw), ""


def _keep(reading: Reading, camel: str, snake: str, before: float | None) -> float | None:
    """The reading's value of a field when it gives one, else the state before."""
    given, value, _ = _number_field(reading, camel, snake)
    return value if given else before


# The SCADA fields a reading may name in camel case, by their attribute (snake case) names
PUMP_FIELDS = {
    "runningPumps": "running_pumps",
    "flowM3S": "current_flow_m3_s",
    "inletLevelM": "inlet_level_m",
    "outletLevelM": "outlet_level_m",
}
GATE_FIELDS = {
    "openingM": "opening_m",
    "upstreamLevelM": "upstream_level_m",
    "downstreamLevelM": "downstream_level_m",
}


# what a pump station's or a gate's history aggregates, by the readings' (camel-case) names
PUMP_MEASURES = {camel: (snake,) for camel, snake in PUMP_FIELDS.items()}
GATE_MEASURES = {camel: (snake,) for camel, snake in GATE_FIELDS.items()}


def _renamed(readings: list[Reading], names: Mapping[str, str]) -> list[Reading]:
    """Readings with their camel-case fields under the snake-case names (the camel one wins,
    as :func:`_field` reads them), so the history finds a field under one name."""
    out = []
    for r in readings:
        if not names.keys() & r.extra.keys():
            out.append(r)
            continue
        extra = {k: v for k, v in r.extra.items() if k not in names}
        extra.update({names[k]: v for k, v in r.extra.items() if k in names})
        out.append(replace(r, extra=extra))
    return out


def normalise_pumps(readings: list[Reading]) -> list[Reading]:
    return _renamed(readings, PUMP_FIELDS)


def normalise_gates(readings: list[Reading]) -> list[Reading]:
    return _renamed(readings, GATE_FIELDS)


def _scada_state(state: PumpState | GateState) -> dict[str, Any]:
    fields = {k: v for k, v in state.__dict__.items() if k != "at"}
    return {"scada": fields}


def pump_state_of(kept: DeviceState, before: PumpState) -> PumpState:
    """A pump station's state as stored (``describe_pump``), over what is known of it."""
    known = kept.state.get("scada") or {}
    return replace(before, **{k: v for k, v in known.items() if k != "pumps"}, at=kept.at)


def gate_state_of(kept: DeviceState, before: GateState) -> GateState:
    """A gate's state as stored (``describe_gate``), over what is known of it."""
    return replace(before, **(kept.state.get("scada") or {}), at=kept.at)


class ScadaWatch:
    """Pump stations' and gates' live states (thread-safe)."""

    def __init__(
        self,
        pumps: Iterable[Record],
        gates: Iterable[Record],
        stored_pumps: dict[str, DeviceState] | None = None,
        stored_gates: dict[str, DeviceState] | None = None,
    ) -> None:
        self.pumps: dict[str, PumpState] = {}
        self.pump_info: dict[str, tuple[str, float | None, float | None, str | None]] = {}
        for p in pumps:
            a = p.attrs
            self.pumps[p.key] = PumpState(
                status=str(a.get("status") or ""),
                pumps=int(a.get("pumps") or 0),
                running_pumps=int(a.get("running_pumps") or 0),
                current_flow_m3_s=_num(a.get("current_flow_m3_s")),
                inlet_level_m=_num(a.get("inlet_level_m")),
                outlet_level_m=_num(a.get("outlet_level_m")),
                at=p.fetched_at,
            )
            point = _point(p.geometry)
            self.pump_info[p.key] = (
                str(a.get("name") or p.key),
                *(point or (None, None)),
                a.get("grid_cell"),
            )
        self.gates: dict[str, GateState] = {}
        self.gate_river: dict[str, str | None] = {}
        for g in gates:
            a = g.attrs
            self.gate_river[g.key] = a.get("river")
            self.gates[g.key] = GateState(
                status=str(a.get("status") or ""),
                opening_m=_num(a.get("opening_m")),
                upstream_level_m=_num(a.get("upstream_level_m")),
                downstream_level_m=_num(a.get("downstream_level_m")),
                at=g.fetched_at,
            )
        self.lock = threading.Lock()
        # the states the hub stored last win over the records'
        self.refresh_pumps(stored_pumps or {})
        self.refresh_gates(stored_gates or {})

    def describe_pump(self, reading: Reading) -> dict[str, Any]:
        """A pump station's whole state after its latest reading: stored in device_state."""
        with self.lock:
            return _scada_state(self.pumps[reading.id])

    def describe_gate(self, reading: Reading) -> dict[str, Any]:
        """A gate's whole state after its latest reading: stored in device_state."""
        with self.lock:
            return _scada_state(self.gates[reading.id])

    def refresh_pumps(self, stored: dict[str, DeviceState]) -> None:
        """Take in the pump states stored (by other workers, or before a restart)."""
        with self.lock:
            for key, kept in stored.items():
                before = self.pumps.get(key)
                if before is not None and kept.at > before.at:
                    self.pumps[key] = pump_state_of(kept, before)

    def refresh_gates(self, stored: dict[str, DeviceState]) -> None:
        """Take in the gate states stored (by other workers, or before a restart)."""
        with self.lock:
            for key, kept in stored.items():
                before = self.gates.get(key)
                if before is not None and kept.at > before.at:
                    self.gates[key] = gate_state_of(kept, before)

    def check_pump(self, reading: Reading) -> str | None:
        state = self.pumps.get(reading.id)
        if state is None:
            return f"no pump station {reading.id!r}"
        status = _field(reading, "status")
        if status is not None and status not in PUMP_STATUSES:
            return f"status must be one of {', '.join(PUMP_STATUSES)}"
        running = _field(reading, "runningPumps", "running_pumps")
        if running is not None:
            if isinstance(running, bool) or not isinstance(running, int):
                return "runningPumps must be a whole number"
            if not 0 <= running <= state.pumps:
                return f"runningPumps must be between 0 and {state.pumps} (the station's pumps)"
        for camel, snake in (
            ("flowM3S", "current_flow_m3_s"),
            ("inletLevelM", "inlet_level_m"),
            ("outletLevelM", "outlet_level_m"),
        ):
            _, value, problem = _number_field(reading, camel, snake)
            if problem:
                return problem
            if camel == "flowM3S" and value is not None and value < 0:
                return "flowM3S must not be negative"
        if status is None and running is None:
            return "a pump.state reading needs status or runningPumps"
        if reading.at < state.at.timestamp():
            return f"older than pump station {reading.id}'s last state"
        return None

    def on_pumps(self, readings: Sequence[Reading]) -> list[Alarm]:
        alarms: list[Alarm] = []
        with self.lock:
            for r in sorted(readings, key=lambda r: r.at):
                before = self.pumps[r.id]
                if r.at < before.at.timestamp():
                    continue
                given = _field(r, "runningPumps", "running_pumps")
                running = before.running_pumps if given is None else int(given)
                status = _field(r, "status") or ("运行" if running else "停机")
                if status != "运行" and given is None:
                    running = 0  # stopped, in maintenance or failed: no pump runs
                flow = _keep(r, "flowM3S", "current_flow_m3_s", before.current_flow_m3_s)
                after = replace(
                    before,
                    status=status,
                    running_pumps=running,
                    current_flow_m3_s=flow if running or given is not None else 0.0,
                    inlet_level_m=_keep(r, "inletLevelM", "inlet_level_m", before.inlet_level_m),
                    outlet_level_m=_keep(
                        r, "outletLevelM", "outlet_level_m", before.outlet_level_m
                    ),
                    at=_at(r.at),
                )
                self.pumps[r.id] = after
                if status == "故障" and before.status != "故障":
                    name, lon, lat, cell = self.pump_info[r.id]
                    alarms.append(
                        Alarm(
                            id=f"pump.fault:{r.id}:{r.at:.3f}",
                            kind="pump.fault",
                            severity="alarm",
                            subject_type="PumpStation",
                            subject_key=r.id,
                            message=f"{name} 泵站故障（运行 {running}/{after.pumps} 台）",
                            at=_at(r.at),
                            value=float(running),
                            lon=lon,
                            lat=lat,
                            grid_cell=cell,
                        )
                    )
        return alarms

    def check_gate(self, reading: Reading) -> str | None:
        state = self.gates.get(reading.id)
        if state is None:
            return f"no gate {reading.id!r}"
        status = _field(reading, "status")
        if status is not None and status not in GATE_STATUSES:
            return f"status must be one of {', '.join(GATE_STATUSES)}"
        for camel, snake in (
            ("openingM", "opening_m"),
            ("upstreamLevelM", "upstream_level_m"),
            ("downstreamLevelM", "downstream_level_m"),
        ):
            _, value, problem = _number_field(reading, camel, snake)
            if problem:
                return problem
            if camel == "openingM" and value is not None and value < 0:
                return "openingM must not be negative"
        if status is None and _field(reading, "openingM", "opening_m") is None:
            return "a gate.state reading needs status or openingM"
        if reading.at < state.at.timestamp():
            return f"older than gate {reading.id}'s last state"
        return None

    def on_gates(self, readings: Sequence[Reading]) -> list[Alarm]:
        with self.lock:
            for r in sorted(readings, key=lambda r: r.at):
                before = self.gates[r.id]
                if r.at < before.at.timestamp():
                    continue
                opening = _number_field(r, "openingM", "opening_m")[1]
                status = _field(r, "status")
                if status is None:  # derived from the opening: 0 is closed
                    status = "关闭" if opening == 0 else "部分开启"
                elif status == "关闭":
                    opening = 0.0
                self.gates[r.id] = replace(
                    before,
                    status=status,
                    opening_m=opening if opening is not None else before.opening_m,
                    upstream_level_m=_keep(
                        r, "upstreamLevelM", "upstream_level_m", before.upstream_level_m
                    ),
                    downstream_level_m=_keep(
                        r, "downstreamLevelM", "downstream_level_m", before.downstream_level_m
                    ),
                    at=_at(r.at),
                )
        return []  # gate moves are states, not alarms


@dataclass
class ScadaFigures:
    pump_stations: int = 0
    pumps: int = 0
    running_pumps: int = 0
    current_flow_m3_s: float = 0.0
    design_flow_m3_s: float = 0.0
    pumps_by_status: dict[str, int] = field(default_factory=dict)
    gates: int = 0
    gates_by_status: dict[str, int] = field(default_factory=dict)


def scada_figures(
    scada: ScadaWatch, pumps: Iterable[Record], gates: Iterable[Record]
) -> ScadaFigures:
    """Pump stations and gates by live status, over the given (visible) records."""
    out = ScadaFigures()
    for p in pumps:
        state = scada.pumps.get(p.key)
        if state is None:
            continue
        out.pump_stations += 1
        out.pumps += state.pumps
        out.running_pumps += state.running_pumps
        out.current_flow_m3_s += state.current_flow_m3_s or 0.0
        out.design_flow_m3_s += float(p.attrs.get("design_flow_m3_s") or 0.0)
        out.pumps_by_status[state.status] = out.pumps_by_status.get(state.status, 0) + 1
    for g in gates:
        gate = scada.gates.get(g.key)
        if gate is None:
            continue
        out.gates += 1
        out.gates_by_status[gate.status] = out.gates_by_status.get(gate.status, 0) + 1
    return out


# ---------------------------------------------------------------------------------------------
# The app's services


class WaterServices:
    """Built once per hub process; the live state is loaded from the store on first use."""

    def __init__(self, store: RecordStore) -> None:
        self.store = store
        engine = store.engine
        self.quality_model = ReadModel(
            engine, (WATER_QUALITY,), self._load_quality, records=("River", "WaterStation")
        )
        self.level_model = ReadModel(
            engine,
            (WATER_LEVEL,),
            self._load_levels,
            records=("River", "PondingPoint", "GridCell"),
        )
        self.scada_model = ReadModel(
            engine, (PUMP_STATE, GATE_STATE), self._load_scada, records=("PumpStation", "Gate")
        )

    def _load_quality(self, stored: Stored) -> QualityWatch:
        rivers, stations = self.store.scan("River"), self.store.scan("WaterStation")
        return QualityWatch(rivers, stations, stored[WATER_QUALITY])

    def _load_levels(self, stored: Stored) -> LevelWatch:
        return LevelWatch(
            self.store.scan("River"),
            self.store.scan("PondingPoint"),
            grid_of(self.store),
            stored[WATER_LEVEL],
        )

    def _load_scada(self, stored: Stored) -> ScadaWatch:
        pumps, gates = self.store.scan("PumpStation"), self.store.scan("Gate")
        return ScadaWatch(pumps, gates, stored[PUMP_STATE], stored[GATE_STATE])

    @property
    def quality(self) -> QualityWatch:
        return self.quality_model.get()

    @property
    def levels(self) -> LevelWatch:
        return self.level_model.get()

    @property
    def scada(self) -> ScadaWatch:
        return self.scada_model.get()

    # telemetry handlers (called by the live bus from a worker thread)
    def check_level(self, reading: Reading) -> str | None:
        return self.levels.check(reading)

    def on_levels(self, readings: Sequence[Reading]) -> list[Alarm]:
        return self.levels.evaluate(readings)

    def describe_level(self, reading: Reading) -> dict[str, Any]:
        return self.levels.describe(reading)

    def normalise_levels(self, readings: list[Reading]) -> list[Reading]:
        return self.levels.normalise(readings)

    def describe_pump(self, reading: Reading) -> dict[str, Any]:
        return self.scada.describe_pump(reading)

    def describe_gate(self, reading: Reading) -> dict[str, Any]:
        return self.scada.describe_gate(reading)

    def gauges_in_warning(self, subject_type: str) -> list[str]:
        """Gauges at or over their threshold, in key order: as stored, else as loaded from
        the records (the same in every worker)."""
        watch = self.levels
        stored = state.latest_of_kind(self.store.engine, WATER_LEVEL)
        over = {
            k
            for k, s in stored.items()
            if s.state.get("over") and k in watch.gauges
            and watch.gauges[k].subject_type == subject_type
        }  # fmt: skip
        over.update(k for k in watch.in_warning(subject_type) if k not in stored)
        return sorted(over)

    def check_quality(self, reading: Reading) -> str | None:
        return self.quality.check(reading)

    def on_quality(self, readings: Sequence[Reading]) -> list[Alarm]:
        return self.quality.evaluate(readings)

    def describe_quality(self, reading: Reading) -> dict[str, Any]:
        return self.quality.describe(reading)

    def check_pump(self, reading: Reading) -> str | None:
        return self.scada.check_pump(reading)

    def on_pumps(self, readings: Sequence[Reading]) -> list[Alarm]:
        return self.scada.on_pumps(readings)

    def check_gate(self, reading: Reading) -> str | None:
        return self.scada.check_gate(reading)

    def on_gates(self, readings: Sequence[Reading]) -> list[Alarm]:
        return self.scada.on_gates(readings)


def services(hub: HubServices) -> WaterServices:
    app = WaterServices(hub.store)
    for model in (app.quality_model, app.level_model, app.scada_model):
        model.follow_records(hub.feed)
    hub.live.register(
        WATER_LEVEL,
        app.on_levels,
        app.check_level,
        app.describe_level,
        app.level_model.follow(LevelWatch.refresh),
        app.normalise_levels,
    )
    hub.live.register(
        WATER_QUALITY,
        app.on_quality,
        app.check_quality,
        app.describe_quality,
        app.quality_model.follow(QualityWatch.refresh),
        normalise_samples,
    )
    hub.live.register(
        PUMP_STATE,
        app.on_pumps,
        app.check_pump,
        app.describe_pump,
        app.scada_model.follow(ScadaWatch.refresh_pumps),
        normalise_pumps,
    )
    hub.live.register(
        GATE_STATE,
        app.on_gates,
        app.check_gate,
        app.describe_gate,
        app.scada_model.follow(ScadaWatch.refresh_gates),
        normalise_gates,
    )
    return app
