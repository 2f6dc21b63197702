"""Muck-truck resolvers (Query): trucks with live positions, permits and corridors,
construction and dumping sites, violations with their cases, statistics.

Rows are read through the request's policy-enforced record source; the figures are computed
over the rows the request may see — a counts-only principal gets the figures, never rows."""

from __future__ import annotations

from collections import Counter

import strawberry

from hub.apps import kit
from hub.apps.muck_trucks.services import (
    OPEN_DUMP,
    VIOLATION_KIND,
    VIOLATION_KINDS,
)
from hub.apps.muck_trucks.types import (
    ConstructionSite,
    DumpingSite,
    MuckCount,
    MuckStats,
    MuckTruck,
    MuckViolation,
)
from hub.policy.aggregates import FigureRule
from schema.connection import MAX_PAGE, PageError
from schema.context import records
from schema.fields import record_by_key, record_connection
from schema.reads import scan
from schema.record import Record


def _prefix_range(prefix: str) -> tuple[str, str]:
    """Keys starting with ``prefix`` (which ends in ':') lie strictly between these two."""
    return prefix, prefix[:-1] + ";"


def _counts(values: list[str], rule: FigureRule) -> list[MuckCount]:
    """How many of each value, as ``rule`` publishes them (counts only: the values of fewer
    than k withheld with their complements)."""
    shown, _ = rule.publish(sorted(Counter(values).items()), lambda kv: kv[1])
    return [MuckCount(name=k, count=v) for k, v in shown]


@strawberry.type
class MuckQueries:
    muck_trucks = record_connection(
        MuckTruck, "Muck trucks (渣土车) with their permits and live positions"
    )

    muck_truck = record_by_key(MuckTruck, "One muck truck by its hub key (MUCK-…)")

    construction_sites = record_connection(
        ConstructionSite, "Construction sites (工地), in key order"
    )

    dumping_sites = record_connection(
        DumpingSite, "Registered dumping sites (消纳场), in key order"
    )

    @strawberry.field(
        description="Muck trucks' violations raised from their fixes, by kind, truck and time, "
        "each with its service case; `after` is the last id of the page before"
    )
    async def muck_violations(
        self,
        info: strawberry.Info,
        kind: str | None = None,
        truck: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> list[MuckViolation]:
        if kind is not None and kind not in VIOLATION_KINDS:
            raise PageError(f"kind {kind!r}: one of {', '.join(VIOLATION_KINDS)}")
        if not 0 <= first <= MAX_PAGE:
            raise PageError(f"first must be between 0 and {MAX_PAGE}, got {first}")
        found: list[Record] = []
        # ids start "<kind>:<truck>:<time>": each kind (and truck) is a key range
        for k in sorted([kind] if kind else VIOLATION_KINDS):
            lo, hi = _prefix_range(f"{k}:{truck}:" if truck else f"{k}:")
            if after is not None:
                if after >= hi:
                    continue
                lo = max(lo, after)
            if len(found) >= first:
                break
            rows = await records(info).page(
                VIOLATION_KIND, after=lo, before=hi, limit=first - len(found), from_end=False
            )
            found.extend(rows)
        return [MuckViolation.from_record(r) for r in found]

    @strawberry.field(description="Trucks by status, sites, and violations by kind")
    async def muck_stats(self, info: strawberry.Info) -> MuckStats:
        trucks = await scan(info, "MuckTruck")
        dumps = await scan(info, "DumpingSite")
        violations = await scan(info, VIOLATION_KIND)
        sites = await records(info).count("ConstructionSite")
        trucks_rule = await kit.figure_rule(info, "MuckTruck")
        dumps_rule = await kit.figure_rule(info, "DumpingSite")
        violations_rule = await kit.figure_rule(info, VIOLATION_KIND)
        trucks_rule.require(len(trucks), "trucks")
        opened = sum(1 for d in dumps if d.attrs.get("status") == OPEN_DUMP)
        return MuckStats(
            trucks=len(trucks),
            by_status=_counts([str(t.attrs.get("status") or "") for t in trucks], trucks_rule),
            construction_sites=sites,
            dumping_sites=len(dumps),
            open_dumping_sites=dumps_rule.part(opened, len(dumps)),
            violations=len(violations),
            violations_by_kind=_counts(
                [str(v.attrs.get("kind")) for v in violations], violations_rule
            ),
        )
