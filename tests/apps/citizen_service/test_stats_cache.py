"""The centre's per-case facts and its shared statistics (``shared_stats``): the same answer
as counting afresh, shared within a second, a new answer as soon as a case changes (here or
by another worker), and never shared between callers whose visible rows differ."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hub.apps.citizen_service.services import CaseFilter, CitizenServiceCentre, Intake
from hub.cases import Caller
from hub.store import RecordStore
from schema.record import Record
from tests.apps.citizen_service.test_citizen_service import _sandbox_cases

CELL = "BH-ZHONGTANG-001"
OPS = ("operator",)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC).replace(microsecond=100_000)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def store(
    demo_store: RecordStore, demo_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RecordStore]:
    folder = tmp_path_factory.mktemp("stats-cache")
    source = sqlite3.connect(demo_store.engine.url.database)
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    copy = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    copy.upsert(_sandbox_cases(demo_dir))
    yield copy
    copy.close()


def _every(_r: Record) -> bool:
    return True


def _fresh(c: CitizenServiceCentre, f: CaseFilter, visible: Any = _every) -> dict[str, Any]:
    return c.stats(c.find(f, visible))


def _cell(stats: dict[str, Any], key: str = CELL) -> dict[str, Any]:
    return next(b for b in stats["grid_cell"] if b["key"] == key)


def _file_here(c: CitizenServiceCentre, store: RecordStore) -> Record:
    cell = store.get("GridCell", CELL)
    assert cell is not None
    inspector = store.get("Inspector", cell.attrs["inspector"])
    assert inspector is not None and inspector.geometry is not None
    lon, lat = inspector.geometry["coordinates"]
    intake = Intake(
        channel="grid",
        description="路灯不亮已经三天",
        lon=float(lon),
        lat=float(lat),
        category="C02",  # not a duplicate of the last run's (a fresh key and category each)
        reported_at=c.clock() - timedelta(hours=1),
    )
    record = c.file(intake, Caller("test", tuple(OPS))).record
    return record


def test_shared_stats_are_the_fresh_counts_shared_within_the_second(store: RecordStore) -> None:
    clock = Clock()
    c = CitizenServiceCentre(store, clock=clock)
    everything = CaseFilter()
    first = c.shared_stats(everything, _every, ("all",))
    assert first == _fresh(c, everything)
    assert first["total"] > 100
    assert c.shared_stats(everything, _every, ("all",)) is first
    # another filter is another answer
    open_only = CaseFilter(status=["filed", "verifying"])
    narrower = c.shared_stats(open_only, _every, ("all",))
    assert narrower == _fresh(c, open_only) and narrower != first
    clock.now += timedelta(seconds=1)
    later = c.shared_stats(everything, _every, ("all",))
    assert later is not first and later == _fresh(c, everything)


def test_a_changed_case_changes_the_shared_stats_at_once(store: RecordStore) -> None:
    clock = Clock()
    c = CitizenServiceCentre(store, clock=clock)
    everything = CaseFilter()
    before = c.shared_stats(everything, _every, ("all",))
    record = _file_here(c, store)  # same second: the centre's own change
    filed = c.shared_stats(everything, _every, ("all",))
    assert filed["total"] == before["total"] + 1
    assert _cell(filed)["open"] == _cell(before)["open"] + 1
    assert filed == _fresh(c, everything)
    # another worker closes it (dispatch, not confirmed), still in the same second
    other = CitizenServiceCentre(store, clock=clock)
    other.transition(record.key, "dispatch", "test", OPS, confirmed=False)
    closed = c.shared_stats(everything, _every, ("all",))
    assert _cell(closed)["open"] == _cell(before)["open"]
    assert closed["sla"]["open_on_time"] + closed["sla"]["open_overdue"] == (
        before["sla"]["open_on_time"] + before["sla"]["open_overdue"]
    )
    assert closed == _fresh(c, everything)
    # the facts follow the stored version: the case is closed for the filters too
    assert record.key not in {r.key for r in c.find(CaseFilter(status=["filed"]), _every)}
    assert record.key in {r.key for r in c.find(CaseFilter(status=["closed"]), _every)}


def test_the_clock_moves_cases_into_overdue(store: RecordStore) -> None:
    clock = Clock()
    c = CitizenServiceCentre(store, clock=clock)
    late = CaseFilter(overdue=True)
    record = _file_here(c, store)
    now = c.shared_stats(late, _every, ("all",))
    assert record.key not in {r.key for r in c.find(late, _every)}
    clock.now += timedelta(days=400)  # past every deadline of the catalog
    then = c.shared_stats(late, _every, ("all",))
    assert record.key in {r.key for r in c.find(late, _every)}
    assert then == _fresh(c, late)
    assert then["total"] > now["total"]


def test_callers_seeing_different_rows_never_share_an_answer(store: RecordStore) -> None:
    clock = Clock()
    c = CitizenServiceCentre(store, clock=clock)
    everything = CaseFilter()
    streets = sorted({str(r.attrs.get("street")) for r in c.cases().values()})
    street = streets[0]

    def one_street(r: Record) -> bool:
        return r.attrs.get("street") == street

    mine = c.shared_stats(everything, one_street, ("street", street))
    assert mine == _fresh(c, everything, one_street)
    every = c.shared_stats(everything, _every, ("all",))
    assert every == _fresh(c, everything)
    assert mine["total"] < every["total"]
    assert {b["key"] for b in mine["grid_cell"]} < {b["key"] for b in every["grid_cell"]}
    assert c.shared_stats(everything, one_street, ("street", street)) is mine
