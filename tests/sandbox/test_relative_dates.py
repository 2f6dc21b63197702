"""The running city's dates follow its clock: every generated moment moves by the clock's
shift (``simcity.sandbox.relative``), before each system renders it its own way; birth
dates, periods and identifiers stay as they are."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from simcity.binhai.context import BASE_TIME, CST
from simcity.clock import SimClock
from simcity.sandbox.dataset import SystemData, build, read_city
from simcity.sandbox.relative import moved, placed

START = datetime(2026, 12, 8, 9, 30, tzinfo=CST)
SHIFT = SimClock(start=START).shift  # 190 days 9 h 30 min


def _rec(
    kind: str, attrs: dict[str, Any], when: str = "2026-05-31T23:59:41+08:00"
) -> dict[str, Any]:
    return {"kind": kind, "key": f"{kind}-1", "source_system": "s",
            "source_id": "HL20260323000001", "fetched_at": when, "updated_at": when,
            "attrs": attrs, "geometry": None}  # fmt: skip


def later(text: str, shift: timedelta = SHIFT) -> str:
    return (datetime.fromisoformat(text) + shift).isoformat()


def test_moments_move_by_the_shift_and_dates_by_its_days() -> None:
    case = _rec("ServiceCase", {
        "reported_at": "2026-03-23T09:10:10+08:00", "title": "2026-03-23 路灯不亮",
        "history": [{"at": "2026-03-23T10:00:00+08:00", "note": "filed"}],
        "count": 3, "rating": None,
    })  # fmt: skip
    got = placed(case, SHIFT)
    assert got["fetched_at"] == got["updated_at"] == "2026-12-08T09:29:41+08:00"
    assert got["attrs"]["reported_at"] == later("2026-03-23T09:10:10+08:00")
    assert got["attrs"]["history"][0]["at"] == later("2026-03-23T10:00:00+08:00")
    # free text that starts like a date, numbers, nulls, identifiers: as they were
    assert got["attrs"]["title"] == "2026-03-23 路灯不亮"
    assert (got["attrs"]["count"], got["attrs"]["rating"]) == (3, None)
    assert (got["key"], got["source_id"]) == (case["key"], case["source_id"])
    assert case["attrs"]["reported_at"] == "2026-03-23T09:10:10+08:00"  # the input is kept

    enforcement = placed(_rec("EnforcementCase", {"filed_on": "2025-04-16",
                                                  "closed_on": None}), SHIFT)  # fmt: skip
    assert enforcement["attrs"]["filed_on"] == (date(2025, 4, 16) + timedelta(days=190)).isoformat()
    # a city started before the base time: dates move back by whole days (floored)
    early = timedelta(hours=-5)  # 2026-05-31T19:00 in Binhai: the day before
    assert moved("2026-05-31", early) == "2026-05-30"
    assert moved("2026-05-31T23:00:00+08:00", early) == "2026-05-31T18:00:00+08:00"
    assert placed(case, timedelta(0)) is case  # nothing to move


def test_birth_dates_periods_and_identifiers_stay() -> None:
    who = {
        "birth_date": "1988-02-29",
        "resident_id": "120116198802291234",
        "registered_at": "2019-04-13T00:00:00+08:00",
    }
    person = placed(_rec("Citizen", who), SHIFT)
    assert person["attrs"]["birth_date"] == "1988-02-29"
    assert person["attrs"]["resident_id"] == "120116198802291234"
    assert person["attrs"]["registered_at"] == later("2019-04-13T00:00:00+08:00")
    firm = placed(_rec("FinanceFirm", {"established": "2019-06-01", "report_period": "2026Q1",
                                       "license_no": "津金监许〔2019〕001号"}), SHIFT)  # fmt: skip
    assert firm["attrs"] == {"established": "2019-06-01", "report_period": "2026Q1",
                             "license_no": "津金监许〔2019〕001号"}  # fmt: skip
    stats = placed(_rec("EconomicIndicator", {"period": "2025"}), SHIFT)
    assert stats["attrs"]["period"] == "2025"


@pytest.fixture(scope="module")
def city(demo_dir: Path) -> dict[str, list[dict[str, Any]]]:
    return read_city(demo_dir)


@pytest.fixture(scope="module")
def builds(
    city: dict[str, list[dict[str, Any]]],
) -> tuple[dict[str, SystemData], dict[str, SystemData]]:
    return build(2019, city, timedelta(0)), build(2019, city, SHIFT)


def _compare(old: Any, new: Any, name: str, seen: Counter[str]) -> None:
    """Every string that parses as a moment moved (a date by whole days), unless an
    identifier carries it; everything else as it was."""
    if isinstance(old, dict):
        assert set(new) == set(old)
        for k in old:
            _compare(old[k], new[k], k, seen)
    elif isinstance(old, list):
        assert len(new) == len(old)
        for o, n in zip(old, new, strict=True):
            _compare(o, n, name, seen)
    elif isinstance(old, str) and name not in ("birth_date", "established"):
        moment = _iso(old)
        if moment is None:
            assert new == old, name
            return
        if "T" in old:
            assert datetime.fromisoformat(new) == moment + SHIFT, name
        else:
            assert date.fromisoformat(new) == moment.date() + timedelta(days=SHIFT.days), name
        seen[name] += 1
    else:
        assert new == old, name


def _iso(text: str) -> datetime | None:
    """A moment in ISO 8601's extended form (a resident ID parses as its basic form)."""
    if text[4:5] != "-" or text[7:8] != "-":
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def test_every_kind_of_the_city_moves_its_moments(city: dict[str, list[dict[str, Any]]]) -> None:
    seen: Counter[str] = Counter()
    for kind, records in city.items():
        for record in records[:20]:
            _compare(record, placed(record, SHIFT), kind, seen)
    # the times of the city's life the generator writes, among them
    life = {"fetched_at", "last_reading_at", "last_gps_at", "sampled_at", "submitted_at",
            "position_at", "slip_issued_at", "commissioned", "registered_at"}  # fmt: skip
    assert life <= set(seen), life - set(seen)


