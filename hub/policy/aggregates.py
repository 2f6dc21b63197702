"""Figures a counts-only principal may be given: none that can be differenced back to a row.

A principal that reads a type's rows gets exact figures. One that may only count them (the
type rule's ``aggregate_only``) gets figures under the type rule's ``min_group`` (k, 5 by
default), the rule stewards write in the policy (``policies/README.md``, "Counts-only
figures"):

* a time window is widened to whole days in the city's time zone (a one-second window
  cannot isolate one case);
* a figure whose rows, after every filter, are fewer than k (but some) is refused
  (``GroupTooSmall``);
* in a breakdown (by grid cell, park, industry, …) a group of fewer than k rows is withheld —
  dropped from the list with everything derived from its rows (sums, means, revenue, tax),
  the answer saying how many were withheld — and, when the withheld groups together hold
  fewer than k rows, the next smallest groups are withheld too, so the total minus the shown
  groups never describes fewer than k rows;
* a count within a group or the total (open, overdue, watched, …) is withheld (None) when it
  or its rest is fewer than k rows, with the same complement down its column, and a mean or a
  sum over such rows with it (``part``, ``publish_parts``, ``publish_table``).

Apps never decide this: they ask the request's ``FigureRule`` (``Countable.figures``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from hub.policy.engine import PolicyDenied

CITY_TZ = ZoneInfo("Asia/Shanghai")  # days of a window are the city's days
G = TypeVar("G")


class GroupTooSmall(PolicyDenied):
    """A counts-only figure that would describe fewer rows than the policy's minimum group."""

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": "FORBIDDEN", "reason": "min_group"}


