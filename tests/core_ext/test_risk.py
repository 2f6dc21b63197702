"""Smoke index and tank alarms vs the plain-Python reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import core_ext
from core_ext import SmokeIndexConfig, TankLimits, TankMonitor, Transform
from core_ext.reference import risk as ref

finite = st.floats(-1e6, 1e6, allow_nan=False)
features_st = hnp.arrays(np.float64, st.tuples(st.integers(0, 30), st.just(5)), elements=finite)
transform_st = st.one_of(
    st.builds(
        lambda lo, w: Transform.linear(lo, lo + w), st.floats(-100, 100), st.floats(0.01, 100)
    ),
    st.builds(Transform.log, st.floats(0.01, 1e5)),
    st.builds(Transform.sigmoid, st.floats(-100, 100), st.floats(0.01, 100)),
)
config_st = st.builds(
    SmokeIndexConfig,
    weights=st.tuples(*[st.floats(0, 10)] * 5).filter(lambda w: sum(w) > 0.01),
    transforms=st.tuples(*[transform_st] * 5),
    bands=st.lists(st.floats(0, 100), min_size=0, max_size=4, unique=True).map(
        lambda b: tuple(sorted(b))
    ),
)


@settings(max_examples=80, deadline=None)
@given(features_st, st.one_of(st.none(), config_st))
def test_smoke_index_matches_reference(x: np.ndarray, cfg: SmokeIndexConfig | None) -> None:
    got = core_ext.smoke_index(x, cfg)
    scores, levels, contrib = ref.smoke_index(x.tolist(), cfg)
    assert got.scores.shape == (len(x),) and got.contributions.shape == (len(x), 5)
    np.testing.assert_allclose(got.scores, scores, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(got.contributions, np.asarray(contrib).reshape(-1, 5), atol=1e-9)
    bands = (cfg or SmokeIndexConfig()).bands
    for s, lg, lw in zip(got.scores, got.levels, levels, strict=True):
        if all(abs(s - b) > 1e-9 for b in bands):
            assert lg == lw
    # contributions explain the score; scores within 0..100
    np.testing.assert_allclose(got.contributions.sum(axis=1), got.scores, atol=1e-9)
    assert ((got.scores >= 0) & (got.scores <= 100 + 1e-9)).all()


def test_smoke_index_levels_and_explanations() -> None:
    x = np.array([[1.0, 1e4, 30.0, 10.0, 100.0], [0.0] * 5, [0.5, 100, 12, 2, 5]])
    r = core_ext.smoke_index(x)
    assert r.scores[0] == pytest.approx(100.0) and r.levels[0] == 3
    assert r.scores[1] == 0.0 and r.levels[1] == 0
    e = r.explain(2)
    assert list(e) == list(core_ext.SMOKE_DIMENSIONS)
    assert sum(e.values()) == pytest.approx(r.scores[2])
    # "above 40 is watched": exactly 40 is not above
    cfg = SmokeIndexConfig(weights=(1, 0, 0, 0, 0), transforms=(Transform.linear(0, 100),) * 5)
    r = core_ext.smoke_index(np.array([[40.0, 0, 0, 0, 0], [40.5, 0, 0, 0, 0]]), cfg)
    assert r.levels.tolist() == [0, 1]


def test_smoke_index_bad_input() -> None:
    good = np.zeros((2, 5))
    with pytest.raises(ValueError, match="finite"):
        core_ext.smoke_index(np.array([[0, 0, np.nan, 0, 0]]))
    with pytest.raises(ValueError, match="finite"):
        core_ext.smoke_index(np.array([[0, 0, np.inf, 0, 0]]))
    with pytest.raises(ValueError, match="shape"):
        core_ext.smoke_index(np.zeros((2, 4)))
    with pytest.raises(TypeError):
        core_ext.smoke_index(np.array([["a"] * 5]))
    with pytest.raises(ValueError, match="weights"):
        core_ext.smoke_index(good, SmokeIndexConfig(weights=(0, 0, 0, 0, 0)))
    with pytest.raises(ValueError, match="weights"):
        core_ext.smoke_index(good, SmokeIndexConfig(weights=(-1, 1, 1, 1, 1)))
    with pytest.raises(ValueError, match="hi > lo"):
        bad = (Transform.linear(1, 1),) * 5
        core_ext.smoke_index(good, SmokeIndexConfig(transforms=bad))
    with pytest.raises(ValueError, match="ascending"):
        core_ext.smoke_index(good, SmokeIndexConfig(bands=(60, 40)))
    with pytest.raises(ValueError, match="transforms"):
        core_ext.smoke_index(good, SmokeIndexConfig(transforms=(Transform.log(1),)))


limits = {
    "T1": TankLimits(high=8, high_high=9, low=1, max_rate_per_min=0.5, stale_after_s=600),
    "T2": TankLimits(high=80, low=10),
    7: TankLimits(high_high=5, max_rate_per_min=0.1, stale_after_s=60),
}
reading_st = st.tuples(st.sampled_from(list(limits)), st.floats(-5, 100), st.floats(0, 300))


@settings(max_examples=80, deadline=None)
@given(st.lists(st.lists(reading_st, max_size=15), max_size=4))
def test_tank_monitor_matches_reference(batches: list[list[tuple]]) -> None:  # type: ignore[type-arg]
    mon = TankMonitor(limits)
    rmon = ref.ReferenceTankMonitor(limits)
    clock = 0.0
    for batch in batches:
        ids, values, times = [], [], []
        for tid, v, dt in batch:
            clock += dt
            ids.append(tid)
            values.append(v)
            times.append(clock)
        got = mon.evaluate(ids, values, times)
        flags, rates = rmon.evaluate(ids, values, times)
        assert got.flags.tolist() == flags
        np.testing.assert_allclose(got.rates, rates, rtol=1e-12, equal_nan=True)
        assert mon.stale(clock) == rmon.stale(clock)


step_st = st.one_of(
    st.lists(reading_st, min_size=1, max_size=10),  # readings, each dt after the one before
    st.floats(0, 2000),  # a look at the silent tanks, this long after the last reading
)


@settings(max_examples=80, deadline=None)
@given(st.lists(step_st, max_size=10), st.sets(st.sampled_from(list(limits))))
def test_stale_without_a_reading_once_per_silence(steps: list, seeded: set) -> None:  # type: ignore[type-arg]
    """The hub's rules in the oracle (ReferenceTankAlarms): stale only for tanks that reported
    (a seeded last value is not a report), at most once per silence whether a look at ``now``
    or the reading ending it sees it first; the kernel's stale(now) agrees with the reference's
    at any ``now``, not only at a batch's end."""
    mon = TankMonitor(limits)
    seed = {tid: (1.0, 0.0) for tid in seeded}
    if seed:
        mon.evaluate(list(seed), [v for v, _ in seed.values()], [t for _, t in seed.values()])
    rules = ref.ReferenceTankAlarms(limits, seed)
    clock = 0.0
    told: set[tuple[object, float]] = set()  # (tank, the reading its silence began at)
    for step in steps:
        if isinstance(step, float):
            now = clock + step
            assert mon.stale(now) == rules.monitor.stale(now)
            raised = rules.silent(now)
            assert {tid for _, tid, _ in raised} <= set(mon.stale(now)) & rules.reported
            assert rules.silent(now) == []  # the same silence is not raised twice
            for _, tid, _ in raised:
                began = rules.monitor.last[tid][1]
                assert (tid, began) not in told
                told.add((tid, began))
            continue
        ids, values, times = [], [], []
        for tid, v, dt in step:
            clock += dt
            ids.append(tid)
            values.append(v)
            times.append(clock)
        before = {tid: t for tid, (_, t) in rules.monitor.last.items()}
        was_reported = set(rules.reported)
        flags = mon.evaluate(ids, values, times).flags.tolist()
        raised = rules.evaluate(ids, values, times)
        began = []  # each reading's previous one of its tank: where a silence it ends began
        for tid, t in zip(ids, times, strict=True):
            began.append(before.get(tid))
            before[tid] = t
        used: set[int] = set()
        for name, tid, t in raised:
            if name != "stale":
                continue
            # a silence a reading ends: flagged by the kernel, of a tank that had reported
            i = next(
                i
                for i in range(len(ids))
                if i not in used and ids[i] == tid and times[i] == t
                and flags[i] & core_ext.TANK_STALE
            )  # fmt: skip
            used.add(i)
            assert tid in was_reported or tid in ids[:i]
            assert (tid, began[i]) not in told
            told.add((tid, began[i]))


