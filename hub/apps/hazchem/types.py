"""The hazardous-chemicals types: firms, sites, tanks with their live levels, warehouse slips
and stock, vehicles with their live positions, violations, forbidden zones and statistics.

Record types are built whole from their records; the policies mask personal fields (safety
officers, drivers, escorts, warehouse operators) when they are served."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry import relay

from hub import state
from hub.apps import kit
from hub.apps.hazchem.services import (
    VEHICLE_FIX,
    ForbiddenZone,
    HazchemServices,
    StockLine,
    VehicleFix,
    VehicleWatch,
    WarehouseStock,
)
from hub.apps.hazchem.tanks import (
    PRESSURE,
    TANK_LEVEL,
    TANK_PRESSURE,
    TANK_TEMPERATURE,
    TEMPERATURE,
    Quantity,
    TankReading,
    TankWatch,
)
from hub.apps.live.history import SPEED, Device, history_field
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
WITHHELD = "null: withheld (counts-only access, fewer firms than its minimum group)"


def hazchem(info: strawberry.Info) -> HazchemServices:
    return kit.service(info, HazchemServices)


@strawberry.type(description="A hazardous substance (UN number, CAS, hazard class GB 12268).")
class HazchemSubstance:
    name: str = strawberry.field(metadata=PUBLIC)
    un_number: str | None = strawberry.field(metadata=PUBLIC)
    cas: str | None = strawberry.field(metadata=PUBLIC)
    hazard_class: str | None = strawberry.field(
        description="UN class / division, e.g. 3, 2.1, 8", metadata=PUBLIC
    )
    hazard_class_name: str | None = strawberry.field(description="e.g. 易燃液体", metadata=PUBLIC)

    @classmethod
    def of(cls, attrs: Any) -> HazchemSubstance:
        a = attrs if isinstance(attrs, dict) else {}
        return cls(
            name=str(a.get("name") or ""),
            un_number=a.get("un_number"),
            cas=a.get("cas"),
            hazard_class=a.get("hazard_class"),
            hazard_class_name=a.get("hazard_class_name"),
        )


@strawberry.federation.type(
    keys=["id", "key"],
    description="A hazardous-chemicals firm (生产 production, 物流运输 logistics, 仓储 "
    "warehousing). The safety officer's name and phone are personal data.",
)
class HazchemFirm(RecordNode, Located, Sourced):
    KIND = "HazchemFirm"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    uscc: str | None = strawberry.field(description="Unified social credit code", metadata=PUBLIC)
    category: str = strawberry.field(
        description="production, logistics or warehousing", metadata=PUBLIC
    )
    category_name: str | None = strawberry.field(
        description="生产 / 物流运输 / 仓储", metadata=PUBLIC
    )
    park: str | None = strawberry.field(
        description="Key of its industrial park (PARK-…), none outside the parks",
        metadata=PUBLIC,
    )
    address: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    license_no: str | None = strawberry.field(metadata=INTERNAL)
    license_valid_until: date | None = strawberry.field(metadata=INTERNAL)
    safety_standardization_level: str | None = strawberry.field(metadata=INTERNAL)
    major_hazard_level: str | None = strawberry.field(
        description="重大危险源等级 一级…四级, none if not a major hazard", metadata=INTERNAL
    )
    employees: int | None = strawberry.field(metadata=INTERNAL)
    substances: list[HazchemSubstance] = strawberry.field(metadata=PUBLIC)
    annual_throughput_t: float | None = strawberry.field(metadata=INTERNAL)
    hidden_hazards_open: int | None = strawberry.field(
        description="Hidden hazards (隐患) not yet rectified", metadata=INTERNAL
    )
    hidden_hazards_closed_12m: int | None = strawberry.field(metadata=INTERNAL)
    last_inspection: date | None = strawberry.field(metadata=INTERNAL)
    safety_officer: str | None = strawberry.field(
        description="Safety officer (personal data)", metadata=classified("personal", "name")
    )
    safety_officer_phone: str | None = strawberry.field(
        description="Safety officer's phone (personal data)",
        metadata=classified("personal", "phone"),
    )
    site_key: strawberry.Private[str | None]

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        a = record.attrs
        return {
            "substances": [HazchemSubstance.of(s) for s in a.get("substances") or []],
            "site_key": a.get("site"),
        }

    @strawberry.field(
        description="Its site (plant, tank farm, warehouse or yard)", metadata=INTERNAL
    )
    async def site(self, info: strawberry.Info) -> HazchemSite | None:
        if not self.site_key:
            return None
        record = await records(info).load("HazchemSite", self.site_key)
        return HazchemSite.from_record(record) if record else None

    @strawberry.field(description="Its vehicles (logistics firms)", metadata=INTERNAL)
    async def vehicles(self, info: strawberry.Info) -> list[HazchemVehicle]:
        keys = (await vehicle_watch(info)).fleets.get(str(self.id), [])
        return await load_all(info, "HazchemVehicle", keys, HazchemVehicle.from_record)


@strawberry.federation.type(
    keys=["id", "key"], description="A hazchem site: 生产厂区, 罐区, 仓库 or 危险品车辆停车场."
)
class HazchemSite(RecordNode, Located, Sourced):
    KIND = "HazchemSite"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    site_type: str = strawberry.field(
        description="生产厂区 / 罐区 / 仓库 / 危险品车辆停车场", metadata=PUBLIC
    )
    park: str | None = strawberry.field(metadata=PUBLIC)
    address: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    area_m2: float | None = strawberry.field(metadata=INTERNAL)
    major_hazard_level: str | None = strawberry.field(metadata=INTERNAL)
    hazard_classes: list[str] = strawberry.field(metadata=PUBLIC)
    tank_count: int = strawberry.field(metadata=INTERNAL)
    storage_capacity_t: float | None = strawberry.field(metadata=INTERNAL)
    firm_key: strawberry.Private[str | None]

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        a = record.attrs
        return {"tank_count": int(a.get("tanks") or 0), "firm_key": a.get("firm")}

    @strawberry.field(metadata=INTERNAL)
    async def firm(self, info: strawberry.Info) -> HazchemFirm | None:
        if not self.firm_key:
            return None
        record = await records(info).load("HazchemFirm", self.firm_key)
        return HazchemFirm.from_record(record) if record else None

    @strawberry.field(description="Its storage tanks", metadata=INTERNAL)
    async def tanks(self, info: strawberry.Info) -> list[Tank]:
        keys = (await tank_watch(info)).of_site(str(self.id))
        return await load_all(info, "Tank", keys, Tank.from_record)


@strawberry.type(description="A tank's liquid-level alarm limits (m; rate in m per minute).")
class TankLimitsInfo:
    low_m: float | None = strawberry.field(metadata=INTERNAL)
    high_m: float | None = strawberry.field(metadata=INTERNAL)
    high_high_m: float | None = strawberry.field(metadata=INTERNAL)
    max_rate_m_per_min: float | None = strawberry.field(metadata=INTERNAL)
    stale_after_s: float | None = strawberry.field(metadata=INTERNAL)


@strawberry.type(description="A tank's latest liquid level and its alarm state, live.")
class TankLevelNow:
    value_m: float = strawberry.field(metadata=INTERNAL)
    percent: float | None = strawberry.field(
        description="Of the level height (the height, or the diameter of a horizontal tank)",
        metadata=INTERNAL,
    )
    at: datetime = strawberry.field(metadata=INTERNAL)
    rate_m_per_min: float | None = strawberry.field(
        description="Change per minute since the reading before", metadata=INTERNAL
    )
    alarms: list[str] = strawberry.field(
        description="Threshold alarms in force: high_high, high, low", metadata=INTERNAL
    )
    alarm_since: datetime | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, level: TankReading) -> TankLevelNow:
        return cls(
            value_m=level.value,
            percent=level.percent,
            at=level.at,
            rate_m_per_min=level.rate_per_min,
            alarms=list(level.active),
            alarm_since=level.since,
        )


@strawberry.type(
    description="A tank's temperature (°C) or pressure (kPa, gauge) alarm limits: low, high, "
    "high-high, the largest change per minute, and the silence after which its sensor is stale"
)
class TankGaugeLimits:
    unit: str = strawberry.field(metadata=INTERNAL)
    low: float | None = strawberry.field(metadata=INTERNAL)
    high: float | None = strawberry.field(metadata=INTERNAL)
    high_high: float | None = strawberry.field(metadata=INTERNAL)
    max_rate_per_min: float | None = strawberry.field(metadata=INTERNAL)
    stale_after_s: float | None = strawberry.field(metadata=INTERNAL)


@strawberry.type(description="A tank's latest temperature or pressure and its alarm state, live.")
class TankGaugeNow:
    value: float = strawberry.field(description="In `unit`", metadata=INTERNAL)
    unit: str = strawberry.field(description="°C or kPa (gauge)", metadata=INTERNAL)
    at: datetime = strawberry.field(metadata=INTERNAL)
    rate_per_min: float | None = strawberry.field(
        description="Change per minute since the reading before", metadata=INTERNAL
    )
    alarms: list[str] = strawberry.field(
        description="Threshold alarms in force: high_high, high, low", metadata=INTERNAL
    )
    alarm_since: datetime | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, reading: TankReading, unit: str) -> TankGaugeNow:
        return cls(
            value=reading.value,
            unit=unit,
            at=reading.at,
            rate_per_min=reading.rate_per_min,
            alarms=list(reading.active),
            alarm_since=reading.since,
        )


def _finite(value: float) -> float | None:
    return None if value != value else value  # NaN: no such limit


async def _latest(info: strawberry.Info, kind: str, key: str) -> TankReading | None:
    """A tank's latest reading of one quantity: stored (the same in every worker), else —
    none through the hub yet — its sensor's last value."""
    watch = await tank_watch(info, kind)
    kept = await device_state(info, kind, key)
    return watch.reading_of(kept) if kept is not None else watch.reading(key)


