"""Economy one-map (经济一张图): firms on the map by industry, park and size; output, tax,
revenue and employment by grid cell, park and industry; trends — from the statistics
bureau's ``EconomicIndicator`` records (经济运行监测).

A firm is an ``Enterprise`` of the market registry at its registered point; its grid cell is
found with the core's ``GridIndex``, its park by the ``IndustrialPark`` outlines (shapely). A
firm-level indicator joins its firm by credit code, else by normalised name, as the
knowledge graph links it (``hub.graph.linking.FirmLinker``). Size follows the industrial row
of 《统计上大中小微型企业划分办法（2017）》 (employees and revenue) for every industry — a
simplification: the other rows have other thresholds.

Aggregates add up: every firm-level indicator of the period is in exactly one group (an
indicator whose firm is not found, or is outside every cell or park, is in the group with key
null), so the groups sum to the district total.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import shapely
from shapely.geometry import shape

from core_ext import GridIndex
from hub.apps.kit import BadInput
from hub.graph.linking import FirmLinker
from hub.read_model import RecordModel
from schema.record import Record

if TYPE_CHECKING:
    from hub.feed import FeedFollower
    from hub.services import HubServices
    from hub.store import RecordStore

FIRM_KIND = "Enterprise"
INDICATOR_KIND = "EconomicIndicator"
CELL_KIND = "GridCell"
PARK_KIND = "IndustrialPark"
GROUPINGS = ("cell", "park", "industry")


class EconomyError(BadInput):
    pass


def size_class(employees: Any, revenue_10k: Any) -> str | None:
    """大型 / 中型 / 小型 / 微型 by the 2017 standard's industrial row (both thresholds)."""
    if not isinstance(employees, int | float) or not isinstance(revenue_10k, int | float):
        return None
    if employees >= 1000 and revenue_10k >= 40000:
        return "large"
    if employees >= 300 and revenue_10k >= 2000:
        return "medium"
    if employees >= 20 and revenue_10k >= 300:
        return "small"
    return "micro"


