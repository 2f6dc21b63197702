"""Water resolvers (Query): rivers, water-quality stations, pump stations, gates and ponding
points with their live states; quality figures per river; pump and gate figures; the flood and
waterlogging warnings in force.

Rows are read through the request's policy-enforced record source; the figures are computed
over the rows the request may see — a counts-only principal gets the figures over the rows its
row filter lets through, never the rows themselves."""

from __future__ import annotations

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.apps import kit
from hub.apps.water.services import WaterServices, scada_figures
from hub.apps.water.types import (
    FloodWarning,
    Gate,
    PondingPoint,
    PumpGateStats,
    PumpStation,
    River,
    StatusCount,
    WaterBodyFigures,
    WaterQualityStats,
    WaterStation,
    gauge_level,
    level_watch,
    quality_watch,
    scada_watch,
)
from schema.connection import CountedConnection, PageError, paginate
from schema.context import records
from schema.reads import scan
from schema.scalars import GeoJSON

WARNING_KINDS = {"River": "flood", "PondingPoint": "waterlogging"}


def _counts(by_status: dict[str, int]) -> list[StatusCount]:
    return [StatusCount(status=s, count=n) for s, n in sorted(by_status.items())]


@strawberry.type
class WaterQueries:
    @strawberry.field(description="Rivers and other water bodies (the 12 rivers), in key order")
    async def rivers(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[River]:
        return await paginate(
            info, "River", River.from_record, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="One river by its hub key (RIV-…)")
    async def river(self, info: strawberry.Info, key: str) -> River | None:
        record = await records(info).load("River", key)
        return River.from_record(record) if record else None

    @strawberry.field(description="Water-quality stations with their latest class, in key order")
    async def water_stations(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[WaterStation]:
        return await paginate(
            info,
            "WaterStation",
            WaterStation.from_record,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="One water-quality station by its hub key (WQS-…)")
    async def water_station(self, info: strawberry.Info, key: str) -> WaterStation | None:
        record = await records(info).load("WaterStation", key)
        return WaterStation.from_record(record) if record else None

    @strawberry.field(description="Drainage pump stations with their live status")
    async def pump_stations(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[PumpStation]:
        return await paginate(
            info,
            "PumpStation",
            PumpStation.from_record,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(description="One pump station by its hub key (PUMP-…)")
    async def pump_station(self, info: strawberry.Info, key: str) -> PumpStation | None:
        record = await records(info).load("PumpStation", key)
        return PumpStation.from_record(record) if record else None

    @strawberry.field(description="Tide gates and sluices with their live status")
    async def water_gates(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[Gate]:
        return await paginate(
            info, "Gate", Gate.from_record, first=first, after=after, last=last, before=before
        )

    @strawberry.field(description="One gate by its hub key (GATE-…)")
    async def water_gate(self, info: strawberry.Info, key: str) -> Gate | None:
        record = await records(info).load("Gate", key)
        return Gate.from_record(record) if record else None

    @strawberry.field(description="Urban ponding points with their live depth")
    async def ponding_points(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[PondingPoint]:
        return await paginate(
            info,
            "PondingPoint",
            PondingPoint.from_record,
            first=first,
            after=after,
            last=last,
            before=before,
        )

    @strawberry.field(
        description="Water-quality class and compliance rate per river and for the district"
    )
    async def water_quality_stats(self, info: strawberry.Info) -> WaterQualityStats:
        rivers = [r.key for r in await scan(info, "River")]
        stations = [s.key for s in await scan(info, "WaterStation")]
        watch = await quality_watch(info)
        totals, by_river = await run_in_threadpool(watch.figures, rivers, stations)
        return WaterQualityStats(
            totals=WaterBodyFigures.of(totals), by_river=[WaterBodyFigures.of(b) for b in by_river]
        )

    @strawberry.field(description="Pump stations and gates by their live status")
    async def pump_gate_stats(self, info: strawberry.Info) -> PumpGateStats:
        pumps = await scan(info, "PumpStation")
        gates = await scan(info, "Gate")
        f = scada_figures(await scada_watch(info), pumps, gates)
        return PumpGateStats(
            pump_stations=f.pump_stations,
            pumps=f.pumps,
            running_pumps=f.running_pumps,
            current_flow_m3_s=round(f.current_flow_m3_s, 3),
            design_flow_m3_s=round(f.design_flow_m3_s, 3),
            pump_stations_by_status=_counts(f.pumps_by_status),
            gates=f.gates,
            gates_by_status=_counts(f.gates_by_status),
        )

    @strawberry.field(
        description="Flood (rivers at or over their warning level) and waterlogging (ponding "
        "points at or over their warning depth) warnings in force; kind: flood or waterlogging"
    )
    async def flood_warnings(
        self, info: strawberry.Info, kind: str | None = None
    ) -> list[FloodWarning]:
        kinds = {v: k for k, v in WARNING_KINDS.items()}
        if kind is not None and kind not in kinds:
            raise PageError(f"kind {kind!r}: flood or waterlogging")
        watch = await level_watch(info)
        service = kit.service(info, WaterServices)
        out: list[FloodWarning] = []
        for subject_type in [kinds[kind]] if kind else list(WARNING_KINDS):
            keys = await run_in_threadpool(service.gauges_in_warning, subject_type)
            # only the rows the policy lets the request see
            found = await records(info).load_many(subject_type, keys)
            for record in found:
                if record is None:
                    continue
                gauge, level = watch.gauges[record.key], await gauge_level(info, record.key)
                if level is None:
                    continue
                point = (
                    {"type": "Point", "coordinates": [gauge.lon, gauge.lat]}
                    if gauge.lon is not None and gauge.lat is not None
                    else None
                )
                out.append(
                    FloodWarning(
                        kind=WARNING_KINDS[subject_type],
                        subject_type=subject_type,
                        subject_key=record.key,
                        name=gauge.name,
                        level_m=round(level.value_m, 4),
                        threshold_m=level.warning_m,
                        above_m=round(level.value_m - level.warning_m, 4),
                        since=level.since,
                        at=level.at,
                        grid_cell=gauge.grid_cell,
                        geometry=GeoJSON(point) if point else None,
                    )
                )
        return out