def _gauge_field(quantity: Quantity, what: str) -> Any:
    """A tank's field of its latest ``quantity`` reading and that quantity's alarm state."""

    async def resolve(root: Device, info: strawberry.Info) -> TankGaugeNow | None:
        reading = await _latest(info, quantity.kind, str(root.id))
        return TankGaugeNow.of(reading, quantity.unit) if reading else None

    return strawberry.field(
        resolver=resolve, description=f"The latest {what} and its alarm state", metadata=INTERNAL
    )


def _gauge_limits_field(quantity: Quantity, what: str) -> Any:
    """A tank's field of the ``quantity`` alarm limits the hub applies to it."""

    async def resolve(root: Device, info: strawberry.Info) -> TankGaugeLimits | None:
        spec = (await tank_watch(info, quantity.kind)).specs.get(str(root.id))
        if spec is None:
            return None
        lim = spec.limits
        return TankGaugeLimits(
            unit=quantity.unit,
            low=_finite(lim.low),
            high=_finite(lim.high),
            high_high=_finite(lim.high_high),
            max_rate_per_min=_finite(lim.max_rate_per_min),
            stale_after_s=_finite(lim.stale_after_s),
        )

    return strawberry.field(
        resolver=resolve,
        description=f"The {what} alarm limits the hub applies",
        metadata=INTERNAL,
    )


