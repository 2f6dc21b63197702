"""Enterprise-request figures as the policy lets a request have them: exact for a principal
that reads the requests, under the counts-only k rule otherwise (``hub.policy.aggregates``)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from hub.apps.enterprise_services.services import DepartmentLine
from hub.policy.aggregates import FigureRule

PARTS = ("open", "resolved", "overdue", "rated")


def published(
    totals: DepartmentLine, lines: list[DepartmentLine], by_type: Counter[str], rule: FigureRule
) -> tuple[dict[str, Any], list[dict[str, Any]], list[tuple[str, int]], int]:
    """(totals, departments, types, groups withheld) as ``rule`` publishes them
    (``FigureRule.publish_table``; the mean rating withheld with the count of rated)."""
    top, shown, gone = rule.publish_table(
        _figures(totals),
        [_figures(x) for x in lines],
        "total",
        PARTS,
        {"average_rating": "rated"},
        what="requests",
    )
    ranked = sorted(by_type.items(), key=lambda x: (-x[1], x[0]))
    types, gone_types = rule.publish(ranked, lambda t: t[1])
    return top, shown, types, gone + gone_types


def _figures(x: DepartmentLine) -> dict[str, Any]:
    return {
        "department": x.department,
        "total": x.total,
        "open": x.open,
        "resolved": x.resolved,
        "overdue": x.overdue,
        "rated": x.rated,
        "average_rating": x.average_rating,
    }
