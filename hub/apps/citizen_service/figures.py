"""The ops centre's figures as the policy lets a request have them: exact for a principal
that reads the cases, under the counts-only k rule otherwise (``hub.policy.aggregates``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from hub.apps.citizen_service.services import CaseFilter
from hub.policy.aggregates import FigureRule, column

BREAKDOWNS = ("grid_cell", "category", "department", "channel")
SLA_STATES = ("resolved_on_time", "resolved_late", "open_on_time", "open_overdue")


def counted_window(f: CaseFilter, rule: FigureRule) -> CaseFilter:
    """The filter with its reporting window as the rule lets it be counted (whole days)."""
    start, end = rule.window(f.reported_after, f.reported_before)
    return replace(f, reported_after=start, reported_before=end)


def published(stats: dict[str, Any], rule: FigureRule) -> dict[str, Any]:
    """``stats`` (``CitizenServiceCentre.stats``, shared: not changed here) as published under
    ``rule``: too few cases refused; in each breakdown and in the SLA states, groups below k
    withheld with their complements, and so are a shown bucket's open and overdue counts (None);
    the merged count withheld below k."""
    if rule.exact:
        return {**stats, "suppressed_groups": 0}
    rule.require(stats["total"], "cases")
    out: dict[str, Any] = {**stats, "suppressed_groups": 0}
    for name in BREAKDOWNS:
        kept, withheld = rule.publish_parts(
            stats[name], column("total"), (column("open"), column("overdue"))
        )
        out[name] = [b | {"open": o, "overdue": late} for b, (o, late) in kept]
        out["suppressed_groups"] += withheld
    sla = dict(stats["sla"])
    show = rule.shown([int(sla[state]) for state in SLA_STATES])
    for state, shown in zip(SLA_STATES, show, strict=True):
        if not shown:
            sla[state] = None
            out["suppressed_groups"] += 1
    if sla["resolved_on_time"] is None or sla["resolved_late"] is None:
        sla["on_time_rate"] = None  # derived from a withheld group
    out["sla"] = sla
    out["merged"] = rule.count(int(stats["merged"]))
    out["suppressed_groups"] += out["merged"] is None
    return out
