"""PointIndex vs the linear-scan reference: nearest / within with filters, moves, removals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_ext import PointIndex
from core_ext.reference.points import ReferencePointIndex

CATS = ["water", "fire", "muck", ""]

lon_st = st.floats(117.0, 118.2)
lat_st = st.floats(38.5, 39.4)
ids_st = st.one_of(st.integers(-5, 40), st.sampled_from(["a", "b", "inspector-7", "张三"]))

op_st = st.one_of(
    st.tuples(st.just("upsert"), ids_st, lon_st, lat_st, st.booleans(), st.sampled_from(CATS)),
    st.tuples(st.just("move"), ids_st, lon_st, lat_st),
    st.tuples(st.just("remove"), ids_st),
    st.tuples(
        st.just("nearest"),
        lon_st,
        lat_st,
        st.integers(0, 6),
        st.sampled_from([None, True, False]),
        st.sampled_from([None, ["water"], ["fire", "muck"], ["nope"]]),
    ),
    st.tuples(
        st.just("within"),
        lon_st,
        lat_st,
        st.floats(0, 60_000),
        st.sampled_from([None, True, False]),
        st.sampled_from([None, ["water"], ["fire", ""]]),
    ),
)


def _same(got: list[tuple[object, float]], want: list[tuple[object, float]]) -> None:
    assert [g[0] for g in got] == [w[0] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[1] == pytest.approx(w[1], rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(op_st, max_size=60))
def test_matches_reference(ops: list[tuple]) -> None:  # type: ignore[type-arg]
    idx = PointIndex()
    ref = ReferencePointIndex()
    for op in ops:
        kind = op[0]
        if kind == "upsert":
            _, pid, lon, lat, duty, cat = op
            idx.upsert(pid, lon, lat, on_duty=duty, category=cat)
            ref.upsert(pid, lon, lat, on_duty=duty, category=cat)
        elif kind in ("move", "remove"):
            pid = op[1]
            if pid in ref.points:
                if kind == "move":
                    idx.move(pid, op[2], op[3])
                    ref.move(pid, op[2], op[3])
                else:
                    idx.remove(pid)
                    ref.remove(pid)
            else:
                with pytest.raises(KeyError):
                    if kind == "move":
                        idx.move(pid, op[2], op[3])
                    else:
                        idx.remove(pid)
        elif kind == "nearest":
            _, lon, lat, k, duty, cats = op
            _same(
                idx.nearest(lon, lat, k, on_duty=duty, categories=cats),
                ref.nearest(lon, lat, k, on_duty=duty, categories=cats),
            )
        else:
            _, lon, lat, radius, duty, cats = op
            _same(
                idx.within(lon, lat, radius, on_duty=duty, categories=cats),
                ref.within(lon, lat, radius, on_duty=duty, categories=cats),
            )
        assert len(idx) == len(ref.points)


def test_batches_match_reference() -> None:
    rng = np.random.default_rng(11)
    n = 3000
    ids = np.arange(n) * 7
    lon = rng.uniform(117.2, 118.0, n)
    lat = rng.uniform(38.6, 39.3, n)
    duty = rng.random(n) < 0.6
    cats = [CATS[i % 3] for i in range(n)]
    idx = PointIndex()
    idx.upsert_many(ids, lon, lat, duty, cats)
    ref = ReferencePointIndex()
    for i in range(n):
        ref.upsert(int(ids[i]), lon[i], lat[i], on_duty=bool(duty[i]), category=cats[i])
    for _ in range(3):
        lon = lon + rng.normal(0, 1e-3, n)
        lat = lat + rng.normal(0, 1e-3, n)
        idx.move_many(ids, lon, lat)
        for i in range(n):
            ref.move(int(ids[i]), lon[i], lat[i])
        qx, qy = rng.uniform(117.2, 118.0, 20), rng.uniform(38.6, 39.3, 20)
        got_ids, got_d = idx.nearest_many(qx, qy, 4, on_duty=True, categories="water")
        for j in range(20):
            want = ref.nearest(qx[j], qy[j], 4, on_duty=True, categories=["water"])
            assert got_ids[j].tolist() == [w[0] for w in want]
            assert got_d[j] == pytest.approx([w[1] for w in want], rel=1e-12)
    # a query far away from every point still finds them (exact bounds, not heuristics)
    far = idx.nearest(-70.0, -30.0, 2)
    assert [f[0] for f in far] == [w[0] for w in ref.nearest(-70.0, -30.0, 2)]


def test_nearest_many_padding_and_attributes() -> None:
    idx = PointIndex()
    idx.upsert(1, 117.7, 39.0, on_duty=True, category="water")
    idx.upsert(2, 117.71, 39.0, on_duty=False, category="fire")
    ids, d = idx.nearest_many([117.7], [39.0], 3)
    assert ids.tolist() == [[1, 2, -1]] and math.isinf(d[0, 2])
    idx.set_attributes(2, on_duty=True)
    assert [i for i, _ in idx.nearest(117.7, 39.0, 5, on_duty=True)] == [1, 2]
    assert idx.get(2) == (117.71, 39.0, True, "fire")
    assert 1 in idx and 3 not in idx and "x" not in idx
    assert idx.ids() == [1, 2]
    idx.upsert("s", 117.0, 39.0)
    with pytest.raises(TypeError, match="integer ids"):
        idx.nearest_many([117.7], [39.0], 1)
    assert idx.within(117.7, 39.0, 0.0) == [(1, 0.0)]


def test_bad_input() -> None:
    idx = PointIndex()
    idx.upsert(1, 117.7, 39.0)
    with pytest.raises(KeyError):
        idx.move(2, 117.7, 39.0)
    with pytest.raises(KeyError):
        idx.remove("nope")
    with pytest.raises(KeyError):
        idx.get(9)
    with pytest.raises(KeyError):
        idx.move_many([1, 2], [117.0, 117.0], [39.0, 39.0])
    assert idx.get(1)[:2] == (117.7, 39.0)  # all-or-nothing
    with pytest.raises(ValueError, match="finite"):
        idx.upsert(3, float("nan"), 39.0)
    with pytest.raises(ValueError, match="latitude"):
        idx.move(1, 117.0, 95.0)
    with pytest.raises(ValueError, match="finite"):
        idx.nearest(117.0, float("inf"))
    with pytest.raises(ValueError, match="radius"):
        idx.within(117.0, 39.0, -1.0)
    with pytest.raises(ValueError, match="same length"):
        idx.upsert_many([1, 2], [117.0], [39.0])
    with pytest.raises(ValueError, match="index 1"):
        idx.nearest_many([117.0, np.nan], [39.0, 39.0])
    with pytest.raises(TypeError):
        idx.upsert(1.5, 117.0, 39.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        idx.upsert(True, 117.0, 39.0)
    with pytest.raises(TypeError):
        idx.upsert_many(np.array([1.0]), [117.0], [39.0])
    with pytest.raises(TypeError):
        idx.upsert_many([1], ["a"], [39.0])
    with pytest.raises(TypeError):
        idx.upsert_many([1], [117.0], [39.0], on_duty=[1])
    with pytest.raises(TypeError):
        idx.nearest(117.0, 39.0, categories=[1])  # type: ignore[list-item]
    assert len(idx) == 1
