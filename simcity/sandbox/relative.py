"""Generated dates, placed in a running city: what the generator anchored at ``BASE_TIME``
moves by the clock's shift (:attr:`simcity.clock.SimClock.shift`), so the demo always looks
like today.

A moment is a string in ISO 8601: one with a time (``2026-05-31T23:59:41+08:00``) moves by
the shift, a date alone (``2026-05-31``) by the shift's whole days, anywhere in a record's
``fetched_at`` / ``updated_at`` and its attributes, nested values too (a history's times).
What is not a moment of the city's life does not move:

* identifiers (keys, source ids, licence and case numbers): a record keeps its identity from
  one run to the next, whatever day the city starts;
* periods (``"2025Q1"``, ``"2025"``) are not ISO dates: a report covers the period it covers;
* dates an identifier carries (:data:`KEPT`), so the two keep agreeing.

Tanks' commissioning dates, cameras' installation and licences' expiry move like any date:
nothing else states them, and a licence "expiring next month" should stay next month.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any

KEPT = frozenset(
    {
        "birth_date",  # inside the resident ID number (GB 11643: area, birth date, sequence)
        "established",  # its year is inside a finance firm's licence number (津金监许〔2019〕)
    }
)
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def moved(value: Any, shift: timedelta) -> Any:
    """``value`` with every moment in it moved by ``shift`` (a new object; ``value`` is kept)."""
    if isinstance(value, str):
        if _MOMENT.match(value):
            try:
                return (datetime.fromisoformat(value) + shift).isoformat()
            except ValueError:
                return value  # looks like a moment, is not one: as the source wrote it
        if len(value) == 10 and _DAY.fullmatch(value):
            try:
                return (date.fromisoformat(value) + timedelta(days=shift.days)).isoformat()
            except ValueError:
                return value
        return value
    if isinstance(value, dict):
        return {k: v if k in KEPT else moved(v, shift) for k, v in value.items()}
    if isinstance(value, list):
        return [moved(v, shift) for v in value]
    return value


def placed(record: dict[str, Any], shift: timedelta) -> dict[str, Any]:
    """A generated record (hub form) with its times and its attributes' moments moved."""
    if not shift:
        return record
    out = dict(record)
    for name in ("fetched_at", "updated_at"):
        if name in out:
            out[name] = moved(out[name], shift)
    out["attrs"] = moved(record.get("attrs") or {}, shift)
    return out
