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
from hub.policy.aggregates import FigureRule
from schema.connection import PageError
from schema.context import records
from schema.fields import record_by_key, record_connection
from schema.reads import scan
from schema.scalars import GeoJSON

WARNING_KINDS = {"River": "flood", "PondingPoint": "waterlogging"}


def _counts(by_status: dict[str, int], rule: FigureRule) -> list[StatusCount]:
    """Devices by status, as ``rule`` publishes them (counts only: statuses of fewer than k
    withheld with their complements)."""
    shown, _ = rule.publish(sorted(by_status.items()), lambda kv: kv[1])
    return [StatusCount(status=s, count=n) for s, n in shown]


@strawberry.type
class WaterQueries:
    rivers = record_connection(River, "Rivers and other water bodies (the 12 rivers), in key order")

    river = record_by_key(River, "One river by its hub key (RIV-…)")

    water_stations = record_connection(
        WaterStation, "Water-quality stations with their latest class, in key order"
    )

    water_station = record_by_key(WaterStation, "One water-quality station by its hub key (WQS-…)")

    pump_stations = record_connection(PumpStation, "Drainage pump stations with their live status")

    pump_station = record_by_key(PumpStation, "One pump station by its hub key (PUMP-…)")

    water_gates = record_connection(Gate, "Tide gates and sluices with their live status")

    water_gate = record_by_key(Gate, "One gate by its hub key (GATE-…)")

    ponding_points = record_connection(PondingPoint, "Urban ponding points with their live depth")

    @strawberry.field(
        description="Water-quality class and compliance rate per river and for the district"
    )
    async def water_quality_stats(self, info: strawberry.Info) -> WaterQualityStats:
        rivers = [r.key for r in await scan(info, "River")]
        stations = [s.key for s in await scan(info, "WaterStation")]
        watch = await quality_watch(info)
        totals, by_river = await run_in_threadpool(watch.figures, rivers, stations)
        # counts only: rivers of fewer stations than k withheld, with their complements
        rule = await kit.figure_rule(info, "WaterStation")
        shown, _ = rule.publish(by_river, lambda b: b.stations)
        return WaterQualityStats(
            totals=WaterBodyFigures.of(totals, rule),
            by_river=[WaterBodyFigures.of(b, rule) for b in shown],
        )

    @strawberry.field(description="Pump stations and gates by their live status")
    async def pump_gate_stats(self, info: strawberry.Info) -> PumpGateStats:
        pumps = await scan(info, "PumpStation")
        gates = await scan(info, "Gate")
        f = scada_figures(await scada_watch(info), pumps, gates)
        pumps_rule = await kit.figure_rule(info, "PumpStation")
        gates_rule = await kit.figure_rule(info, "Gate")
        return PumpGateStats(
            pump_stations=f.pump_stations,
            pumps=f.pumps,
            running_pumps=f.running_pumps,
            current_flow_m3_s=round(f.current_flow_m3_s, 3),
            design_flow_m3_s=round(f.design_flow_m3_s, 3),
            pump_stations_by_status=_counts(f.pumps_by_status, pumps_rule),
            gates=f.gates,
            gates_by_status=_counts(f.gates_by_status, gates_rule),
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