@strawberry.federation.type(
    keys=["id", "key"],
    description="A storage tank with its temperature / pressure / level sensors.",
)
class Tank(RecordNode, Located, Sourced):
    KIND = "Tank"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key", metadata=PUBLIC)
    tank_no: str | None = strawberry.field(metadata=INTERNAL)
    tank_type: str | None = strawberry.field(
        description="内浮顶罐, 球罐, 全容式低温储罐, …", metadata=INTERNAL
    )
    storage: str | None = strawberry.field(
        description="atmospheric, pressurized or refrigerated", metadata=INTERNAL
    )
    capacity_m3: float | None = strawberry.field(metadata=INTERNAL)
    diameter_m: float | None = strawberry.field(metadata=INTERNAL)
    height_m: float | None = strawberry.field(metadata=INTERNAL)
    substance: HazchemSubstance = strawberry.field(metadata=INTERNAL)
    design_pressure_kpa: float | None = strawberry.field(metadata=INTERNAL)
    commissioned: date | None = strawberry.field(metadata=INTERNAL)
    status: str | None = strawberry.field(description="在用 / 停用 / 检修", metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    site_key: str | None = strawberry.field(metadata=INTERNAL)
    firm_key: str | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        a = record.attrs
        return {
            "substance": HazchemSubstance.of(a.get("substance")),
            "site_key": a.get("site"),
            "firm_key": a.get("firm"),
        }

    @strawberry.field(description="The level alarm limits the hub applies", metadata=INTERNAL)
    async def limits(self, info: strawberry.Info) -> TankLimitsInfo | None:
        spec = (await tank_watch(info)).specs.get(str(self.id))
        if spec is None:
            return None
        lim = spec.limits
        return TankLimitsInfo(
            low_m=_finite(lim.low),
            high_m=_finite(lim.high),
            high_high_m=_finite(lim.high_high),
            max_rate_m_per_min=_finite(lim.max_rate_per_min),
            stale_after_s=_finite(lim.stale_after_s),
        )

    @strawberry.field(description="The latest level reading and alarm state", metadata=INTERNAL)
    async def level(self, info: strawberry.Info) -> TankLevelNow | None:
        level = await _latest(info, TANK_LEVEL, str(self.id))
        return TankLevelNow.of(level) if level else None

    temperature = _gauge_field(TEMPERATURE, "temperature (°C)")
    pressure = _gauge_field(PRESSURE, "pressure (kPa, gauge)")
    temperature_limits = _gauge_limits_field(TEMPERATURE, "temperature (°C)")
    pressure_limits = _gauge_limits_field(PRESSURE, "pressure (kPa, gauge)")

    history = history_field(TANK_LEVEL, "level readings (metres)")
    temperature_history = history_field(TANK_TEMPERATURE, "temperature readings (°C)")
    pressure_history = history_field(TANK_PRESSURE, "pressure readings (kPa, gauge)")

    @strawberry.field(metadata=INTERNAL)
    async def site(self, info: strawberry.Info) -> HazchemSite | None:
        if not self.site_key:
            return None
        record = await records(info).load("HazchemSite", self.site_key)
        return HazchemSite.from_record(record) if record else None


@strawberry.type(
    description="A real-name warehouse check-in / check-out slip (出入库单). The operator's "
    "name and ID number are personal data."
)
class StockMovement(RecordNode, Sourced):
    KIND = "StockMovement"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key", metadata=PUBLIC)
    site_key: str | None = strawberry.field(metadata=INTERNAL)
    firm_key: str | None = strawberry.field(metadata=INTERNAL)
    direction: str = strawberry.field(description="in or out", metadata=INTERNAL)
    substance: HazchemSubstance = strawberry.field(metadata=INTERNAL)
    quantity_t: float = strawberry.field(metadata=INTERNAL)
    packages: int | None = strawberry.field(metadata=INTERNAL)
    operator: str | None = strawberry.field(
        description="Who checked it in or out (personal data)",
        metadata=classified("personal", "name"),
    )
    operator_id_number: str | None = strawberry.field(
        description="Their resident ID number (personal data)",
        metadata=classified("personal", "id_number"),
    )
    slip_issued_at: datetime | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        a = record.attrs
        return {
            "substance": HazchemSubstance.of(a.get("substance")),
            "site_key": a.get("site"),
            "firm_key": a.get("firm"),
        }


@strawberry.type(description="One fix of a vehicle's GPS terminal.")
class VehiclePosition:
    at: datetime = strawberry.field(metadata=INTERNAL)
    lon: float = strawberry.field(metadata=INTERNAL)
    lat: float = strawberry.field(metadata=INTERNAL)
    speed_kmh: float | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, fix: VehicleFix) -> VehiclePosition:
        return cls(at=fix.at, lon=fix.lon, lat=fix.lat, speed_kmh=fix.speed_kmh)


