"""Hazchem resolvers (Query): firms, sites, tanks with live levels, warehouse slips and stock,
vehicles with live positions and trajectories, violations, forbidden zones, statistics.

Rows are read through the request's policy-enforced record source; the figures (statistics,
stock) are computed over the rows the request may see — a counts-only principal gets the
figures over the rows its row filter lets through, never the rows themselves."""

from __future__ import annotations

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.apps import kit
from hub.apps.hazchem.figures import published_groups, published_stock, published_stocks
from hub.apps.hazchem.services import (
    HazchemServices,
    hazchem_stats,
    stock_by_category,
)
from hub.apps.hazchem.types import (
    HazchemFirm,
    HazchemForbiddenZone,
    HazchemGroupStats,
    HazchemSite,
    HazchemStats,
    HazchemVehicle,
    HazchemViolation,
    HazchemWarehouseStock,
    StockMovement,
    Tank,
    vehicle_watch,
)
from hub.live import ALARM_KIND
from schema.connection import MAX_PAGE, PageError
from schema.context import records
from schema.fields import record_by_key, record_connection
from schema.reads import load_all, scan
from schema.record import Record

VIOLATION_KINDS = ("geofence.forbidden", "vehicle.speeding")


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Keys starting with ``prefix`` (which ends in ':') lie strictly between these two."""
    return prefix, prefix[:-1] + ";"


@strawberry.type
class HazchemQueries:
    hazchem_firms = record_connection(HazchemFirm, "Hazardous-chemicals firms (916), in key order")

    hazchem_firm = record_by_key(HazchemFirm, "One hazchem firm by its hub key (HCF-…)")

    hazchem_sites = record_connection(
        HazchemSite, "Hazchem sites: plants, tank farms, warehouses, yards"
    )

    hazchem_site = record_by_key(HazchemSite, "One hazchem site by its hub key (HCS-…)")

    hazchem_tanks = record_connection(Tank, "Storage tanks with their live levels and alarm state")

    hazchem_tank = record_by_key(Tank, "One tank by its hub key (TNK-…)")

    @strawberry.field(
        description="Tanks with a threshold alarm in force (high-high, high or low) of their "
        "level, temperature or pressure"
    )
    async def hazchem_tanks_in_alarm(self, info: strawberry.Info) -> list[Tank]:
        service = kit.service(info, HazchemServices)
        keys = await run_in_threadpool(service.tanks_in_alarm)
        return await load_all(info, "Tank", keys, Tank.from_record)

    hazchem_stock_movements = record_connection(
        StockMovement, "Real-name warehouse check-in / check-out slips"
    )

    @strawberry.field(
        description="Warehouse stock by hazard class (in − out of the slips): one warehouse, "
        "or all together when no site is given"
    )
    async def hazchem_stock(
        self, info: strawberry.Info, site: str | None = None
    ) -> HazchemWarehouseStock:
        stocks = stock_by_category(await scan(info, "StockMovement"))
        rule = await kit.figure_rule(info, "StockMovement")
        found = stocks.get(site)
        if found is None:
            if await records(info).load("HazchemSite", site or "") is None:
                raise LookupError(f"no hazchem site {site!r}")
            return HazchemWarehouseStock(
                site_key=site, in_t=0.0, out_t=0.0, balance_t=0.0, slips=0, by_category=[]
            )
        return HazchemWarehouseStock.of(*published_stock(found, rule))

    @strawberry.field(description="Every warehouse's stock by hazard class, in site order")
    async def hazchem_warehouse_stocks(self, info: strawberry.Info) -> list[HazchemWarehouseStock]:
        stocks = stock_by_category(await scan(info, "StockMovement"))
        rule = await kit.figure_rule(info, "StockMovement")
        each = [stocks[k] for k in sorted(k for k in stocks if k)]
        return [HazchemWarehouseStock.of(*shown) for shown in published_stocks(each, rule)]

    hazchem_vehicles = record_connection(
        HazchemVehicle, "Hazardous-chemicals vehicles with their live positions"
    )

    hazchem_vehicle = record_by_key(HazchemVehicle, "One vehicle by its hub key (HCV-…)")

    @strawberry.field(
        description="Vehicles' violations (geofence.forbidden, vehicle.speeding) raised from "
        "their fixes, by kind, vehicle and time; `after` is the last id of the page before"
    )
    async def hazchem_violations(
        self,
        info: strawberry.Info,
        kind: str | None = None,
        vehicle: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> list[HazchemViolation]:
        if kind is not None and kind not in VIOLATION_KINDS:
            raise PageError(f"kind {kind!r}: one of {', '.join(VIOLATION_KINDS)}")
        if not 0 <= first <= MAX_PAGE:
            raise PageError(f"first must be between 0 and {MAX_PAGE}, got {first}")
        found: list[Record] = []
        # alarm ids start "<kind>:<vehicle>:<time>": each kind (and vehicle) is a key range
        for k in [kind] if kind else VIOLATION_KINDS:
            lo, hi = _prefix_range(f"{k}:{vehicle}:" if vehicle else f"{k}:")
            if after is not None:
                if after >= hi:
                    continue
                lo = max(lo, after)
            rows = await records(info).page(
                ALARM_KIND, after=lo, before=hi, limit=first - len(found), from_end=False
            )
            found.extend(rows)
            if len(found) >= first:
                break
        return [HazchemViolation.from_record(r) for r in found]

    @strawberry.field(description="Forbidden zones: around schools and along rivers")
    async def hazchem_forbidden_zones(
        self, info: strawberry.Info, reason: str | None = None
    ) -> list[HazchemForbiddenZone]:
        zones = (await vehicle_watch(info)).zones
        return [HazchemForbiddenZone.of(z) for z in zones if reason in (None, z.reason)]

    @strawberry.field(description="Firms, sites, tanks and vehicles by category and by park")
    async def hazchem_stats(self, info: strawberry.Info) -> HazchemStats:
        firms = await scan(info, "HazchemFirm")
        sites = await scan(info, "HazchemSite")
        vehicles = await scan(info, "HazchemVehicle")
        parks = await scan(info, "IndustrialPark")
        rule = await kit.figure_rule(info, "HazchemFirm", "HazchemSite", "HazchemVehicle")
        figures = hazchem_stats(firms, sites, vehicles, parks)
        totals, by_category, by_park, withheld = published_groups(figures, rule)
        return HazchemStats(
            totals=HazchemGroupStats.of(totals),
            by_category=[HazchemGroupStats.of(g) for g in by_category],
            by_park=[HazchemGroupStats.of(g) for g in by_park],
            suppressed_groups=withheld,
        )
