"""The water types: rivers with their class and compliance, water-quality stations with their
latest samples classed by GB 3838-2002, pump stations and gates with their SCADA states,
ponding points, and the figures and warnings over them.

Record types are built whole from their records; live fields (latest sample, level, SCADA
state) are read from the app's services. Quality figures are public (the water-quality system
publishes them), levels and SCADA states internal, SCADA tags sensitive."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry import relay

from hub.apps import kit
from hub.apps.live.history import history_field
from hub.apps.water.services import (
    BY_KEY,
    CLASS_NAMES,
    GATE_MEASURES,
    GATE_STATE,
    PH,
    PUMP_MEASURES,
    PUMP_STATE,
    REPORTED_ONLY,
    ROMAN,
    SAMPLE_MEASURES,
    WATER_LEVEL,
    WATER_QUALITY,
    BodyFigures,
    GateState,
    GaugeLevel,
    LevelWatch,
    PumpState,
    QualityWatch,
    SampleTally,
    ScadaWatch,
    StationSample,
    WaterServices,
    gate_state_of,
    item_code,
    limit_for,
    pump_state_of,
)
from hub.policy.aggregates import EXACT, FigureRule
from hub.state.loader import device_state
from schema.classification import classified
from schema.context import records
from schema.interfaces import Located, Sourced
from schema.nodes import RecordNode
from schema.reads import load_all
from schema.record import Record
from schema.scalars import GeoJSON

PUBLIC = classified("public")
INTERNAL = classified("internal")
SENSITIVE = classified("sensitive")


def water(info: strawberry.Info) -> WaterServices:
    return kit.service(info, WaterServices)


async def quality_watch(info: strawberry.Info) -> QualityWatch:
    service = water(info)
    return await run_in_threadpool(lambda: service.quality)  # first use loads from the store


async def gauge_level(info: strawberry.Info, key: str) -> GaugeLevel | None:
    """A river's stage or a ponding point's depth: as stored (the same in every worker), else
    as loaded from its record."""
    watch = await level_watch(info)
    kept = await device_state(info, WATER_LEVEL, key)
    return watch.level_of(kept) if kept is not None else watch.level(key)


async def level_watch(info: strawberry.Info) -> LevelWatch:
    service = water(info)
    return await run_in_threadpool(lambda: service.levels)


async def scada_watch(info: strawberry.Info) -> ScadaWatch:
    service = water(info)
    return await run_in_threadpool(lambda: service.scada)


def roman(cls: int | None) -> str | None:
    return ROMAN.get(cls) if cls else None


def class_name(cls: int | None) -> str | None:
    return CLASS_NAMES.get(cls) if cls else None


def _rate(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


@strawberry.type(description="Stations of one water-quality class (I…V, 劣V).")
class WaterClassCount:
    water_class: str = strawberry.field(description="I, II, III, IV, V or 劣V", metadata=PUBLIC)
    water_class_number: int = strawberry.field(description="1…6 (6 = 劣Ⅴ)", metadata=PUBLIC)
    stations: int = strawberry.field(metadata=PUBLIC)


@strawberry.type(
    description="Water-quality figures of a water body, or of the district (key null): its "
    "class, and the compliance rate — the share of its sampled stations whose latest class "
    "meets the target class."
)
class WaterBodyFigures:
    key: str | None = strawberry.field(
        description="The river (RIV-…); null: the district", metadata=PUBLIC
    )
    name: str = strawberry.field(metadata=PUBLIC)
    target_class: int | None = strawberry.field(metadata=PUBLIC)
    water_class: str | None = strawberry.field(
        description="By the mean concentrations of its stations' latest samples (fewer than "
        "five sections), else its worst station",
        metadata=PUBLIC,
    )
    water_class_number: int | None = strawberry.field(metadata=PUBLIC)
    quality_status: str | None = strawberry.field(
        description="优 / 良好 / 轻度污染 / 中度污染 / 重度污染", metadata=PUBLIC
    )
    stations: int = strawberry.field(metadata=PUBLIC)
    stations_sampled: int = strawberry.field(metadata=PUBLIC)
    stations_compliant: int = strawberry.field(metadata=PUBLIC)
    compliance_rate: float | None = strawberry.field(
        description="stationsCompliant / stationsSampled (0…1)", metadata=PUBLIC
    )
    samples: int = strawberry.field(
        description="Samples the hub has seen (stored and live)", metadata=PUBLIC
    )
    samples_compliant: int = strawberry.field(metadata=PUBLIC)
    sample_compliance_rate: float | None = strawberry.field(
        description="samplesCompliant / samples (0…1)", metadata=PUBLIC
    )
    by_class: list[WaterClassCount] = strawberry.field(
        description="Stations by the class of their latest sample", metadata=PUBLIC
    )

    @classmethod
    def of(cls, f: BodyFigures, rule: FigureRule = EXACT) -> WaterBodyFigures:
        """A water body's figures; its stations by class as ``rule`` publishes them (counts
        only: classes of fewer stations than k withheld with their complements)."""
        classes, _ = rule.publish(sorted(f.by_class.items()), lambda kv: kv[1])
        return cls(
            key=f.key,
            name=f.name,
            target_class=f.target,
            water_class=roman(f.water_class),
            water_class_number=f.water_class,
            quality_status=f.status,
            stations=f.stations,
            stations_sampled=f.sampled,
            stations_compliant=f.compliant,
            compliance_rate=_rate(f.compliance_rate),
            samples=f.samples,
            samples_compliant=f.samples_compliant,
            sample_compliance_rate=_rate(f.sample_compliance_rate),
            by_class=[
                WaterClassCount(water_class=ROMAN[c], water_class_number=c, stations=n)
                for c, n in classes
            ],
        )


@strawberry.type(description="Water-quality figures per river and for the whole district.")
class WaterQualityStats:
    totals: WaterBodyFigures = strawberry.field(metadata=PUBLIC)
    by_river: list[WaterBodyFigures] = strawberry.field(
        description="Each river, in key order", metadata=PUBLIC
    )


@strawberry.type(description="A river's latest stage against its warning level, live.")
class WaterLevelNow:
    value_m: float = strawberry.field(metadata=INTERNAL)
    at: datetime = strawberry.field(metadata=INTERNAL)
    warning_m: float = strawberry.field(metadata=INTERNAL)
    above_warning_m: float = strawberry.field(
        description="value − warning (negative: below it)", metadata=INTERNAL
    )
    over_warning: bool = strawberry.field(
        description="At or over the warning level", metadata=INTERNAL
    )
    since: datetime | None = strawberry.field(
        description="When it reached the warning level", metadata=INTERNAL
    )

    @classmethod
    def of(cls, level: GaugeLevel) -> WaterLevelNow:
        return cls(
            value_m=round(level.value_m, 4),
            at=level.at,
            warning_m=level.warning_m,
            above_warning_m=round(level.value_m - level.warning_m, 4),
            over_warning=level.over,
            since=level.since,
        )


@strawberry.type(
    description="A river (12 cross Binhai) or other water body, under the river-chief system."
)
class River(RecordNode, Located, Sourced):
    KIND = "River"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (RIV-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    code: str | None = strawberry.field(metadata=PUBLIC)
    water_system: str | None = strawberry.field(description="水系", metadata=PUBLIC)
    function: str | None = strawberry.field(description="行洪、排涝、景观…", metadata=PUBLIC)
    length_in_district_km: float | None = strawberry.field(metadata=PUBLIC)
    river_chief_level: str | None = strawberry.field(description="河长级别", metadata=PUBLIC)
    mouth_gate: str | None = strawberry.field(
        description="The tide gate at its mouth", metadata=PUBLIC
    )
    target_class: int | None = strawberry.field(
        description="Target water-quality class 1…5 (水功能区目标)", metadata=PUBLIC
    )
    target_class_name: str | None = strawberry.field(description="e.g. Ⅳ类", metadata=PUBLIC)
    warning_level_m: float | None = strawberry.field(description="警戒水位", metadata=INTERNAL)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        target = record.attrs.get("target_class")
        return {"target_class": target if isinstance(target, int) else None}

    async def _figures(self, info: strawberry.Info) -> BodyFigures:
        return (await quality_watch(info)).body(str(self.id))

    @strawberry.field(
        description="I…V or 劣V: by the mean concentrations of its stations' latest samples",
        metadata=PUBLIC,
    )
    async def water_class(self, info: strawberry.Info) -> str | None:
        return roman((await self._figures(info)).water_class)

    @strawberry.field(description="1…6 (6 = 劣Ⅴ)", metadata=PUBLIC)
    async def water_class_number(self, info: strawberry.Info) -> int | None:
        return (await self._figures(info)).water_class

    @strawberry.field(description="e.g. Ⅲ类, 劣Ⅴ类", metadata=PUBLIC)
    async def water_class_name(self, info: strawberry.Info) -> str | None:
        return class_name((await self._figures(info)).water_class)

    @strawberry.field(description="Its class meets the target class", metadata=PUBLIC)
    async def compliant(self, info: strawberry.Info) -> bool | None:
        f = await self._figures(info)
        if f.water_class is None or f.target is None:
            return None
        return f.water_class <= f.target

    @strawberry.field(
        description="Share of its sampled stations meeting the target class (0…1)",
        metadata=PUBLIC,
    )
    async def compliance_rate(self, info: strawberry.Info) -> float | None:
        return _rate((await self._figures(info)).compliance_rate)

    @strawberry.field(description="Its water-quality figures in full", metadata=PUBLIC)
    async def quality(self, info: strawberry.Info) -> WaterBodyFigures:
        return WaterBodyFigures.of(await self._figures(info))

    @strawberry.field(description="Its latest stage against the warning level", metadata=INTERNAL)
    async def water_level(self, info: strawberry.Info) -> WaterLevelNow | None:
        level = await gauge_level(info, str(self.id))
        return WaterLevelNow.of(level) if level else None

    history = history_field(WATER_LEVEL, "stage readings (metres)")

    @strawberry.field(description="Its water-quality stations (sections)", metadata=PUBLIC)
    async def stations(self, info: strawberry.Info) -> list[WaterStation]:
        keys = (await quality_watch(info)).of_river(str(self.id))
        return await load_all(info, "WaterStation", keys, WaterStation.from_record)

    @strawberry.field(description="Its gates (tide gates, sluices)", metadata=INTERNAL)
    async def gates(self, info: strawberry.Info) -> list[Gate]:
        keys = [k for k, g in (await scada_watch(info)).gate_river.items() if g == str(self.id)]
        return await load_all(info, "Gate", sorted(keys), Gate.from_record)


@strawberry.type(description="One item of a sample with its GB 3838-2002 class.")
class WaterQualityItem:
    key: str = strawberry.field(
        description="The record attribute, e.g. ammonia_nitrogen_mg_l", metadata=PUBLIC
    )
    code: str = strawberry.field(description="DO, CODMn, COD, BOD5, NH3-N, TP…", metadata=PUBLIC)
    name: str = strawberry.field(description="e.g. 氨氮", metadata=PUBLIC)
    value: float = strawberry.field(metadata=PUBLIC)
    unit: str = strawberry.field(metadata=PUBLIC)
    water_class: str | None = strawberry.field(
        description="The class the value meets; null for items that decide no class (water "
        "temperature, turbidity; total nitrogen in rivers)",
        metadata=PUBLIC,
    )
    water_class_number: int | None = strawberry.field(metadata=PUBLIC)
    target_limit: float | None = strawberry.field(
        description="The limit for the target class (a minimum for DO)", metadata=PUBLIC
    )
    exceeds_target: bool = strawberry.field(metadata=PUBLIC)


def _items(sample: StationSample) -> list[WaterQualityItem]:
    out = []
    for item in sample.classification.items:
        p = BY_KEY.get(item.key)
        target = sample.target
        code = item_code(item.key)
        name = p.name if p else ("pH" if item.key == PH else REPORTED_ONLY.get(item.key, item.key))
        unit = (
            p.unit if p else {"water_temperature_c": "℃", "turbidity_ntu": "NTU"}.get(item.key, "")
        )
        out.append(
            WaterQualityItem(
                key=item.key,
                code=code,
                name=name,
                value=item.value,
                unit=unit,
                water_class=roman(item.water_class),
                water_class_number=item.water_class,
                target_limit=limit_for(item.key, target) if target else None,
                exceeds_target=bool(target and item.water_class and item.water_class > target),
            )
        )
    return out


def _reading(name: str) -> Any:
    """A resolver of one item of the station's latest sample."""

    async def resolve(self: WaterStation, info: strawberry.Info) -> float | None:
        sample = await self._sample(info)
        return sample.values.get(name) if sample else None

    return resolve