@strawberry.type(description="A zone hazardous-chemicals vehicles must not enter.")
class HazchemForbiddenZone:
    id: str = strawberry.field(metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    reason: str = strawberry.field(description="school or river", metadata=PUBLIC)
    subject_key: str = strawberry.field(
        description="The school-gate camera or river it is drawn around", metadata=PUBLIC
    )
    buffer_m: float = strawberry.field(metadata=PUBLIC)
    geometry: GeoJSON = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, zone: ForbiddenZone) -> HazchemForbiddenZone:
        return cls(
            id=zone.id,
            name=zone.name,
            reason=zone.reason,
            subject_key=zone.subject_key,
            buffer_m=zone.buffer_m,
            geometry=GeoJSON(zone.geometry),
        )


@strawberry.federation.type(
    keys=["id", "key"],
    description="A hazardous-chemicals vehicle (2,673 carry monitoring terminals). Drivers' "
    "and escorts' names and phones are personal data.",
)
class HazchemVehicle(RecordNode, Located, Sourced):
    KIND = "HazchemVehicle"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key", metadata=PUBLIC)
    plate: str = strawberry.field(metadata=INTERNAL)
    plate_color: str | None = strawberry.field(metadata=INTERNAL)
    vehicle_type: str | None = strawberry.field(metadata=INTERNAL)
    owner_firm: str | None = strawberry.field(metadata=INTERNAL)
    hazard_class: str | None = strawberry.field(metadata=INTERNAL)
    hazard_class_name: str | None = strawberry.field(metadata=INTERNAL)
    cargo: HazchemSubstance = strawberry.field(metadata=INTERNAL)
    load_t: float | None = strawberry.field(metadata=INTERNAL)
    transport_permit: str | None = strawberry.field(metadata=INTERNAL)
    gps_terminal: str | None = strawberry.field(metadata=INTERNAL)
    driver: str | None = strawberry.field(
        description="Driver (personal data)", metadata=classified("personal", "name")
    )
    driver_phone: str | None = strawberry.field(metadata=classified("personal", "phone"))
    escort: str | None = strawberry.field(
        description="Escort (押运员, personal data)", metadata=classified("personal", "name")
    )
    escort_phone: str | None = strawberry.field(metadata=classified("personal", "phone"))
    status: str | None = strawberry.field(
        description="行驶 / 停车 / 离线 as registered", metadata=INTERNAL
    )
    heading_deg: float | None = strawberry.field(metadata=INTERNAL)
    street: str | None = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=INTERNAL)
    overspeed_30d: int | None = strawberry.field(metadata=INTERNAL)
    fatigue_driving_30d: int | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        return {"cargo": HazchemSubstance.of(record.attrs.get("cargo"))}

    @strawberry.field(description="Its latest position, live", metadata=INTERNAL)
    async def position(self, info: strawberry.Info) -> VehiclePosition | None:
        kept = await device_state(info, VEHICLE_FIX, str(self.id))
        if kept is not None and kept.point is not None:  # stored: the same in every worker
            speed = kept.state.get("speedKmh")
            lon, lat = kept.point
            return VehiclePosition(at=kept.at, lon=lon, lat=lat, speed_kmh=speed)
        fix = (await vehicle_watch(info)).position(str(self.id))  # the GPS platform's last
        return VehiclePosition.of(fix) if fix else None

    @strawberry.field(
        description="Its most recent fixes, oldest first (the hub keeps the last 256)",
        metadata=INTERNAL,
    )
    async def trajectory(self, info: strawberry.Info, last: int = 100) -> list[VehiclePosition]:
        if not 1 <= last <= 256:
            raise ValueError("last must be between 1 and 256")
        engine = info.context.hub.store.engine
        stored = await run_in_threadpool(state.recent, engine, VEHICLE_FIX, str(self.id), last)
        if stored:
            return [
                VehiclePosition(at=f.at, lon=p[0], lat=p[1], speed_kmh=f.values.get("speedKmh"))
                for f in stored
                if (p := f.point) is not None
            ]
        fixes = (await vehicle_watch(info)).trajectory(str(self.id), last)
        return [VehiclePosition.of(f) for f in fixes]

    history = history_field(VEHICLE_FIX, "fixes (their speed, km/h)", SPEED)

    @strawberry.field(description="The forbidden zones it is in now", metadata=INTERNAL)
    async def in_forbidden_zones(self, info: strawberry.Info) -> list[HazchemForbiddenZone]:
        watch = await vehicle_watch(info)
        kept = await device_state(info, VEHICLE_FIX, str(self.id))
        zones = watch.zones_of(kept) if kept is not None else watch.inside(str(self.id))
        return [HazchemForbiddenZone.of(z) for z in zones]

    @strawberry.field(metadata=INTERNAL)
    async def owner(self, info: strawberry.Info) -> HazchemFirm | None:
        if not self.owner_firm:
            return None
        record = await records(info).load("HazchemFirm", self.owner_firm)
        return HazchemFirm.from_record(record) if record else None


