"""Enforcement figures as the policy lets a request have them: exact for a principal that
reads the cases, under the counts-only k rule otherwise (``hub.policy.aggregates``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hub.apps.law_enforcement.services import DepartmentFigures
from hub.policy.aggregates import FigureRule

# counts within a department's (or the district's) cases; fined: the cases fines_cny sums
PARTS = (
    "open",
    "closed",
    "overdue",
    "closed_late",
    "anomalous",
    "repeated_inspection_no_finding",
    "closed_without_evidence",
    "fined",
)


def published(
    totals: DepartmentFigures, lines: list[DepartmentFigures], rule: FigureRule
) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
    """(totals, departments, departments withheld) as ``rule`` publishes them
    (``FigureRule.publish_table``): the fines' sum withheld with the count of fined cases."""
    top, shown, withheld = rule.publish_table(
        asdict(totals),
        [asdict(g) for g in lines],
        "cases",
        PARTS,
        {"fines_cny": "fined"},
        what="cases",
    )
    return _served(top), [_served(line) for line in shown], withheld


def _served(line: dict[str, Any]) -> dict[str, Any]:
    line.pop("fined")  # how many cases were fined: not a field of its own
    return line
