"""The waterways as their gauges and SCADA report them, and their incidents.

* ``water.level`` — the hydrology platform's gauges: each river's stage (metres) with the tide
  (M2, 12.42 h) and a little noise, kept well below its warning level; each ponding point's
  depth of water (centimetres), dry weather draining what the last rain left. Every
  ``water_level_s`` (2 min) of the city's time.
* ``water.quality`` — the automatic stations' samples every ``water_quality_s`` (10 min): their
  last sample's items with a daily cycle (dissolved oxygen and temperature highest in the
  afternoon) and noise, never changing whether the station meets its river's target class
  (the normal city raises no quality alarm).
* ``pump.state`` / ``gate.state`` — the SCADA's reports: every station and gate every
  ``scada_report_s`` (15 min), and in between a pump station switching on or off (on average
  every ``pump_switch_h`` hours each) or a gate moving (every ``gate_move_h``).

Incidents: ``river_flood`` (rain: a river's stage over its warning level for 3 h, then
receding: ``water.flood``; at a river, or a station or gate on it), ``ponding`` (a
cloudburst: a ponding point's depth over its warning depth for an hour, then draining:
``water.waterlogging``), ``pump_fault`` (a station reports 故障 until repaired 4 h later:
``pump.fault``). The gauge or station reports at once, so the alarm does not wait for the
next pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from schema.record import Record
from simcity.binhai.water import water_quality_class
from simcity.sandbox.streams import HOUR, LiveCity, Stream, Where, incident
from simcity.sandbox.streams.places import incident_rng, name_of, pick, records
from simcity.sandbox.streams.publish import publisher
from simcity.sandbox.streams.ticker import Ticker

LEVEL_EVERY_S = 120.0
QUALITY_EVERY_S = 600.0
SCADA_REPORT_S = 900.0
SCADA_TICK_S = 300.0  # how often a switch or a move may happen
PUMP_SWITCH_H = 4.0
GATE_MOVE_H = 12.0
M2_S = 12.42 * HOUR  # the principal lunar tide
TIDE_M = 0.12
BELOW_WARNING_M = 0.6  # a river's mean stage stays this far under its warning level
DRAIN_CM_PER_H = 30.0
FLOOD_S, FLOOD_RECEDE_S = 3 * HOUR, 3 * HOUR
PONDING_S = HOUR
REPAIR_S = 4 * HOUR
_KEY = "water"


def _num(value: Any, default: float = 0.0) -> float:
    number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if number else default


@dataclass
class Pump:
    status: str
    pumps: int
    running: int
    flow_per_pump: float
    inlet_m: float
    outlet_m: float
    repaired_at: float | None = None  # a fault's end

    def reading(self, key: str, at: float) -> dict[str, Any]:
        return {"kind": "pump.state", "id": key, "at": at, "status": self.status,
                "runningPumps": self.running,
                "flowM3S": round(self.running * self.flow_per_pump, 2),
                "inletLevelM": round(self.inlet_m, 2),
                "outletLevelM": round(self.outlet_m, 2)}  # fmt: skip


@dataclass
class Gate:
    status: str
    opening_m: float
    height_m: float
    upstream_m: float
    downstream_m: float

    def reading(self, key: str, at: float) -> dict[str, Any]:
        return {"kind": "gate.state", "id": key, "at": at, "status": self.status,
                "openingM": round(self.opening_m, 2), "upstreamLevelM": round(self.upstream_m, 2),
                "downstreamLevelM": round(self.downstream_m, 2)}  # fmt: skip


@dataclass
class Waterways:
    """The live state of the waterways: what the streams report and the incidents change."""

    city: LiveCity
    rivers: list[Record]
    ponding: list[Record]
    stations: list[Record]
    pump_records: list[Record]
    gate_records: list[Record]
    start: float
    floods: dict[str, tuple[float, float]] = field(default_factory=dict)  # river: (t0, over m)
    rains: dict[str, tuple[float, float]] = field(default_factory=dict)  # point: (t0, peak cm)
    pumps: dict[str, Pump] = field(default_factory=dict)
    gates: dict[str, Gate] = field(default_factory=dict)
    targets: dict[str, int] = field(default_factory=dict)  # river: target class

    def __post_init__(self) -> None:
        self.targets = {r.key: int(r.attrs.get("target_class") or 5) for r in self.rivers}
        for p in self.pump_records:
            a = p.attrs
            pumps = max(1, int(_num(a.get("pumps"), 1)))
            running = int(_num(a.get("running_pumps")))
            per = _num(a.get("design_flow_m3_s"), pumps) / pumps * 0.8
            self.pumps[p.key] = Pump(str(a.get("status") or "停机"), pumps, running, per,
                                     _num(a.get("inlet_level_m"), -1.0),
                                     _num(a.get("outlet_level_m"), 1.0))  # fmt: skip
        for g in self.gate_records:
            a = g.attrs
            self.gates[g.key] = Gate(str(a.get("status") or "关闭"), _num(a.get("opening_m")),
                                     _num(a.get("gate_height_m"), 5.0),
                                     _num(a.get("upstream_level_m"), 1.5),
                                     _num(a.get("downstream_level_m"), 1.0))  # fmt: skip

    # -- levels --------------------------------------------------------------------------

    def stage(self, river: Record, at: float) -> float:
        warning = _num(river.attrs.get("warning_level_m"), 3.0)
        mean = min(_num(river.attrs.get("water_level_m"), warning - 1.0), warning - BELOW_WARNING_M)
        phase = self.city.rng("water/tide", river.key).uniform(0, 2 * math.pi)
        noise = self.city.rng("water/level", river.key, int(at // LEVEL_EVERY_S)).gauss(0, 0.01)
        level = mean + TIDE_M * math.sin(2 * math.pi * at / M2_S + phase) + noise
        flood = self.floods.get(river.key)
        if flood is not None:
            t0, over = flood
            receded = min(1.0, max(0.0, (at - t0 - FLOOD_S) / FLOOD_RECEDE_S))
            if receded >= 1.0:
                del self.floods[river.key]
            else:
                level = max(level, warning + over - (over + 0.3) * receded)
        return round(level, 3)

    def depth_cm(self, point: Record, at: float) -> float:
        left = _num(point.attrs.get("depth_cm")) - DRAIN_CM_PER_H * (at - self.start) / HOUR
        rain = self.rains.get(point.key)
        if rain is not None:
            t0, peak = rain
            after = peak - DRAIN_CM_PER_H * max(0.0, at - t0 - PONDING_S) / HOUR
            if after <= 0:
                del self.rains[point.key]
            left = max(left, after)
        return round(max(0.0, left), 1)

    def level_readings(self, at: float) -> list[dict[str, Any]]:
        out = [self.river_reading(r, at) for r in self.rivers]
        out.extend(self.ponding_reading(p, at) for p in self.ponding)
        return out

    def river_reading(self, river: Record, at: float) -> dict[str, Any]:
        return {"kind": "water.level", "id": river.key, "at": at, "value": self.stage(river, at)}

    def ponding_reading(self, point: Record, at: float) -> dict[str, Any]:
        return {"kind": "water.level", "id": point.key, "at": at,
                "value": self.depth_cm(point, at), "unit": "cm"}  # fmt: skip

    # -- quality -------------------------------------------------------------------------

    def sample(self, station: Record, at: float) -> dict[str, Any] | None:
        base = {k: float(v) for k, v in (station.attrs.get("readings") or {}).items()
                if isinstance(v, int | float) and not isinstance(v, bool)}  # fmt: skip
        if not base:
            return None
        rng = self.city.rng("water/quality", station.key, int(at // QUALITY_EVERY_S))
        day = math.sin(2 * math.pi * ((at + 8 * HOUR) % 86400.0 - 9 * HOUR) / 86400.0)  # 15:00
        varied = {}
        for k, v in base.items():
            if k == "ph":
                varied[k] = round(v + 0.1 * day + rng.gauss(0, 0.03), 2)
            elif k == "water_temperature_c":
                varied[k] = round(v + 1.5 * day + rng.gauss(0, 0.1), 1)
            elif k == "dissolved_oxygen_mg_l":
                varied[k] = round(max(0.1, v * (1 + 0.08 * day + rng.gauss(0, 0.02))), 2)
            else:
                varied[k] = round(max(0.0, v * (1 + rng.gauss(0, 0.04))), 3)
        target = self.targets.get(str(station.attrs.get("river")), 5)
        if self._meets(varied, target) != self._meets(base, target):
            varied = base  # the noise never changes whether the station meets its target
        return {"kind": "water.quality", "id": station.key, "at": at, "parameters": varied}

    @staticmethod
    def _meets(values: dict[str, float], target: int) -> bool:
        items = ("dissolved_oxygen_mg_l", "permanganate_index_mg_l", "ammonia_nitrogen_mg_l",
                 "total_phosphorus_mg_l")  # fmt: skip
        if not all(k in values for k in items):
            return True
        ph_ok = 6.0 <= values.get("ph", 7.0) <= 9.0
        return ph_ok and water_quality_class(*(values[k] for k in items)) <= target

    # -- SCADA ---------------------------------------------------------------------------

    def scada_changes(self, at: float) -> list[dict[str, Any]]:
        """The switches and moves of one tick (and the repairs due)."""
        out = []
        bucket = int(at // SCADA_TICK_S)
        p_switch = SCADA_TICK_S / (self.city.rate("pump_switch_h", PUMP_SWITCH_H) * HOUR)
        for key, pump in self.pumps.items():
            if pump.repaired_at is not None:
                if at >= pump.repaired_at:
                    pump.status, pump.running, pump.repaired_at = "停机", 0, None
                    out.append(pump.reading(key, at))
                continue
            rng = self.city.rng("water/pump", key, bucket)
            if pump.status == "检修" or rng.random() >= p_switch:
                continue
            if pump.running:
                pump.status, pump.running = "停机", 0
            else:
                pump.status, pump.running = "运行", rng.randint(1, pump.pumps)
            pump.inlet_m = min(1.0, max(-3.5, pump.inlet_m + rng.uniform(-0.2, 0.2)))
            out.append(pump.reading(key, at))
        p_move = SCADA_TICK_S / (self.city.rate("gate_move_h", GATE_MOVE_H) * HOUR)
        for key, gate in self.gates.items():
            rng = self.city.rng("water/gate", key, bucket)
            if rng.random() >= p_move:
                continue
            if gate.status == "关闭":
                gate.status = "部分开启"
                gate.opening_m = round(rng.uniform(0.3, gate.height_m / 2), 2)
            else:
                gate.status, gate.opening_m = "关闭", 0.0
            out.append(gate.reading(key, at))
        return out

    def scada_report(self, at: float) -> list[dict[str, Any]]:
        return [p.reading(k, at) for k, p in self.pumps.items()] + [
            g.reading(k, at) for k, g in self.gates.items()
        ]


def waterways(city: LiveCity) -> Waterways:
    """The live city's waterways (made on first use)."""
    found = city.state.get(_KEY)
    if not isinstance(found, Waterways):
        found = city.state[_KEY] = Waterways(
            city,
            rivers=records(city, "hydrology", "River"),
            ponding=records(city, "hydrology", "PondingPoint"),
            stations=records(city, "water-quality", "WaterStation"),
            pump_records=records(city, "pump-gate-scada", "PumpStation"),
            gate_records=records(city, "pump-gate-scada", "Gate"),
            start=city.clock.seconds(),
        )
    return found