@strawberry.type(
    description="A vehicle's violation: entering a forbidden zone (geofence.forbidden) or "
    "speeding (vehicle.speeding), as raised from its fixes."
)
class HazchemViolation:
    id: str = strawberry.field(metadata=INTERNAL)
    kind: str = strawberry.field(
        description="geofence.forbidden or vehicle.speeding", metadata=INTERNAL
    )
    vehicle_key: str = strawberry.field(metadata=INTERNAL)
    zone: str | None = strawberry.field(
        description="The forbidden zone entered (geofence.forbidden)", metadata=INTERNAL
    )
    message: str = strawberry.field(metadata=INTERNAL)
    at: datetime = strawberry.field(metadata=INTERNAL)
    speed_kmh: float | None = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=INTERNAL)
    geometry: GeoJSON | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def from_record(cls, record: Record) -> HazchemViolation:
        a = record.attrs
        source = a.get("source")
        return cls(
            id=record.key,
            kind=str(a["kind"]),
            vehicle_key=str(a["subject_key"]),
            zone=source if a["kind"] == "geofence.forbidden" else None,
            message=str(a.get("message") or ""),
            at=datetime.fromisoformat(a["at"]),
            speed_kmh=a.get("value"),
            grid_cell=a.get("grid_cell"),
            geometry=GeoJSON(record.geometry) if record.geometry else None,
        )