def _num(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


@dataclass
class Figures:
    key: str | None
    name: str
    firms: int = 0
    output_10k_cny: float = 0.0
    revenue_10k_cny: float = 0.0
    tax_paid_10k_cny: float = 0.0
    employees: int = 0

    def add(self, a: dict[str, Any]) -> None:
        self.firms += 1
        self.output_10k_cny += _num(a.get("output_10k_cny"))
        self.revenue_10k_cny += _num(a.get("revenue_10k_cny"))
        self.tax_paid_10k_cny += _num(a.get("tax_paid_10k_cny"))
        self.employees += int(_num(a.get("employees")))

    def rounded(self) -> Figures:
        for name in ("output_10k_cny", "revenue_10k_cny", "tax_paid_10k_cny"):
            setattr(self, name, round(getattr(self, name), 1))
        return self


@dataclass
class Place:
    cell: str | None
    park: str | None


class CityMap:
    """The grid cells (the core's index) and the industrial parks' outlines (prepared), with
    the places of the points looked up so far: built again when a cell or park is written."""

    def __init__(self, records: Iterable[Record]) -> None:
        cells: list[dict[str, Any]] = []
        self.parks: list[tuple[str, str, Any]] = []
        for r in records:
            if not r.geometry:
                continue
            if r.kind == CELL_KIND:
                cells.append({"key": r.key, "geometry": r.geometry})
            else:
                geom = shape(r.geometry)
                shapely.prepare(geom)
                self.parks.append((r.key, str(r.attrs.get("name") or r.key), geom))
        if not cells:
            raise EconomyError("the grid (GridCell records) is not loaded")
        self.grid = GridIndex(cells)
        # a point's place never changes on this map (requests may fill it at once: same value)
        self.places: dict[tuple[float, float], Place] = {}

    def place(self, lon: float, lat: float) -> Place:
        found = self.places.get((lon, lat))
        if found is None:
            point = shapely.Point(lon, lat)
            park = next((k for k, _, geom in self.parks if geom.contains(point)), None)
            found = self.places[(lon, lat)] = Place(self.grid.locate_key(lon, lat), park)
        return found


class EconomyServices:
    def __init__(self, store: RecordStore, feed: FeedFollower) -> None:
        self.store = store
        self.map = RecordModel(store, feed, [CELL_KIND, PARK_KIND], CityMap)

    def park_names(self) -> dict[str, str]:
        return {k: n for k, n, _ in self.map.get().parks}

    def place(self, firm: Record) -> Place:
        """The firm's grid cell and park, from its point."""
        g = firm.geometry or {}
        if g.get("type") != "Point":
            return Place(None, None)
        lon, lat = (float(x) for x in g["coordinates"][:2])
        return self.map.get().place(lon, lat)

    @staticmethod
    def linker(firms: Iterable[Record]) -> FirmLinker:
        return FirmLinker(firms)

    @staticmethod
    def firm_of(ind: Record, firms: FirmLinker) -> Record | None:
        """The firm a firm-level indicator is about: by credit code, else by a name only one
        firm bears (the trade name alone is too weak to move a firm's figures)."""
        a = ind.attrs
        link = firms.link(
            kind=FIRM_KIND, uscc=a.get("uscc"), name=a.get("subject_name"), by_brand=False
        )
        return firms.records.get((FIRM_KIND, link.key)) if link and link.key else None

    @staticmethod
    def periods(indicators: Iterable[Record], subject_type: str = "firm") -> list[str]:
        return sorted(
            {
                str(i.attrs["period"])
                for i in indicators
                if i.attrs.get("subject_type") == subject_type and i.attrs.get("period")
            }
        )

    def aggregate(
        self, firms: list[Record], indicators: list[Record], period: str | None, by: str
    ) -> tuple[str | None, Figures, list[Figures]]:
        """(period, district total, groups) of the firm-level indicators of ``period``
        (default: the latest yearly one)."""
        if by not in GROUPINGS:
            raise EconomyError(f"group by {by!r}: one of {', '.join(GROUPINGS)}")
        yearly = [p for p in self.periods(indicators) if p.isdigit()]
        period = period or (yearly[-1] if yearly else None)
        linker = self.linker(firms)
        parks = self.park_names()
        total = Figures("district", "全区")
        groups: dict[str | None, Figures] = {}
        for ind in indicators:
            a = ind.attrs
            if a.get("subject_type") != "firm" or str(a.get("period")) != period:
                continue
            firm = self.firm_of(ind, linker)
            place = self.place(firm) if firm else Place(None, None)
            if by == "cell":
                key, name = place.cell, place.cell or "未定位"
            elif by == "park":
                key = place.park
                name = parks.get(key, "园区外") if key else "园区外"
            else:
                industry = a.get("industry") or (firm.attrs.get("industry") if firm else None)
                key, name = industry, industry or "未知行业"
            groups.setdefault(key, Figures(key, str(name))).add(a)
            total.add(a)
        ordered = sorted((g for k, g in groups.items() if k), key=lambda g: str(g.key))
        if None in groups:
            ordered.append(groups[None])
        return period, total.rounded(), [g.rounded() for g in ordered]

    def trend(self, indicators: list[Record], park: str | None) -> list[tuple[str, Figures]]:
        """A park's reported figures by period, or the district's firm-level sums by period;
        oldest first."""
        series: dict[str, Figures] = {}
        for ind in indicators:
            a = ind.attrs
            period = str(a.get("period") or "")
            if not period:
                continue
            if park is not None:
                if a.get("subject_type") != "park" or a.get("park") != park:
                    continue
            elif a.get("subject_type") != "firm":
                continue
            series.setdefault(period, Figures(park or "district", period)).add(a)
        return [(p, series[p].rounded()) for p in sorted(series)]


def services(hub: HubServices) -> EconomyServices:
    return EconomyServices(hub.store, hub.feed)