@strawberry.type(
    description="A water-quality station (监测断面) on a river; its latest sample is classed "
    "by GB 3838-2002 (the worst of the measured items)."
)
class WaterStation(RecordNode, Located, Sourced):
    KIND = "WaterStation"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (WQS-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    river_key: str | None = strawberry.field(metadata=PUBLIC)
    station_type: str | None = strawberry.field(
        description="自动监测站 / 人工监测断面", metadata=PUBLIC
    )
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        return {"river_key": record.attrs.get("river")}

    async def _sample(self, info: strawberry.Info) -> StationSample | None:
        watch = await quality_watch(info)
        kept = await device_state(info, WATER_QUALITY, str(self.id))
        # as stored: the same in every worker at once; none yet: as loaded from its record
        sample = watch.sample_of(kept) if kept is not None else None
        return sample or watch.latest.get(str(self.id))

    async def _tally(self, info: strawberry.Info) -> SampleTally | None:
        watch = await quality_watch(info)
        kept = await device_state(info, WATER_QUALITY, str(self.id))
        tally = watch.tally_of(kept) if kept is not None else None
        return tally or watch.tally.get(str(self.id))

    @strawberry.field(description="When the latest sample was taken", metadata=PUBLIC)
    async def sampled_at(self, info: strawberry.Info) -> datetime | None:
        sample = await self._sample(info)
        return sample.at if sample else None

    @strawberry.field(description="I…V or 劣V, of the latest sample", metadata=PUBLIC)
    async def water_class(self, info: strawberry.Info) -> str | None:
        sample = await self._sample(info)
        return roman(sample.water_class) if sample else None

    @strawberry.field(description="1…6 (6 = 劣Ⅴ)", metadata=PUBLIC)
    async def water_class_number(self, info: strawberry.Info) -> int | None:
        sample = await self._sample(info)
        return sample.water_class if sample else None

    @strawberry.field(description="e.g. Ⅲ类, 劣Ⅴ类", metadata=PUBLIC)
    async def water_class_name(self, info: strawberry.Info) -> str | None:
        sample = await self._sample(info)
        return class_name(sample.water_class) if sample else None

    @strawberry.field(description="Its river's target class", metadata=PUBLIC)
    async def target_class(self, info: strawberry.Info) -> int | None:
        river = (await quality_watch(info)).river(str(self.id))
        return river.target if river else None

    @strawberry.field(description="The latest sample meets the target class", metadata=PUBLIC)
    async def compliant(self, info: strawberry.Info) -> bool | None:
        sample = await self._sample(info)
        return sample.compliant if sample else None

    @strawberry.field(
        description="The items that decide the class (定类因子), by code", metadata=PUBLIC
    )
    async def deciding_items(self, info: strawberry.Info) -> list[str]:
        sample = await self._sample(info)
        if sample is None:
            return []
        return [item_code(k) for k in sample.classification.worst_items()]

    @strawberry.field(
        description="The items worse than the target class (超标项目), worst first",
        metadata=PUBLIC,
    )
    async def exceeding_items(self, info: strawberry.Info) -> list[str]:
        sample = await self._sample(info)
        if sample is None or sample.target is None:
            return []
        return [item_code(k) for k in sample.classification.exceeding(sample.target)]

    @strawberry.field(description="Every item of the latest sample", metadata=PUBLIC)
    async def items(self, info: strawberry.Info) -> list[WaterQualityItem]:
        sample = await self._sample(info)
        return _items(sample) if sample else []

    ph: float | None = strawberry.field(resolver=_reading(PH), metadata=PUBLIC)
    dissolved_oxygen_mg_l: float | None = strawberry.field(
        resolver=_reading("dissolved_oxygen_mg_l"), metadata=PUBLIC
    )
    permanganate_index_mg_l: float | None = strawberry.field(
        resolver=_reading("permanganate_index_mg_l"), metadata=PUBLIC
    )
    ammonia_nitrogen_mg_l: float | None = strawberry.field(
        resolver=_reading("ammonia_nitrogen_mg_l"), metadata=PUBLIC
    )
    total_phosphorus_mg_l: float | None = strawberry.field(
        resolver=_reading("total_phosphorus_mg_l"), metadata=PUBLIC
    )
    water_temperature_c: float | None = strawberry.field(
        resolver=_reading("water_temperature_c"), metadata=PUBLIC
    )

    @strawberry.field(
        description="Samples the hub has seen, and how many met the target", metadata=PUBLIC
    )
    async def samples(self, info: strawberry.Info) -> int:
        tally = await self._tally(info)
        return tally.samples if tally else 0

    @strawberry.field(metadata=PUBLIC)
    async def samples_compliant(self, info: strawberry.Info) -> int:
        tally = await self._tally(info)
        return tally.compliant if tally else 0

    history = history_field(WATER_QUALITY, "samples (an item's concentration)", SAMPLE_MEASURES)

    @strawberry.field(metadata=PUBLIC)
    async def river(self, info: strawberry.Info) -> River | None:
        if not self.river_key:
            return None
        record = await records(info).load("River", self.river_key)
        return River.from_record(record) if record else None


@strawberry.type(description="A drainage pump station (雨水 / 污水 / 合流 / 排涝泵站), live.")
class PumpStation(RecordNode, Located, Sourced):
    KIND = "PumpStation"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (PUMP-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    station_type: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    pumps: int | None = strawberry.field(description="Pumps installed", metadata=PUBLIC)
    design_flow_m3_s: float | None = strawberry.field(metadata=PUBLIC)
    service_area_km2: float | None = strawberry.field(metadata=PUBLIC)
    scada_tag: str | None = strawberry.field(
        description="Its SCADA point (sensitive: control network)", metadata=SENSITIVE
    )

    async def _state(self, info: strawberry.Info) -> PumpState | None:
        known = (await scada_watch(info)).pumps.get(str(self.id))
        kept = await device_state(info, PUMP_STATE, str(self.id))
        # stored: the same in every worker; none yet: the record's
        return pump_state_of(kept, known) if kept is not None and known else known

    @strawberry.field(description="运行 / 停机 / 检修 / 故障", metadata=INTERNAL)
    async def status(self, info: strawberry.Info) -> str | None:
        state = await self._state(info)
        return state.status if state else None

    @strawberry.field(metadata=INTERNAL)
    async def running_pumps(self, info: strawberry.Info) -> int | None:
        state = await self._state(info)
        return state.running_pumps if state else None

    @strawberry.field(description="Drainage flow now (m³/s)", metadata=INTERNAL)
    async def current_flow_m3_s(self, info: strawberry.Info) -> float | None:
        state = await self._state(info)
        return state.current_flow_m3_s if state else None

    @strawberry.field(metadata=INTERNAL)
    async def inlet_level_m(self, info: strawberry.Info) -> float | None:
        state = await self._state(info)
        return state.inlet_level_m if state else None

    @strawberry.field(metadata=INTERNAL)
    async def outlet_level_m(self, info: strawberry.Info) -> float | None:
        state = await self._state(info)
        return state.outlet_level_m if state else None

    @strawberry.field(description="When SCADA last reported its state", metadata=INTERNAL)
    async def status_at(self, info: strawberry.Info) -> datetime | None:
        state = await self._state(info)
        return state.at if state else None

    history = history_field(PUMP_STATE, "SCADA states", PUMP_MEASURES)


@strawberry.type(description="A gate (防潮闸 tide gate, 节制闸, 分洪闸…) on a river, live.")
class Gate(RecordNode, Located, Sourced):
    KIND = "Gate"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (GATE-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    gate_type: str | None = strawberry.field(metadata=PUBLIC)
    river_key: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    openings: int | None = strawberry.field(description="孔数", metadata=PUBLIC)
    gate_width_m: float | None = strawberry.field(metadata=PUBLIC)
    gate_height_m: float | None = strawberry.field(metadata=PUBLIC)
    design_flow_m3_s: float | None = strawberry.field(metadata=PUBLIC)
    scada_tag: str | None = strawberry.field(
        description="Its SCADA point (sensitive: control network)", metadata=SENSITIVE
    )

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        return {"river_key": record.attrs.get("river")}

    async def _state(self, info: strawberry.Info) -> GateState | None:
        known = (await scada_watch(info)).gates.get(str(self.id))
        kept = await device_state(info, GATE_STATE, str(self.id))
        return gate_state_of(kept, known) if kept is not None and known else known

    @strawberry.field(description="关闭 / 部分开启 / 全开", metadata=INTERNAL)
    async def status(self, info: strawberry.Info) -> str | None:
        state = await self._state(info)
        return state.status if state else None

    @strawberry.field(description="Gate opening (m)", metadata=INTERNAL)
    async def opening_m(self, info: strawberry.Info) -> float | None:
        state = await self._state(info)
        return state.opening_m if state else None

    @strawberry.field(metadata=INTERNAL)
    async def upstream_level_m(self, info: strawberry.Info) -> float | None:
        state = await self._state(info)
        return state.upstream_level_m if state else None

    @strawberry.field(metadata=INTERNAL)
    async def downstream_level_m(self, info: strawberry.Info) -> float | None:
        state = await self._state(info)
        return state.downstream_level_m if state else None

    @strawberry.field(description="When SCADA last reported its state", metadata=INTERNAL)
    async def status_at(self, info: strawberry.Info) -> datetime | None:
        state = await self._state(info)
        return state.at if state else None

    history = history_field(GATE_STATE, "SCADA states", GATE_MEASURES)

    @strawberry.field(metadata=PUBLIC)
    async def river(self, info: strawberry.Info) -> River | None:
        if not self.river_key:
            return None
        record = await records(info).load("River", self.river_key)
        return River.from_record(record) if record else None


@strawberry.type(description="A known urban ponding point (积水点): an underpass or low road.")
class PondingPoint(RecordNode, Located, Sourced):
    KIND = "PondingPoint"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (POND-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    gauge: str | None = strawberry.field(description="Its depth gauge", metadata=INTERNAL)
    warning_depth_cm: float | None = strawberry.field(metadata=PUBLIC)

    async def _level(self, info: strawberry.Info) -> GaugeLevel | None:
        return await gauge_level(info, str(self.id))

    @strawberry.field(description="Water depth on the road now (cm)", metadata=PUBLIC)
    async def depth_cm(self, info: strawberry.Info) -> float | None:
        level = await self._level(info)
        return round(level.value_m * 100, 2) if level else None

    @strawberry.field(description="At or over the warning depth (内涝)", metadata=PUBLIC)
    async def waterlogged(self, info: strawberry.Info) -> bool | None:
        level = await self._level(info)
        return level.over if level else None

    @strawberry.field(metadata=PUBLIC)
    async def waterlogged_since(self, info: strawberry.Info) -> datetime | None:
        level = await self._level(info)
        return level.since if level else None

    @strawberry.field(description="When the gauge last reported", metadata=PUBLIC)
    async def depth_at(self, info: strawberry.Info) -> datetime | None:
        level = await self._level(info)
        return level.at if level else None

    history = history_field(WATER_LEVEL, "depth readings (metres)")


@strawberry.type(
    description="A flood (river at or over its warning level) or waterlogging (ponding at or "
    "over its warning depth) warning in force, live."
)
class FloodWarning:
    kind: str = strawberry.field(description="flood or waterlogging", metadata=INTERNAL)
    subject_type: str = strawberry.field(description="River or PondingPoint", metadata=INTERNAL)
    subject_key: str = strawberry.field(metadata=INTERNAL)
    name: str = strawberry.field(metadata=INTERNAL)
    level_m: float = strawberry.field(
        description="Stage (river) or depth (ponding), metres", metadata=INTERNAL
    )
    threshold_m: float = strawberry.field(metadata=INTERNAL)
    above_m: float = strawberry.field(metadata=INTERNAL)
    since: datetime | None = strawberry.field(metadata=INTERNAL)
    at: datetime = strawberry.field(description="The latest reading", metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=INTERNAL)
    geometry: GeoJSON | None = strawberry.field(metadata=INTERNAL)


@strawberry.type(description="How many are in one status.")
class StatusCount:
    status: str = strawberry.field(metadata=PUBLIC)
    count: int = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="Pump stations and gates by their live status.")
class PumpGateStats:
    pump_stations: int = strawberry.field(metadata=PUBLIC)
    pumps: int = strawberry.field(metadata=PUBLIC)
    running_pumps: int = strawberry.field(metadata=INTERNAL)
    current_flow_m3_s: float = strawberry.field(
        description="Drainage flow now, all stations (m³/s)", metadata=INTERNAL
    )
    design_flow_m3_s: float = strawberry.field(metadata=PUBLIC)
    pump_stations_by_status: list[StatusCount] = strawberry.field(metadata=INTERNAL)
    gates: int = strawberry.field(metadata=PUBLIC)
    gates_by_status: list[StatusCount] = strawberry.field(metadata=INTERNAL)


TYPES: list[type] = [River, WaterStation, PumpStation, Gate, PondingPoint]