@strawberry.type(description="Figures of one group: a firm category, an industrial park, all.")
class HazchemGroupStats:
    key: str | None = strawberry.field(
        description="Category (production…) or park key (PARK-…); none: outside the parks "
        "(by park) or the whole district (totals)",
        metadata=PUBLIC,
    )
    name: str = strawberry.field(metadata=PUBLIC)
    firms: int = strawberry.field(metadata=PUBLIC)
    production: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    logistics: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    warehousing: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    sites: int = strawberry.field(metadata=PUBLIC)
    tanks: int = strawberry.field(metadata=PUBLIC)
    storage_capacity_t: float = strawberry.field(metadata=INTERNAL)
    vehicles: int = strawberry.field(
        description="Vehicles owned by the group's firms", metadata=PUBLIC
    )
    major_hazard_firms: int | None = strawberry.field(description=WITHHELD, metadata=INTERNAL)
    hidden_hazards_open: int = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, g: dict[str, Any]) -> HazchemGroupStats:
        return cls(**g | {"storage_capacity_t": round(g["storage_capacity_t"], 3)})


@strawberry.type(description="Hazchem statistics by firm category and by industrial park.")
class HazchemStats:
    totals: HazchemGroupStats = strawberry.field(metadata=PUBLIC)
    by_category: list[HazchemGroupStats] = strawberry.field(metadata=PUBLIC)
    by_park: list[HazchemGroupStats] = strawberry.field(
        description="Each park, then the firms outside every park (key null)", metadata=PUBLIC
    )
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Groups withheld (counts-only access): of fewer firms than the policy's "
        "minimum group, and those that would give them away",
        metadata=PUBLIC,
    )