@dataclass(frozen=True)
class FigureRule:
    """How figures over one type are published to one request: exact (``min_group`` None,
    a principal that reads the rows) or under the k rule of a counts-only policy."""

    min_group: int | None = None
    policy: str | None = None

    @property
    def exact(self) -> bool:
        return self.min_group is None

    def with_(self, other: FigureRule) -> FigureRule:
        """The stricter of two rules, for a figure computed over rows of two types."""
        if other.min_group is None:
            return self
        if self.min_group is None or other.min_group > self.min_group:
            return other
        return self

    def window(
        self, start: datetime | None, end: datetime | None
    ) -> tuple[datetime | None, datetime | None]:
        """A time window ``[start, end)`` as this rule lets it be counted: as asked when
        exact, else widened to whole days (start to its day's midnight, end to the next
        midnight unless it is one) in the city's time zone; a time without a zone is the
        city's."""
        if self.exact:
            return start, end
        return (
            None if start is None else _day_start(start),
            None if end is None else _day_end(end),
        )

    def require(self, rows: int, what: str) -> None:
        """Refuse a figure over ``rows`` rows (after every filter) fewer than k but some;
        ``what`` names them in the message ("cases", "firms")."""
        if not self.enough(rows):
            raise GroupTooSmall(
                f"these {what} are too few to be counted for you: figures served as counts "
                f"only describe at least {self.min_group} {what}"
                + (f" (policy {self.policy})" if self.policy else "")
                + "; widen the filter or the time window"
            )

    def enough(self, rows: int) -> bool:
        """Whether a single figure over ``rows`` rows may be published (none, or k or more)."""
        return self.min_group is None or rows == 0 or rows >= self.min_group

    def count(self, rows: int) -> int | None:
        """A single count as published: itself, or None (withheld) when too few."""
        return rows if self.enough(rows) else None

    def part(self, rows: int, whole: int) -> int | None:
        """A count within a published whole (the decided of all applications): itself when
        both it and the rest of the whole are none or k or more, else None (withheld)."""
        return rows if self.shown([rows, whole - rows]) == [True, True] else None

    def shown(self, sizes: Sequence[int], withheld: Sequence[bool] = ()) -> list[bool]:
        """Which groups of one breakdown (their row counts) may be published. Exact: all.
        Else a group of fewer than k rows (but some) is withheld, and while the withheld groups
        together hold fewer than k rows (but some), the smallest shown group is withheld
        too (complementary suppression: the total minus the shown groups would give them).
        ``withheld``: groups withheld already (a sub-count's column within a breakdown
        whose groups were withheld by their size)."""
        k = self.min_group
        if k is None:
            return [True] * len(sizes)
        show = [size >= k or size == 0 for size in sizes]  # "none" describes no row
        for i, gone in enumerate(withheld):
            show[i] = show[i] and not gone
        hidden = sum(size for size, s in zip(sizes, show, strict=True) if not s)
        while 0 < hidden < k:
            candidates = [i for i, s in enumerate(show) if s and sizes[i]]
            if not candidates:
                break  # the whole breakdown is below k: ``require`` refuses its total
            smallest = min(candidates, key=lambda i: (sizes[i], i))
            show[smallest] = False
            hidden += sizes[smallest]
        return show

    def publish(self, groups: Sequence[G], size: Callable[[G], int]) -> tuple[list[G], int]:
        """``shown`` applied to a breakdown: (the groups published, in order; how many were
        withheld)."""
        show = self.shown([size(g) for g in groups])
        kept = [g for g, s in zip(groups, show, strict=True) if s]
        return kept, len(groups) - len(kept)

    def publish_parts(
        self,
        groups: Sequence[G],
        size: Callable[[G], int],
        parts: Sequence[Callable[[G], int]],
    ) -> tuple[list[tuple[G, list[int | None]]], int]:
        """A breakdown whose groups carry sub-counts (a street's firms and its watched firms):
        the groups published by ``size`` as ``publish`` does, and each sub-count column
        published under the same rule, the withheld groups' sub-counts being its complement
        (a column's total minus its shown cells never gives fewer than k rows). Returns the
        shown groups with their sub-counts (None: withheld) and how many groups were
        withheld."""
        show = self.shown([size(g) for g in groups])
        gone = [not s for s in show]
        columns = [self.shown([part(g) for g in groups], gone) for part in parts]
        kept = [
            (
                g,
                [
                    part(g) if column[i] else None
                    for part, column in zip(parts, columns, strict=True)
                ],
            )
            for i, g in enumerate(groups)
            if show[i]
        ]
        return kept, len(groups) - len(kept)

    def publish_table(
        self,
        totals: Mapping[str, Any],
        lines: Sequence[Mapping[str, Any]],
        size: str,
        parts: Sequence[str],
        derived: Mapping[str, str] | None = None,
        what: str = "rows",
    ) -> tuple[dict[str, Any], list[dict[str, Any]], int]:
        """A table of figures: a totals line and one line per group (a department), each
        with its rows (``size``), counts within them (``parts``: open, overdue, …) and
        figures computed from some of its rows (``derived``: a mean or a sum -> the part
        counting the rows it is over). Published: too few rows refused; lines below k
        withheld with their complements (``publish_parts``); a part withheld (None) below k
        or when its rest is, and a derived figure with its part. Returns (totals, the lines
        shown, how many lines were withheld); exact: as given. ``what`` names the rows in a
        refusal ("cases")."""
        if self.exact:
            return dict(totals), [dict(line) for line in lines], 0
        whole = int(totals[size])
        self.require(whole, what)
        top = dict(totals) | {p: self.part(int(totals[p]), whole) for p in parts}
        kept, withheld = self.publish_parts(lines, column(size), [column(p) for p in parts])
        shown = [dict(line) | dict(zip(parts, values, strict=True)) for line, values in kept]
        for line in (top, *shown):
            for figure, part in (derived or {}).items():
                if line[part] is None:
                    line[figure] = None
        return top, shown, withheld


def column(name: str) -> Callable[[Mapping[str, Any]], int]:
    """A count of a line of figures (a dict) by its name: a group's size or a part."""
    return lambda line: int(line[name])


EXACT = FigureRule()


def _local(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CITY_TZ)
    return moment.astimezone(CITY_TZ)


def _day_start(moment: datetime) -> datetime:
    return datetime.combine(_local(moment).date(), time(), CITY_TZ)


def _day_end(moment: datetime) -> datetime:
    local = _local(moment)
    start = datetime.combine(local.date(), time(), CITY_TZ)
    if local == start:
        return start
    return datetime.combine(local.date() + timedelta(days=1), time(), CITY_TZ)
