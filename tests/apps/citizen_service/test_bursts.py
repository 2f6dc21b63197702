"""The burst rule of the citizen-service centre (hub.apps.citizen_service.duplicates): a case
that gathers three merged reports within an hour has a cases.burst alarm, named by the report
that completed it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.apps.citizen_service.duplicates import BURST_REPORTS, burst_of
from schema.record import Record

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def case(merged_minutes: list[float], last_step: str = "merge") -> Record:
    reporters: list[dict[str, Any]] = [{"name": "first", "case": "C0", "at": T0.isoformat()}]
    reporters += [
        {"name": f"r{i}", "case": f"C{i}", "at": (T0 + timedelta(minutes=m)).isoformat()}
        for i, m in enumerate(merged_minutes, start=1)
    ]
    return Record(
        kind="ServiceCase", key="CASE-HL-1", source_system="service-hotline", source_id="HL1",
        fetched_at=T0, geometry={"type": "Point", "coordinates": [117.7, 39.0]}, datum="GCJ-02",
        attrs={"reporters": reporters, "subcategory_name": "道路积水", "street": "泰达街道",
               "history": [{"action": "merge"}, {"action": last_step}]},
    )  # fmt: skip


def test_the_merge_that_completes_a_burst_names_it() -> None:
    assert BURST_REPORTS == 3
    assert burst_of(case([1, 2])) is None  # two merged reports: not yet
    alarm = burst_of(case([1, 2, 4]))
    assert alarm is not None and alarm.kind == "cases.burst"
    assert alarm.subject_key == "CASE-HL-1" and alarm.value == 3 and alarm.lon == 117.7
    # the case's later versions (a fourth report, a later step) name the same alarm: the
    # watch raises it once (a stored alarm of that id is not raised again)
    for later in (case([1, 2, 4, 5]), case([1, 2, 4], last_step="dispatch")):
        again = burst_of(later)
        assert again is not None and again.id == alarm.id


def test_reports_spread_over_more_than_an_hour_are_no_burst() -> None:
    assert burst_of(case([0, 70, 140])) is None
    late = burst_of(case([0, 70, 100, 120]))  # three within the last hour: the fourth's burst
    assert late is not None and late.id.endswith("-C4")