@strawberry.type(description="Stock of one hazard class: tonnes in, out, and in − out.")
class HazchemStockLine:
    hazard_class: str = strawberry.field(metadata=INTERNAL)
    hazard_class_name: str = strawberry.field(metadata=INTERNAL)
    in_t: float = strawberry.field(metadata=INTERNAL)
    out_t: float = strawberry.field(metadata=INTERNAL)
    balance_t: float = strawberry.field(description="in − out", metadata=INTERNAL)
    slips: int = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, line: StockLine) -> HazchemStockLine:
        return cls(
            hazard_class=line.hazard_class,
            hazard_class_name=line.hazard_class_name,
            in_t=round(line.in_t, 3),
            out_t=round(line.out_t, 3),
            balance_t=round(line.balance_t, 3),
            slips=line.slips,
        )


@strawberry.type(description="A warehouse's stock (or all warehouses') by hazard class.")
class HazchemWarehouseStock:
    site_key: str | None = strawberry.field(
        description="The warehouse; null for all warehouses together", metadata=INTERNAL
    )
    in_t: float = strawberry.field(metadata=INTERNAL)
    out_t: float = strawberry.field(metadata=INTERNAL)
    balance_t: float = strawberry.field(metadata=INTERNAL)
    slips: int = strawberry.field(metadata=INTERNAL)
    by_category: list[HazchemStockLine] = strawberry.field(
        description="By hazard class of the chemical", metadata=INTERNAL
    )

    @classmethod
    def of(
        cls, stock: WarehouseStock, lines: list[StockLine] | None = None
    ) -> HazchemWarehouseStock:
        """The stock's totals, and its hazard classes (``lines``: those published, when the
        counts-only rule withheld some; the totals still count them)."""
        return cls(
            site_key=stock.site,
            in_t=round(stock.in_t, 3),
            out_t=round(stock.out_t, 3),
            balance_t=round(stock.in_t - stock.out_t, 3),
            slips=stock.slips,
            by_category=[HazchemStockLine.of(x) for x in (stock.lines if lines is None else lines)],
        )

    @strawberry.field(metadata=INTERNAL)
    async def site(self, info: strawberry.Info) -> HazchemSite | None:
        if not self.site_key:
            return None
        record = await records(info).load("HazchemSite", self.site_key)
        return HazchemSite.from_record(record) if record else None


async def tank_watch(info: strawberry.Info, kind: str = TANK_LEVEL) -> TankWatch:
    service = hazchem(info)
    # first use loads from the store
    return await run_in_threadpool(service.tank_watch, kind)


async def vehicle_watch(info: strawberry.Info) -> VehicleWatch:
    service = hazchem(info)
    return await run_in_threadpool(lambda: service.vehicles)


TYPES: list[type] = [HazchemFirm, HazchemSite, Tank, StockMovement, HazchemVehicle]
