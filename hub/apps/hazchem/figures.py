"""Hazchem figures as the policy lets a request have them: exact for a principal that reads
the rows, under the counts-only k rule otherwise (``hub.policy.aggregates``)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hub.apps.hazchem.services import GroupStats, HazchemTotals, StockLine, WarehouseStock
from hub.policy.aggregates import FigureRule

# firms within a group's firms
PARTS = ("production", "logistics", "warehousing", "major_hazard_firms")


def published_groups(
    figures: HazchemTotals, rule: FigureRule
) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], int]:
    """(totals, by category, by park, groups withheld): groups of fewer firms than k withheld
    with their complements, in each grouping (``FigureRule.publish_table``)."""
    totals, by_category, gone = rule.publish_table(
        _row(figures.totals), [_row(g) for g in figures.by_category], "firms", PARTS, what="firms"
    )
    _, by_park, gone_parks = rule.publish_table(
        _row(figures.totals), [_row(g) for g in figures.by_park], "firms", PARTS, what="firms"
    )
    return totals, by_category, by_park, gone + gone_parks


def published_stock(
    stock: WarehouseStock, rule: FigureRule
) -> tuple[WarehouseStock, list[StockLine]]:
    """A warehouse's stock (or all together) over k slips or more, and its hazard classes
    shown: those of fewer slips withheld with their complements; too few slips refused."""
    rule.require(stock.slips, "stock slips")
    return stock, rule.publish(stock.lines, lambda line: line.slips)[0]


def published_stocks(
    stocks: list[WarehouseStock], rule: FigureRule
) -> list[tuple[WarehouseStock, list[StockLine]]]:
    """Every warehouse's stock: warehouses of fewer slips than k withheld with their
    complements (all warehouses together are a figure too), each one's classes as above."""
    shown, _ = rule.publish(stocks, lambda stock: stock.slips)
    return [published_stock(stock, rule) for stock in shown]


def _row(group: GroupStats) -> dict[str, Any]:
    return asdict(group)