def _now(city: LiveCity) -> float:
    return round(city.clock.seconds(), 3)


def streams(city: LiveCity) -> list[Stream]:
    ways = waterways(city)
    send = publisher(city).send

    async def levels() -> None:
        await send("water.level", ways.level_readings(_now(city)))

    async def quality() -> None:
        at = _now(city)
        await send("water.quality", [s for r in ways.stations if (s := ways.sample(r, at))])

    async def scada_report() -> None:
        at = _now(city)
        for kind, group in _by_kind(ways.scada_report(at)).items():
            await send(kind, group)

    async def scada_changes() -> None:
        for kind, group in _by_kind(ways.scada_changes(_now(city))).items():
            await send(kind, group)

    return [
        Ticker("water.level", city.rate("water_level_s", LEVEL_EVERY_S), levels),
        Ticker("water.quality", city.rate("water_quality_s", QUALITY_EVERY_S), quality),
        Ticker("scada.report", city.rate("scada_report_s", SCADA_REPORT_S), scada_report),
        # the changes follow the first full report
        Ticker("scada.changes", SCADA_TICK_S, scada_changes, delay_s=SCADA_TICK_S),
    ]


def _by_kind(readings: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for r in readings:
        out.setdefault(r["kind"], []).append(r)
    return out


# -- incidents -----------------------------------------------------------------------------


@incident("river_flood", "rain: a river rises over its warning level", alarms=("water.flood",))
async def river_flood(city: LiveCity, where: Where) -> dict[str, Any]:
    ways = waterways(city)
    for on in ways.stations + ways.gate_records:  # a station or a gate: its river
        if where.site in (on.key, on.attrs.get("name")) and on.attrs.get("river"):
            where = Where(site=str(on.attrs["river"]))
    calm = [r for r in ways.rivers if r.key not in ways.floods]
    river = pick(ways.rivers, where, incident_rng(city, "river_flood"), "river", calm)
    at = _now(city)
    over = round(city.rng("river_flood", river.key, int(at // HOUR)).uniform(0.1, 0.5), 2)
    ways.floods[river.key] = (at, over)
    reading = ways.river_reading(river, at)
    await publisher(city).send("water.level", [reading])
    return {"subject": river.key, "name": name_of(river), "levelM": reading["value"],
            "warningM": river.attrs.get("warning_level_m")}  # fmt: skip


@incident("ponding", "a cloudburst: a low road floods over its warning depth",
          alarms=("water.waterlogging",))  # fmt: skip
async def ponding(city: LiveCity, where: Where) -> dict[str, Any]:
    ways = waterways(city)
    at = _now(city)
    dry = [p for p in ways.ponding if ways.depth_cm(p, at) == 0]
    point = pick(ways.ponding, where, incident_rng(city, "ponding"), "ponding point", dry)
    warning = _num(point.attrs.get("warning_depth_cm"), 15.0)
    peak = round(warning + city.rng("ponding", point.key, int(at // HOUR)).uniform(5, 20), 1)
    ways.rains[point.key] = (at, peak)
    reading = ways.ponding_reading(point, at)
    await publisher(city).send("water.level", [reading])
    return {"subject": point.key, "name": name_of(point), "depthCm": reading["value"],
            "warningCm": warning}  # fmt: skip


@incident("pump_fault", "a drainage pump station reports a fault", alarms=("pump.fault",))
async def pump_fault(city: LiveCity, where: Where) -> dict[str, Any]:
    ways = waterways(city)
    healthy = [p for p in ways.pump_records if ways.pumps[p.key].status != "故障"]
    rng = incident_rng(city, "pump_fault")
    station = pick(ways.pump_records, where, rng, "pump station", healthy)
    at = _now(city)
    pump = ways.pumps[station.key]
    ways.pumps[station.key] = replace(pump, status="故障", running=0, repaired_at=at + REPAIR_S)
    await publisher(city).send("pump.state", [ways.pumps[station.key].reading(station.key, at)])
    return {"subject": station.key, "name": name_of(station), "repairedAt": at + REPAIR_S}
