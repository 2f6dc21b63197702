"""How old the demo's service cases and firms' requests are, seen from the clock's start
(``BASE_TIME`` here; the running city moves it to the start, :mod:`simcity.sandbox.relative`):

* filed over the last :data:`HISTORY_DAYS` (requests: :data:`REQUEST_DAYS`), more of them
  recently (ages exponential with mean :data:`RECENT_DAYS`, cut at the window);
* most are done by now: :data:`OPEN_SHARE` of them are still open (requests, whose limits
  are days long: :data:`REQUEST_OPEN_SHARE`);
* of the open ones, a share of each group (a duty category, a request type) is past its time
  limit: the group's target, drawn from the seed inside :data:`OVERDUE_BAND` and
  :data:`OVERDUE_MARGIN` in from its edges, kept by a running count (:class:`Quota`) however
  many the group holds. An open one on time was filed within its limit (its deadline ahead:
  many today and this week), an overdue one before it (its deadline behind). So open cases
  crowd the last days more than the filing rate alone would: the price of enough open cases
  per group for its share to mean something;
* done ones were done within their limit, :data:`LATE_DONE_SHARE` of them after it, and
  always before the start.

The time limits are the hub's rule (a case: its duty sub-category's; a request: its type's),
so the shares hold as the hub counts them.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from simcity.binhai.context import BASE_TIME

HISTORY_DAYS = 90
REQUEST_DAYS = 180
RECENT_DAYS = 45.0
OPEN_SHARE = 0.12
REQUEST_OPEN_SHARE = 0.2
OVERDUE_BAND = (0.05, 0.35)  # the overdue share of open cases, per category / request type
OVERDUE_MARGIN = 0.05  # each group's target keeps this far inside the band
LATE_DONE_SHARE = 0.12
LATE_BY_DAYS = 3.0  # how long past its deadline an overdue case has waited, on average


def targets(rng: random.Random, groups: Iterable[str]) -> dict[str, float]:
    """Each group's target share of overdue among its open cases, inside the band."""
    lo, hi = OVERDUE_BAND
    return {g: round(rng.uniform(lo + OVERDUE_MARGIN, hi - OVERDUE_MARGIN), 3) for g in groups}


@dataclass
class Quota:
    """A group's open cases: the next one is overdue when that keeps the group's count at
    its target share, rounded (so the share is within half a case of the target)."""

    target: float
    open: int = 0
    overdue: int = 0

    def next_overdue(self) -> bool:
        self.open += 1
        late = math.floor(self.target * self.open + 0.5) > self.overdue
        self.overdue += late
        return late


@dataclass(frozen=True)
class Timing:
    reported: datetime
    done: datetime | None  # None: still open
    overdue: bool  # open and past its time limit

    @property
    def updated(self) -> datetime:
        """When its system last changed it: at the filing's or the last step's time."""
        return self.done or self.reported


def timing(
    rng: random.Random,
    limit_hours: float,
    quota: Quota,
    open_share: float = OPEN_SHARE,
    days: int = HISTORY_DAYS,
) -> Timing:
    """When a case with this time limit was filed and done, as its group's quota says."""
    limit = timedelta(hours=limit_hours)
    window = timedelta(days=days)
    if rng.random() < open_share:
        if quota.next_overdue():
            late_by = limit * rng.uniform(0.05, 1.0) + timedelta(
                days=rng.expovariate(1 / LATE_BY_DAYS)
            )
            age = min(limit + late_by, window - timedelta(minutes=1))
            return Timing(BASE_TIME - age, None, True)
        return Timing(BASE_TIME - limit * rng.uniform(0.02, 0.85), None, False)
    age = _recent_age(rng, days)
    late = rng.random() < LATE_DONE_SHARE
    took = limit * (rng.uniform(1.05, 3.0) if late else rng.uniform(0.1, 0.95))
    took = min(took, age * rng.uniform(0.3, 0.95))  # done before now
    return Timing(BASE_TIME - age, BASE_TIME - age + took, False)


def _recent_age(rng: random.Random, window_days: int) -> timedelta:
    """An age within the window, exponential with mean RECENT_DAYS (cut at the window)."""
    cut = 1 - math.exp(-window_days / RECENT_DAYS)
    days = -RECENT_DAYS * math.log(1 - rng.random() * cut)
    return max(timedelta(days=days), timedelta(minutes=5))
