"""Datums and distances: compiled vs the plain-Python oracle, plus bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core_ext
from core_ext.reference import geodesy as ref

lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(-90, 90, allow_nan=False)
china_lons = st.floats(73.0, 135.0)
china_lats = st.floats(1.0, 55.0)


@given(lons, lats)
def test_wgs84_to_gcj02_matches_reference(lon: float, lat: float) -> None:
    got = core_ext.wgs84_to_gcj02(lon, lat)
    want = ref.wgs84_to_gcj02(lon, lat)
    assert got == pytest.approx(want, abs=1e-12, rel=0)


@given(lons, lats)
def test_gcj02_to_wgs84_matches_reference(lon: float, lat: float) -> None:
    got = core_ext.gcj02_to_wgs84(lon, lat)
    want = ref.gcj02_to_wgs84(lon, lat)
    assert got == pytest.approx(want, abs=1e-11, rel=0)


@given(china_lons, china_lats)
def test_reverse_round_trip_within_1e_7_degree(lon: float, lat: float) -> None:
    glon, glat = core_ext.wgs84_to_gcj02(lon, lat)
    wlon, wlat = core_ext.gcj02_to_wgs84(glon, glat)
    assert abs(wlon - lon) < 1e-7 and abs(wlat - lat) < 1e-7
    # and the forward image of the reverse is the GCJ input
    assert core_ext.wgs84_to_gcj02(wlon, wlat) == pytest.approx((glon, glat), abs=1e-9)


def test_known_values() -> None:
    # Tianjin Binhai (TEDA): GCJ-02 shifts by a few hundred metres
    glon, glat = core_ext.wgs84_to_gcj02(117.7, 39.0)
    shift = core_ext.haversine_m(117.7, 39.0, glon, glat)
    assert 300 < shift < 800
    # outside China: unchanged
    assert core_ext.wgs84_to_gcj02(2.35, 48.85) == (2.35, 48.85)
    assert core_ext.gcj02_to_wgs84(-74.0, 40.7) == (-74.0, 40.7)
    # a quarter of the equator
    assert core_ext.haversine_m(0, 0, 90, 0) == pytest.approx(math.pi / 2 * core_ext.EARTH_RADIUS_M)
    assert core_ext.haversine_m(117.0, 39.0, 117.0, 39.0) == 0.0


@given(lons, lats, lons, lats)
def test_haversine_matches_reference(a: float, b: float, c: float, d: float) -> None:
    assert core_ext.haversine_m(a, b, c, d) == pytest.approx(
        ref.haversine_m(a, b, c, d), abs=1e-6, rel=1e-12
    )


@settings(max_examples=50)
@given(st.lists(st.tuples(lons, lats, lons, lats), max_size=50))
def test_vectorised_equal_scalar(rows: list[tuple[float, float, float, float]]) -> None:
    arr = np.array(rows, dtype=np.float64).reshape(-1, 4)
    x1, y1, x2, y2 = arr.T
    d = core_ext.haversine_m_many(x1, y1, x2, y2)
    assert d.dtype == np.float64 and d.shape == (len(rows),)
    for i, r in enumerate(rows):
        assert d[i] == pytest.approx(ref.haversine_m(*r), abs=1e-6, rel=1e-12)
    gx, gy = core_ext.wgs84_to_gcj02_many(x1, y1)
    wx, wy = core_ext.gcj02_to_wgs84_many(x1, y1)
    for i, r in enumerate(rows):
        assert (gx[i], gy[i]) == pytest.approx(ref.wgs84_to_gcj02(r[0], r[1]), abs=1e-12)
        assert (wx[i], wy[i]) == pytest.approx(ref.gcj02_to_wgs84(r[0], r[1]), abs=1e-11)


def test_haversine_broadcasts_one_point() -> None:
    xs = np.array([117.0, 117.1, 117.2])
    ys = np.array([39.0, 39.1, 39.2])
    d = core_ext.haversine_m_many(117.0, 39.0, xs, ys)
    assert d[0] == 0.0 and d[2] > d[1] > 0


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match="finite"):
        core_ext.wgs84_to_gcj02(bad, 39.0)
    with pytest.raises(ValueError, match="finite"):
        core_ext.haversine_m(117.0, bad, 117.0, 39.0)
    with pytest.raises(ValueError, match="index 1"):
        core_ext.gcj02_to_wgs84_many([117.0, bad], [39.0, 39.0])
    with pytest.raises(ValueError, match="index 2"):
        core_ext.haversine_m_many([1.0, 2.0, 3.0], [1.0, 2.0, bad], [0.0] * 3, [0.0] * 3)


def test_out_of_range_rejected() -> None:
    with pytest.raises(ValueError, match="latitude"):
        core_ext.wgs84_to_gcj02(117.0, 91.0)
    with pytest.raises(ValueError, match="longitude"):
        core_ext.haversine_m_many([200.0], [0.0], [0.0], [0.0])


def test_bad_shapes_and_dtypes() -> None:
    with pytest.raises(ValueError, match="same length"):
        core_ext.wgs84_to_gcj02_many([1.0, 2.0], [1.0])
    with pytest.raises(ValueError, match="same length"):
        core_ext.haversine_m_many([1.0, 2.0], [1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(TypeError, match="real numbers"):
        core_ext.wgs84_to_gcj02_many(["a"], ["b"])
    with pytest.raises(TypeError, match="real numbers"):
        core_ext.wgs84_to_gcj02_many(np.array([1 + 2j]), np.array([1.0]))
    with pytest.raises(ValueError, match="one-dimensional"):
        core_ext.wgs84_to_gcj02_many(np.zeros((2, 2)), np.zeros((2, 2)))
    with pytest.raises(TypeError):
        core_ext.wgs84_to_gcj02("117", 39.0)  # type: ignore[arg-type]
    # the compiled layer itself refuses wrong dtypes and strided views
    with pytest.raises(TypeError):
        core_ext._core.wgs84_to_gcj02_many(np.zeros(3, np.int32), np.zeros(3, np.int32))
    with pytest.raises(ValueError, match="contiguous"):
        core_ext._core.wgs84_to_gcj02_many(np.zeros(6)[::2], np.zeros(3))


def test_integer_input_is_accepted() -> None:
    gx, _gy = core_ext.wgs84_to_gcj02_many(np.array([117, 118]), np.array([39, 40]))
    assert gx[0] == pytest.approx(ref.wgs84_to_gcj02(117.0, 39.0)[0])
    empty = core_ext.haversine_m_many([], [], [], [])
    assert empty.shape == (0,)