def _pairs(
    base: SystemData, live: SystemData, stream: str
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    key = base.mapping(stream).key
    by_key = {r[key]: r for r in live.streams[stream]}
    return [(r, by_key[r[key]]) for r in base.streams[stream][:50]]


def test_each_systems_native_rows_carry_the_shifted_dates(
    builds: tuple[dict[str, SystemData], dict[str, SystemData]],
) -> None:
    base, live = builds
    days = timedelta(days=SHIFT.days)
    checked: dict[str, int] = {}

    def same(system: str, stream: str, *fields: str) -> None:
        for old, new in _pairs(base[system], live[system], stream):
            for f in fields:
                assert new.get(f) == old.get(f), (system, f)

    def shifted(system: str, stream: str, field: str, by: timedelta = SHIFT) -> None:
        for old, new in _pairs(base[system], live[system], stream):
            if old.get(field) is None:
                continue
            if by == SHIFT:
                assert new[field] == later(old[field]), (system, field)
            else:
                assert date.fromisoformat(new[field]) - date.fromisoformat(old[field]) == by
            checked[f"{system}.{field}"] = checked.get(f"{system}.{field}", 0) + 1

    # pinyin SQL columns: the registry's update time moves, the founding date stays
    shifted("market-registry", "t_scztdj", "gxsj")
    same("market-registry", "t_scztdj", "clrq", "nbxh", "tyshxydm")
    # the population register: registration moves, the birth date (in the ID number) stays
    shifted("population", "t_rkjbxx", "djsj")
    same("population", "t_rkjbxx", "csrq", "gmsfhm")
    # the mailbox's letters (pinyin REST), the hotline's cases (camelCase webhook)
    shifted("district-mailbox", "mailbox/letters", "lxsj")
    shifted("service-hotline", "cases", "reportedAt")
    shifted("service-hotline", "cases", "updatedAt")
    # law enforcement's dates are dates: moved by whole days
    shifted("law-enforcement", "zf_ajxx", "larq", days)
    # spreadsheets with Chinese headers: the submission time moves, the period stays
    reports = base["finance-reports"].spec.mappings[0].stream
    shifted("finance-reports", reports, "报送时间")
    same("finance-reports", reports, "报告期")
    same("economic-stats", "statistics", "period")
    assert len(checked) >= 6 and all(n > 0 for n in checked.values()), checked
    # the newest generated moment is just before the base time: now just before the start
    newest = max(
        datetime.fromisoformat(r["reportedAt"]) for r in live["service-hotline"].streams["cases"]
    )
    assert START - timedelta(days=1) < newest <= START
    assert newest - SHIFT <= BASE_TIME
