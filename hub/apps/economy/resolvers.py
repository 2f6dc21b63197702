"""Economy one-map resolvers. Rows (firms) come through the request's policy; figures are
over the rows the policy lets the request count — a counts-only principal gets the figures
and counts, no firm rows."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.apps import kit
from hub.apps.economy.services import (
    FIRM_KIND,
    INDICATOR_KIND,
    EconomyError,
    EconomyServices,
    size_class,
)
from hub.apps.economy.types import (
    EconomyAggregates,
    EconomyFigures,
    EconomyFirm,
    EconomyGrouping,
    EconomyTrendPoint,
)
from schema.connection import CountedConnection, from_rows
from schema.reads import scan_servable
from schema.record import Record
from schema.scalars import geojson

APP_NAME = "economy"
T = TypeVar("T")


def economy(info: strawberry.Info) -> EconomyServices:
    return kit.service(info, EconomyServices)


async def _run(fn: Callable[[], T]) -> T:
    try:
        return await run_in_threadpool(fn)
    except EconomyError as exc:
        raise ValueError(str(exc)) from None


@strawberry.type
class EconomyQueries:
    @strawberry.field(
        description="Firms on the map (industry, park, size, point) with the figures of a "
        "period (default the latest yearly), filtered, in key order"
    )
    async def economy_firms(
        self,
        info: strawberry.Info,
        industry: str | None = None,
        park: str | None = None,
        size: str | None = None,
        grid_cell: str | None = None,
        period: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> CountedConnection[EconomyFirm]:
        firms, servable = await scan_servable(info, FIRM_KIND)
        indicators, _ = await scan_servable(info, INDICATOR_KIND)
        service = economy(info)

        def build() -> list[EconomyFirm]:
            yearly = [p for p in service.periods(indicators) if p.isdigit()]
            chosen = period or (yearly[-1] if yearly else None)
            linker = service.linker(firms)
            figures: dict[str, Record] = {}
            for ind in indicators:
                if ind.attrs.get("subject_type") == "firm" and ind.attrs.get("period") == chosen:
                    firm = service.firm_of(ind, linker)
                    if firm is not None:
                        figures[firm.key] = ind
            out = []
            for f in sorted(firms, key=lambda r: r.key):
                place = service.place(f)
                figure = figures.get(f.key)
                a = figure.attrs if figure else {}
                pt = (f.geometry or {}).get("coordinates") or [None, None]
                out.append(
                    EconomyFirm(
                        key=f.key,
                        name=f.attrs.get("name"),
                        uscc=f.attrs.get("uscc"),
                        industry=f.attrs.get("industry"),
                        park=place.park,
                        grid_cell=place.cell,
                        size=size_class(a.get("employees"), a.get("revenue_10k_cny")),
                        period=chosen if figure else None,
                        output_10k_cny=a.get("output_10k_cny"),
                        revenue_10k_cny=a.get("revenue_10k_cny"),
                        tax_paid_10k_cny=a.get("tax_paid_10k_cny"),
                        employees=a.get("employees"),
                        lon=pt[0],
                        lat=pt[1],
                        geometry=geojson(f.geometry),
                    )
                )
            return out

        found = [
            f
            for f in await _run(build)
            if (industry is None or f.industry == industry)
            and (park is None or f.park == park)
            and (size is None or f.size == size)
            and (grid_cell is None or f.grid_cell == grid_cell)
        ]
        (await kit.figure_rule(info, FIRM_KIND)).require(len(found), "firms")
        return from_rows(
            found, lambda f: f.key, lambda f: f, first=first, after=after, servable=servable
        )

    @strawberry.field(
        description="Output, revenue, tax and employment of a period by grid cell, park or "
        "industry; the groups add up to the district total"
    )
    async def economy_aggregates(
        self,
        info: strawberry.Info,
        group_by: EconomyGrouping,
        period: str | None = None,
    ) -> EconomyAggregates:
        firms, _ = await scan_servable(info, FIRM_KIND)
        indicators, _ = await scan_servable(info, INDICATOR_KIND)
        rule = await kit.figure_rule(info, FIRM_KIND, INDICATOR_KIND)
        service = economy(info)
        chosen, total, groups = await _run(
            lambda: service.aggregate(firms, indicators, period, group_by.value)
        )
        rule.require(total.firms, "firms")
        shown, withheld = rule.publish(groups, lambda g: g.firms)
        return EconomyAggregates(
            period=chosen,
            grouping=group_by,
            total=EconomyFigures.of(total),
            groups=[EconomyFigures.of(g) for g in shown],
            suppressed_groups=withheld,
        )

    @strawberry.field(
        description="Figures by period, oldest first: a park's as the statistics bureau "
        "reports them, or (no park) the district's sum of its firms'"
    )
    async def economy_trend(
        self, info: strawberry.Info, park: str | None = None
    ) -> list[EconomyTrendPoint]:
        indicators, _ = await scan_servable(info, INDICATOR_KIND)
        rule = await kit.figure_rule(info, INDICATOR_KIND)
        points = await _run(lambda: economy(info).trend(indicators, park))
        # each period is a figure of its own: one over too few firms is left out
        return [
            EconomyTrendPoint(period=p, figures=EconomyFigures.of(f))
            for p, f in points
            if rule.enough(f.firms)
        ]