def test_tank_alarms_examples() -> None:
    e = core_ext.evaluate_tank_readings(
        limits, ["T1", "T1", "T1", "T2"], [5, 8.5, 9.5, 5], [0, 60, 1000, 0]
    )
    assert e.alarms(0) == [] and e.alarms(1) == ["high", "rate"]
    assert e.alarms(2) == ["high", "high_high", "stale"] and e.alarms(3) == ["low"]
    assert math.isnan(e.rates[0]) and e.rates[1] == pytest.approx(3.5)
    mon = TankMonitor(limits)
    assert mon.last_reading("T1") is None
    mon.evaluate(np.array([7, 7]), [1.0, 1.0], [0.0, 0.0])
    assert mon.last_reading(7) == (1.0, 0.0)
    assert sorted(map(str, mon.stale(30.0))) == ["T1", "T2"]  # 7 read 30 s ago: fresh
    assert set(mon.stale(100.0)) == {"T1", "T2", 7}
    assert len(mon) == 3


def test_tank_bad_input() -> None:
    mon = TankMonitor(limits)
    with pytest.raises(KeyError, match="T9"):
        mon.evaluate(["T1", "T9"], [1, 2], [0, 1])
    with pytest.raises(ValueError, match="back in time"):
        mon.evaluate(["T1", "T1"], [1, 2], [10, 5])
    assert mon.last_reading("T1") is None  # all-or-nothing
    with pytest.raises(ValueError, match="finite"):
        mon.evaluate(["T1"], [np.nan], [0])
    with pytest.raises(ValueError, match="same length"):
        mon.evaluate(["T1", "T1"], [1], [0, 1])
    with pytest.raises(TypeError):
        mon.evaluate(["T1"], ["x"], [0])
    with pytest.raises(TypeError):
        mon.evaluate([1.5], [1.0], [0])
    with pytest.raises(KeyError):
        mon.last_reading("nope")
    with pytest.raises(ValueError, match="high_high"):
        TankMonitor({"A": TankLimits(high=9, high_high=8)})
    with pytest.raises(ValueError, match="infinite"):
        TankMonitor({"A": TankLimits(high=math.inf)})
    with pytest.raises(TypeError):
        TankMonitor({"A": {"high": 1}})  # type: ignore[dict-item]
