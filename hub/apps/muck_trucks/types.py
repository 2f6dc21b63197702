"""The muck-truck types: trucks with their live positions and permits, construction sites,
dumping sites, violations and statistics.

Record types are built whole from their records; the policies mask the drivers' names and
phones (personal data) when they are served."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry import relay

from hub import state
from hub.apps import kit
from hub.apps.live.history import SPEED, history_field
from hub.apps.muck_trucks.services import (
    MUCK_FIX,
    MuckPermit,
    MuckServices,
    TruckFix,
    TruckWatch,
    window_text,
)
from hub.state.loader import device_state
from schema.classification import classified
from schema.context import records
from schema.interfaces import Located, Sourced
from schema.nodes import RecordNode
from schema.record import Record
from schema.scalars import GeoJSON

PUBLIC = classified("public")
INTERNAL = classified("internal")


def muck(info: strawberry.Info) -> MuckServices:
    return kit.service(info, MuckServices)


async def truck_watch(info: strawberry.Info) -> TruckWatch:
    service = muck(info)
    return await run_in_threadpool(lambda: service.trucks)  # first use loads from the store


@strawberry.type(description="A construction site (工地) whose spoil the muck trucks carry.")
class ConstructionSite(RecordNode, Located, Sourced):
    KIND = "ConstructionSite"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (CS-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    project_type: str | None = strawberry.field(
        description="住宅, 市政道路, 地铁, …", metadata=PUBLIC
    )
    builder: str | None = strawberry.field(description="Key of the builder", metadata=PUBLIC)
    builder_name: str | None = strawberry.field(metadata=PUBLIC)
    address: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    permit_no: str | None = strawberry.field(
        description="Construction permit (施工许可证号)", metadata=PUBLIC
    )
    start_date: date | None = strawberry.field(metadata=PUBLIC)
    planned_completion: date | None = strawberry.field(metadata=PUBLIC)
    status: str | None = strawberry.field(description="在建 / 停工 / 竣工验收", metadata=PUBLIC)
    earthwork_m3: float | None = strawberry.field(metadata=INTERNAL)
    muck_removed_m3: float | None = strawberry.field(metadata=INTERNAL)
    dust_pm10_ug_m3: float | None = strawberry.field(metadata=INTERNAL)
    dust_alarm: bool | None = strawberry.field(metadata=INTERNAL)
    fence_complete: bool | None = strawberry.field(metadata=INTERNAL)
    wheel_washing: bool | None = strawberry.field(metadata=INTERNAL)
    video_online: bool | None = strawberry.field(metadata=INTERNAL)


@strawberry.type(description="A registered dumping site (渣土消纳场).")
class DumpingSite(RecordNode, Located, Sourced):
    KIND = "DumpingSite"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (DUMP-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    capacity_m3: float | None = strawberry.field(metadata=PUBLIC)
    used_m3: float | None = strawberry.field(metadata=PUBLIC)
    status: str | None = strawberry.field(description="开放 / 关闭 / 已满", metadata=PUBLIC)
    accepts: list[str] = strawberry.field(
        description="建筑渣土, 工程泥浆, 拆除垃圾, 装修垃圾", metadata=PUBLIC
    )
    open_hours: str | None = strawberry.field(
        description="e.g. 20:00-06:00 or 全天; the permits' time windows", metadata=PUBLIC
    )


@strawberry.type(description="One fix of a muck truck's GPS terminal.")
class MuckTruckPosition:
    at: datetime = strawberry.field(metadata=INTERNAL)
    lon: float = strawberry.field(metadata=INTERNAL)
    lat: float = strawberry.field(metadata=INTERNAL)
    speed_kmh: float | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, fix: TruckFix) -> MuckTruckPosition:
        return cls(at=fix.at, lon=fix.lon, lat=fix.lat, speed_kmh=fix.speed_kmh)


@strawberry.type(
    description="A truck's transport permit (核准): its site, its dump, the hours (the dump's "
    "opening hours) and the corridor it must keep to — the straight route site → dump "
    "widened by ±300 m, joined with both footprints (the data has no road network)."
)
class MuckPermitInfo:
    number: str | None = strawberry.field(description="e.g. 津滨渣准字…", metadata=INTERNAL)
    site_key: str | None = strawberry.field(metadata=INTERNAL)
    dump_key: str | None = strawberry.field(metadata=INTERNAL)
    windows: list[str] = strawberry.field(
        description="Local (UTC+8) hours, e.g. 20:00-06:00; empty: any hour", metadata=INTERNAL
    )
    corridor: GeoJSON | None = strawberry.field(metadata=INTERNAL)
    route: GeoJSON | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, p: MuckPermit) -> MuckPermitInfo:
        return cls(
            number=p.number,
            site_key=p.site,
            dump_key=p.dump,
            windows=[window_text(w) for w in p.windows],
            corridor=GeoJSON(p.corridor) if p.corridor else None,
            route=GeoJSON(p.route) if p.route else None,
        )


@strawberry.type(description="A truck's violations in the last 30 days, as registered.")
class MuckViolationCounts:
    overspeed: int = strawberry.field(metadata=INTERNAL)
    route_deviation: int = strawberry.field(metadata=INTERNAL)
    uncovered_load: int = strawberry.field(metadata=INTERNAL)
    night_ban: int = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, v: dict[str, Any]) -> MuckViolationCounts:
        return cls(
            overspeed=int(v.get("overspeed") or 0),
            route_deviation=int(v.get("route_deviation") or 0),
            uncovered_load=int(v.get("uncovered_load") or 0),
            night_ban=int(v.get("night_ban") or 0),
        )


@strawberry.federation.type(
    keys=["id", "key"],
    description="A muck truck (渣土车) with its permit and live position. The driver's name "
    "and phone are personal data.",
)
class MuckTruck(RecordNode, Located, Sourced):
    KIND = "MuckTruck"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (MUCK-…)", metadata=PUBLIC)
    plate: str = strawberry.field(metadata=INTERNAL)
    company: str | None = strawberry.field(description="Key of the transport firm", metadata=PUBLIC)
    company_name: str | None = strawberry.field(metadata=PUBLIC)
    capacity_t: float | None = strawberry.field(metadata=INTERNAL)
    closed_body: bool | None = strawberry.field(
        description="A sealed (密闭) body", metadata=INTERNAL
    )
    gps_terminal: str | None = strawberry.field(metadata=INTERNAL)
    transport_permit: str | None = strawberry.field(metadata=INTERNAL)
    permitted_site: str | None = strawberry.field(metadata=INTERNAL)
    permitted_dump: str | None = strawberry.field(metadata=INTERNAL)
    driver: str | None = strawberry.field(
        description="Driver (personal data)", metadata=classified("personal", "name")
    )
    driver_phone: str | None = strawberry.field(
        description="Driver's phone (personal data)", metadata=classified("personal", "phone")
    )
    status: str | None = strawberry.field(
        description="运输中 / 停驻 / 离线 as registered", metadata=INTERNAL
    )
    speed_kmh: float | None = strawberry.field(description="As registered", metadata=INTERNAL)
    heading_deg: float | None = strawberry.field(metadata=INTERNAL)
    last_gps_at: datetime | None = strawberry.field(metadata=INTERNAL)
    street: str | None = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=INTERNAL)
    violations_30d: MuckViolationCounts | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        v = record.attrs.get("violations_30d")
        return {"violations_30d": MuckViolationCounts.of(v) if isinstance(v, dict) else None}

    @strawberry.field(description="Its latest position, live", metadata=INTERNAL)
    async def position(self, info: strawberry.Info) -> MuckTruckPosition | None:
        kept = await device_state(info, MUCK_FIX, str(self.id))
        if kept is not None and kept.point is not None:  # stored: the same in every worker
            lon, lat = kept.point
            speed = kept.state.get("speedKmh")
            return MuckTruckPosition(at=kept.at, lon=lon, lat=lat, speed_kmh=speed)
        fix = (await truck_watch(info)).position(str(self.id))  # as loaded from the records
        return MuckTruckPosition.of(fix) if fix else None

    @strawberry.field(
        description="Its most recent fixes, oldest first (the hub keeps the last 256)",
        metadata=INTERNAL,
    )
    async def trajectory(self, info: strawberry.Info, last: int = 100) -> list[MuckTruckPosition]:
        if not 1 <= last <= 256:
            raise ValueError("last must be between 1 and 256")
        engine = info.context.hub.store.engine
        stored = await run_in_threadpool(state.recent, engine, MUCK_FIX, str(self.id), last)
        if stored:
            return [
                MuckTruckPosition(at=f.at, lon=p[0], lat=p[1], speed_kmh=f.values.get("speedKmh"))
                for f in stored
                if (p := f.point) is not None
            ]
        fixes = (await truck_watch(info)).trajectory(str(self.id), last)
        return [MuckTruckPosition.of(f) for f in fixes]

    history = history_field(MUCK_FIX, "fixes (their speed, km/h)", SPEED)

    @strawberry.field(
        description="The corridor rule its latest fix breaks: muck.off_route or "
        "muck.wrong_hours; null when it keeps to its permit (or is at work in its site or dump)",
        metadata=INTERNAL,
    )
    async def violation(self, info: strawberry.Info) -> str | None:
        return await self._violation(info)

    @strawberry.field(description="Whether it breaks its permit now", metadata=INTERNAL)
    async def in_violation(self, info: strawberry.Info) -> bool:
        return await self._violation(info) is not None

    async def _violation(self, info: strawberry.Info) -> str | None:
        watch = await truck_watch(info)
        kept = await device_state(info, MUCK_FIX, str(self.id))
        # as stored with its last fix: the same in every worker; none yet: as loaded
        return watch.violation_of(kept) if kept is not None else watch.in_violation(str(self.id))

    @strawberry.field(
        description="Loaded: seen in its construction site since it last stood in a dump",
        metadata=INTERNAL,
    )
    async def loaded(self, info: strawberry.Info) -> bool | None:
        kept = await device_state(info, MUCK_FIX, str(self.id))
        if kept is not None and "loaded" in kept.state:  # as stored with its last fix
            return bool(kept.state["loaded"])
        return (await truck_watch(info)).loaded(str(self.id))

    @strawberry.field(description="Its permit, hours and corridor", metadata=INTERNAL)
    async def permit(self, info: strawberry.Info) -> MuckPermitInfo | None:
        p = (await truck_watch(info)).permit(str(self.id))
        return MuckPermitInfo.of(p) if p else None

    @strawberry.field(description="The construction site it serves", metadata=INTERNAL)
    async def site(self, info: strawberry.Info) -> ConstructionSite | None:
        if not self.permitted_site:
            return None
        record = await records(info).load("ConstructionSite", self.permitted_site)
        return ConstructionSite.from_record(record) if record else None

    @strawberry.field(description="The dumping site it may unload at", metadata=INTERNAL)
    async def dump(self, info: strawberry.Info) -> DumpingSite | None:
        if not self.permitted_dump:
            return None
        record = await records(info).load("DumpingSite", self.permitted_dump)
        return DumpingSite.from_record(record) if record else None


@strawberry.type(
    description="A muck truck's violation, raised from its fixes: off route "
    "(muck.off_route), wrong hours (muck.wrong_hours) or unregistered dumping "
    "(muck.unregistered_dumping); with the alarm and the service case it became."
)
class MuckViolation:
    id: str = strawberry.field(description="The alarm's id", metadata=INTERNAL)
    kind: str = strawberry.field(metadata=INTERNAL)
    truck_key: str = strawberry.field(metadata=INTERNAL)
    plate: str | None = strawberry.field(metadata=INTERNAL)
    permit: str | None = strawberry.field(metadata=INTERNAL)
    permitted_site: str | None = strawberry.field(metadata=INTERNAL)
    permitted_dump: str | None = strawberry.field(metadata=INTERNAL)
    windows: list[str] = strawberry.field(metadata=INTERNAL)
    place: str | None = strawberry.field(
        description="The (closed) dumping site it stood in, for unregistered dumping",
        metadata=INTERNAL,
    )
    at: datetime = strawberry.field(metadata=INTERNAL)
    speed_kmh: float | None = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=INTERNAL)
    message: str = strawberry.field(metadata=INTERNAL)
    case_key: str | None = strawberry.field(
        description="The service case filed for it (or the one it was merged into)",
        metadata=INTERNAL,
    )
    geometry: GeoJSON | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def from_record(cls, record: Record) -> MuckViolation:
        a = record.attrs
        return cls(
            id=record.key,
            kind=str(a.get("kind")),
            truck_key=str(a.get("truck")),
            plate=a.get("plate"),
            permit=a.get("permit"),
            permitted_site=a.get("permitted_site"),
            permitted_dump=a.get("permitted_dump"),
            windows=list(a.get("windows") or []),
            place=a.get("place"),
            at=datetime.fromisoformat(a["at"]),
            speed_kmh=a.get("speed_kmh"),
            grid_cell=a.get("grid_cell"),
            message=str(a.get("message") or ""),
            case_key=a.get("case"),
            geometry=GeoJSON(record.geometry) if record.geometry else None,
        )

    @strawberry.field(description="The truck", metadata=INTERNAL)
    async def truck(self, info: strawberry.Info) -> MuckTruck | None:
        record = await records(info).load("MuckTruck", self.truck_key)
        return MuckTruck.from_record(record) if record else None

    @strawberry.field(
        description="The case's loop status (filed, dispatched, …), as the centre keeps it",
        metadata=INTERNAL,
    )
    async def case_status(self, info: strawberry.Info) -> str | None:
        if not self.case_key:
            return None
        record = await records(info).load("ServiceCase", self.case_key)
        return record.attrs.get("loop_status") if record else None


@strawberry.type(description="How many of something, by a name.")
class MuckCount:
    name: str = strawberry.field(metadata=PUBLIC)
    count: int = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="Muck-truck figures over the trucks and violations you may count.")
class MuckStats:
    trucks: int = strawberry.field(metadata=PUBLIC)
    by_status: list[MuckCount] = strawberry.field(
        description="运输中 / 停驻 / 离线", metadata=PUBLIC
    )
    construction_sites: int = strawberry.field(metadata=PUBLIC)
    dumping_sites: int = strawberry.field(metadata=PUBLIC)
    open_dumping_sites: int | None = strawberry.field(
        description="null: withheld (counts-only access, fewer sites than its minimum group)",
        metadata=PUBLIC,
    )
    violations: int = strawberry.field(
        description="Raised by the hub from the trucks' fixes", metadata=PUBLIC
    )
    violations_by_kind: list[MuckCount] = strawberry.field(metadata=PUBLIC)


TYPES: list[type] = [ConstructionSite, DumpingSite, MuckTruck]
