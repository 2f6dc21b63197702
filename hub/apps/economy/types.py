"""Economy one-map types: firms on the map (industry, park, size, point) and figures by grid
cell, park, industry and period. The legal representative is not served here."""

from __future__ import annotations

from enum import Enum

import strawberry

from hub.apps.economy.services import Figures
from schema.classification import classified
from schema.scalars import GeoJSON

PUBLIC = classified("public")
INTERNAL = classified("internal")


@strawberry.enum(description="How figures are grouped")
class EconomyGrouping(Enum):
    CELL = "cell"
    PARK = "park"
    INDUSTRY = "industry"


@strawberry.type(name="EconomyFirm", description="A firm on the economy map")
class EconomyFirm:
    key: str = strawberry.field(description="Enterprise key (ENT-…)", metadata=PUBLIC)
    name: str | None = strawberry.field(metadata=PUBLIC)
    uscc: str | None = strawberry.field(metadata=PUBLIC)
    industry: str | None = strawberry.field(metadata=PUBLIC)
    park: str | None = strawberry.field(description="IndustrialPark key", metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    size: str | None = strawberry.field(
        description="large / medium / small / micro (2017 standard, industrial row)",
        metadata=PUBLIC,
    )
    period: str | None = strawberry.field(metadata=PUBLIC)
    output_10k_cny: float | None = strawberry.field(metadata=INTERNAL)
    revenue_10k_cny: float | None = strawberry.field(metadata=INTERNAL)
    tax_paid_10k_cny: float | None = strawberry.field(metadata=INTERNAL)
    employees: int | None = strawberry.field(metadata=INTERNAL)
    lon: float | None = strawberry.field(metadata=PUBLIC)
    lat: float | None = strawberry.field(metadata=PUBLIC)
    geometry: GeoJSON | None = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="Output, revenue, tax and employment of a group (万元, persons)")
class EconomyFigures:
    key: str | None = strawberry.field(
        description="Grid cell, park or industry; null: not placed / outside", metadata=PUBLIC
    )
    name: str = strawberry.field(metadata=PUBLIC)
    firms: int = strawberry.field(metadata=PUBLIC)
    output_10k_cny: float = strawberry.field(metadata=PUBLIC)
    revenue_10k_cny: float = strawberry.field(metadata=PUBLIC)
    tax_paid_10k_cny: float = strawberry.field(metadata=PUBLIC)
    employees: int = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, f: Figures) -> EconomyFigures:
        return cls(**vars(f))


@strawberry.type(description="Figures of a period by grid cell, park or industry")
class EconomyAggregates:
    period: str | None = strawberry.field(metadata=PUBLIC)
    grouping: EconomyGrouping = strawberry.field(metadata=PUBLIC)
    total: EconomyFigures = strawberry.field(metadata=PUBLIC)
    groups: list[EconomyFigures] = strawberry.field(metadata=PUBLIC)
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Groups withheld (counts-only access): of fewer firms than the policy's "
        "minimum group, and those that would give them away; their figures are in the total",
        metadata=PUBLIC,
    )


@strawberry.type(description="One period of a trend")
class EconomyTrendPoint:
    period: str = strawberry.field(metadata=PUBLIC)
    figures: EconomyFigures = strawberry.field(metadata=PUBLIC)
