"""The demo's cases look like a working city's at the clock's start: filed over the last 90
days (more of them lately, some today and this week), most old ones done, and of the open
ones a share past their deadline inside the configured band — per duty category, per request
type of the enterprise platform, and overall — as the hub counts them: the systems' native
rows read through their connectors' mappings into a store, judged by the citizen-service
centre's own rules (its deadlines and ``CASE.overdue``)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from connectors.binhai import binhai_area
from connectors.errors import MappingError
from connectors.validate import RecordValidator
from hub.apps.citizen_service.services import CitizenServiceCentre
from hub.cases import DONE, OPEN
from hub.store import RecordStore
from schema.record import Record
from simcity.binhai.context import CST
from simcity.clock import SimClock
from simcity.sandbox.dataset import build, read_city
from simcity.sandbox.shares import OVERDUE_BAND

START = datetime(2026, 12, 8, 9, 30, tzinfo=CST)
CHANNELS = ("service-hotline", "snap-and-send", "district-mailbox", "zero-distance")
PLATFORM = "enterprise-service"


@pytest.fixture(scope="module")
def centre(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[CitizenServiceCentre, list[Record]]
]:  # fmt: skip
    systems = build(2019, read_city(demo_dir), SimClock(start=START).shift)
    validator = RecordValidator(binhai_area())
    records: list[Record] = []
    for system in (*CHANNELS, PLATFORM, "grid-management"):
        data = systems[system]
        for mapping in data.spec.mappings:
            if mapping.kind not in ("ServiceCase", "DutyCategory", "DutySubCategory"):
                continue
            for row in data.streams[mapping.stream]:
                try:
                    record = mapping.to_record(row, system, START)
                except MappingError:
                    continue  # quarantined by the hub
                if validator.reason(record) is None:
                    records.append(record)
    store = RecordStore.from_url(f"sqlite:///{tmp_path_factory.mktemp('shares') / 'hub.db'}")
    store.migrate()
    store.upsert(records)
    cases = [r for r in records if r.kind == "ServiceCase"]
    yield CitizenServiceCentre(store, clock=lambda: START), cases
    store.close()


def _share(late: int, open_: int) -> float:
    return late / open_ if open_ else 0.0


def test_the_overdue_share_of_open_cases_lies_in_the_band(
    centre: tuple[CitizenServiceCentre, list[Record]],
) -> None:
    desk, cases = centre
    lo, hi = OVERDUE_BAND
    ours = [r for r in cases if r.source_system in CHANNELS]
    assert len(ours) > 5000
    by_category: dict[str, list[bool]] = defaultdict(list)
    for r in ours:
        if desk.facts(r).status in OPEN:
            by_category[str(r.attrs["category"])].append(desk.overdue(r))
    assert len(by_category) == 13
    for category, late in sorted(by_category.items()):
        assert len(late) >= 20, (category, len(late))
        assert lo <= _share(sum(late), len(late)) <= hi, (category, sum(late), len(late))
    # the centre's own figures for the ops centre agree, overall
    sla = desk.stats(ours)["sla"]
    open_cases = sla["open_overdue"] + sla["open_on_time"]
    assert open_cases == sum(len(v) for v in by_category.values())
    assert lo <= _share(sla["open_overdue"], open_cases) <= hi
    # most cases are done, and most of those were done in time
    assert open_cases < 0.3 * len(ours)
    assert sla["on_time_rate"] is not None and sla["on_time_rate"] > 0.8


def test_cases_were_filed_lately_with_deadlines_ahead_and_behind(
    centre: tuple[CitizenServiceCentre, list[Record]],
) -> None:
    desk, cases = centre
    ours = [desk.facts(r) for r in cases if r.source_system in CHANNELS]
    age = Counter[str]()
    for x in ours:
        assert START - timedelta(days=90) <= x.reported <= START
        days = (START - x.reported) / timedelta(days=1)
        age["today" if x.reported.astimezone(CST).date() == START.date() else "earlier"] += 1
        age["week"] += days <= 7
        age["recent month"] += days <= 30
        age["last month of the window"] += days > 60
        if days > 30:
            age["old"] += 1
            age["old and open"] += x.status in OPEN
    assert age["today"] >= 20 and age["week"] >= 200, age
    assert age["recent month"] > 1.5 * age["last month of the window"], age
    assert age["old and open"] < 0.05 * age["old"], age
    open_ = [x for x in ours if x.status in OPEN]
    ahead = [x for x in open_ if x.due is not None and x.due > START]
    behind = [x for x in open_ if x.due is not None and x.due <= START]
    assert len(ahead) + len(behind) == len(open_)
    assert ahead and behind and len(ahead) > len(behind)
    # a done case's clock stopped when its system says it was done, before the start
    done = [x for x in ours if x.status in DONE]
    assert done and all(x.record.attrs.get("resolved_at") for x in done)
    assert all(x.resolved is not None and x.reported <= x.resolved <= START for x in done)


def test_the_enterprise_platforms_requests_share_the_band(
    centre: tuple[CitizenServiceCentre, list[Record]],
) -> None:
    desk, cases = centre
    lo, hi = OVERDUE_BAND
    requests = [r for r in cases if r.source_system == PLATFORM]
    assert len(requests) == 500
    by_type: dict[str, list[bool]] = defaultdict(list)
    for r in requests:
        x = desk.facts(r)
        assert x.due is not None and x.department == r.attrs["handling_department"]
        if x.status in OPEN:
            by_type[str(r.attrs["request_type"])].append(desk.overdue(r))
    assert len(by_type) == 6
    for kind, late in sorted(by_type.items()):
        assert lo <= _share(sum(late), len(late)) <= hi, (kind, sum(late), len(late))
    flat = [v for late in by_type.values() for v in late]
    assert lo <= _share(sum(flat), len(flat)) <= hi
    # both of the platform's open words are read as loop states
    assert {desk.facts(r).status for r in requests} >= {"filed", "handling", "resolved"}
