"""The generated Binhai demo city: determinism, the source document's figures, formats,
references, unified social credit codes, and geometry inside the real outline."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import shape

from schema.uscc import validate_uscc
from simcity.binhai.context import BASE_TIME, CST, Context
from simcity.binhai.enterprises import EnterpriseRegistry
from simcity.binhai.finance import generate_finance
from simcity.binhai.generate import FIXED_KINDS, STEPS, dumps, generate, main
from simcity.binhai.geography import grid_cells
from simcity.binhai.names import FirmNamer
from simcity.binhai.outline import outline
from simcity.binhai.people import PersonFactory, is_valid_resident_id
from simcity.binhai.systems import SECTORS, SYSTEM_BY_ID
from simcity.binhai.water import water_quality_class

Records = dict[str, list[dict[str, Any]]]
FIELDS = {"kind", "key", "source_system", "source_id", "fetched_at", "attrs", "geometry", "datum"}


def _load(out: Path) -> Records:
    records: Records = {}
    for path in sorted(out.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        records[path.stem] = [json.loads(line) for line in lines]
    return records


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any], list[Any]]:
    out = tmp_path_factory.mktemp("city-a")
    calls: list[Any] = []
    manifest = generate(out, seed=2019, progress=lambda *a: calls.append(a))
    return out, manifest, calls


@pytest.fixture(scope="module")
def city(first: tuple[Path, dict[str, Any], list[Any]]) -> Records:
    return _load(first[0])


@pytest.fixture(scope="module")
def by_key(city: Records) -> dict[str, dict[str, dict[str, Any]]]:
    return {kind: {r["key"]: r for r in recs} for kind, recs in city.items()}


def _files(out: Path) -> Iterator[Path]:
    yield from sorted(out.glob("*.jsonl"))
    yield out / "manifest.json"


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_same_bytes(
    first: tuple[Path, dict[str, Any], list[Any]], tmp_path: Path
) -> None:
    out, manifest, _ = first
    again = generate(tmp_path, seed=2019)
    assert again == manifest
    names = [p.name for p in _files(out)]
    assert names == [p.name for p in _files(tmp_path)]
    for name in names:
        assert (out / name).read_bytes() == (tmp_path / name).read_bytes(), name


def test_other_seed_other_city(city: Records) -> None:
    # a full second generation is covered above; here: the seed reaches grid, firms and people
    ctx = Context(7)
    firms = sorted(
        generate_finance(ctx, EnterpriseRegistry(ctx), FirmNamer()), key=lambda r: r["key"]
    )
    assert len(firms) == 2701
    mine = city["FinanceFirm"]
    assert [r["attrs"]["uscc"] for r in firms] != [r["attrs"]["uscc"] for r in mine]
    assert [r["geometry"] for r in firms] != [r["geometry"] for r in mine]
    assert [c["geometry"] for c in grid_cells(7)] != [c["geometry"] for c in city["GridCell"]]
    person = PersonFactory(ctx, "citizens").person()
    assert person.resident_id != city["Citizen"][0]["attrs"]["resident_id"]


def test_scale_two_doubles_counts(
    first: tuple[Path, dict[str, Any], list[Any]], tmp_path: Path
) -> None:
    _, manifest, _ = first
    doubled = generate(tmp_path, seed=2019, scale=2)
    assert doubled["scale"] == 2
    assert set(doubled["counts"]) == set(manifest["counts"])
    for kind, n in manifest["counts"].items():
        expected = n if kind in FIXED_KINDS else 2 * n
        assert doubled["counts"][kind] == expected, kind
    lines = (tmp_path / "HazchemFirm.jsonl").read_text(encoding="utf-8").splitlines()
    cats = Counter(json.loads(line)["attrs"]["category"] for line in lines)
    assert cats == {"production": 728, "logistics": 150, "warehousing": 954}


def test_bad_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale must be a positive integer"):
        generate(tmp_path, scale=0)
    with pytest.raises(SystemExit) as info:
        main([str(tmp_path), "--scale", "0"])
    assert info.value.code == 2


# --- files and format -------------------------------------------------------------------------


def test_manifest(first: tuple[Path, dict[str, Any], list[Any]], city: Records) -> None:
    out, manifest, _ = first
    assert set(manifest) == {"seed", "scale", "generator_version", "datum", "counts", "sha256"}
    assert manifest["seed"] == 2019 and manifest["scale"] == 1 and manifest["datum"] == "GCJ-02"
    assert json.loads((out / "manifest.json").read_text(encoding="utf-8")) == manifest
    assert set(manifest["counts"]) == set(city)
    for kind, recs in city.items():
        assert manifest["counts"][kind] == len(recs)
        data = (out / f"{kind}.jsonl").read_bytes()
        assert manifest["sha256"][f"{kind}.jsonl"] == hashlib.sha256(data).hexdigest()


def test_progress_reported(first: tuple[Path, dict[str, Any], list[Any]]) -> None:
    _, _, calls = first
    assert calls[0] == (STEPS[0], 0, len(STEPS))
    assert calls[-1] == (STEPS[-1], len(STEPS), len(STEPS))
    done = [c[1] for c in calls]
    assert done == sorted(done)
    assert all(isinstance(c[0], str) and c[2] == len(STEPS) for c in calls)


def test_lines_canonical_sorted_with_provenance(
    first: tuple[Path, dict[str, Any], list[Any]],
) -> None:
    out, _, _ = first
    for path in sorted(out.glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()
        keys = []
        for line in lines:
            record = json.loads(line)
            assert dumps(record) == line
            assert set(record) == FIELDS
            assert record["kind"] == path.stem
            assert record["source_system"] in SYSTEM_BY_ID
            assert isinstance(record["source_id"], str) and record["source_id"]
            assert len(record["key"]) <= 128 and len(record["source_id"]) <= 128
            assert record["fetched_at"].endswith("+08:00")
            moment = datetime.fromisoformat(record["fetched_at"])
            assert datetime(2025, 5, 1, tzinfo=CST) < moment <= BASE_TIME
            assert (record["geometry"] is None) == (record["datum"] is None)
            if record["datum"] is not None:
                assert record["datum"] == "GCJ-02"
            keys.append(record["key"])
        assert keys == sorted(keys), path.name
        assert len(set(keys)) == len(keys), path.name
        assert "\\u" not in path.read_text(encoding="utf-8")[:2000]  # Chinese written as is


def test_records_parse_with_the_hub_model(city: Records) -> None:
    record_module = pytest.importorskip("schema.record")
    for kind, recs in city.items():
        for r in recs[:20]:
            parsed = record_module.Record.parse(r)
            assert parsed.kind == kind


def test_source_systems_declare_their_kinds(city: Records) -> None:
    for kind, recs in city.items():
        systems = {r["source_system"] for r in recs}
        if kind == "SourceSystem":
            assert systems == set(SYSTEM_BY_ID)
            continue
        assert len(systems) == 1
        assert kind in SYSTEM_BY_ID[systems.pop()].kinds


# --- the figures of the source document -------------------------------------------------------


def test_figures(city: Records) -> None:
    counts = {kind: len(recs) for kind, recs in city.items()}
    assert counts["GridCell"] == 743
    assert counts["Inspector"] == 743
    assert counts["DutyCategory"] == 13
    assert counts["DutySubCategory"] == 124
    assert counts["SourceSystem"] == 28
    assert counts["FinanceFirm"] == 2701
    assert counts["HazchemVehicle"] == 2673
    assert counts["River"] == 12
    assert counts["District"] == 1
    firm_types = Counter(r["attrs"]["firm_type"] for r in city["FinanceFirm"])
    assert len(firm_types) == 7 and sum(firm_types.values()) == 2701
    assert {"small_loan", "guarantee", "pawn", "factoring", "leasing"} <= set(firm_types)
    cats = Counter(r["attrs"]["category"] for r in city["HazchemFirm"])
    assert cats == {"production": 364, "logistics": 75, "warehousing": 477}
    assert {r["attrs"]["name"] for r in city["River"]} == {
        "海河", "蓟运河", "永定新河", "潮白新河", "独流减河", "子牙新河", "北排河", "马厂减河",
        "青静黄排水渠", "八米河", "黑猪河", "沧浪渠",
    }  # fmt: skip
    assert {r["attrs"]["sector"] for r in city["SourceSystem"]} == set(SECTORS)
    subs = Counter(r["attrs"]["category"] for r in city["DutySubCategory"])
    assert sum(subs.values()) == 124 and set(subs) == {r["key"] for r in city["DutyCategory"]}
    for cat in city["DutyCategory"]:
        assert cat["attrs"]["subcategories"] == subs[cat["key"]]


def test_one_inspector_per_cell(by_key: dict[str, dict[str, dict[str, Any]]]) -> None:
    cells, inspectors = by_key["GridCell"], by_key["Inspector"]
    assert {c["attrs"]["inspector"] for c in cells.values()} == set(inspectors)
    for ins in inspectors.values():
        cell = cells[ins["attrs"]["grid_cell"]]
        assert cell["attrs"]["inspector"] == ins["key"]
        assert len(ins["attrs"]["duty_categories"]) == 13
        assert isinstance(ins["attrs"]["on_duty"], bool)
    keys = list(inspectors)
    points = np.array([shape(inspectors[k]["geometry"]) for k in keys])
    polys = np.array([shape(cells[inspectors[k]["attrs"]["grid_cell"]]["geometry"]) for k in keys])
    assert shapely.covers(polys, points).all()
    on_duty = sum(i["attrs"]["on_duty"] for i in inspectors.values())
    assert 0.6 * 743 < on_duty < 0.95 * 743


def test_cells_cover_the_district(city: Records) -> None:
    polys = np.array([shape(c["geometry"]) for c in city["GridCell"]])
    assert shapely.is_valid(polys).all()
    district = shape(city["District"][0]["geometry"])
    assert sum(c["attrs"]["area_km2"] for c in city["GridCell"]) == pytest.approx(
        city["District"][0]["attrs"]["measured_area_km2"], rel=1e-5
    )
    assert (
        shapely.symmetric_difference(shapely.union_all(polys), district).area < 1e-5 * district.area
    )
    streets = {s["attrs"]["name"]: s for s in city["Street"]}
    assert sum(s["attrs"]["grid_cells"] for s in streets.values()) == 743
    assert (
        sum(s["attrs"]["population"] for s in streets.values())
        == city["District"][0]["attrs"]["population"]
    )


# --- codes, people, references ----------------------------------------------------------------


def test_unified_social_credit_codes(
    city: Records, by_key: dict[str, dict[str, dict[str, Any]]]
) -> None:
    codes = [e["attrs"]["uscc"] for e in city["Enterprise"]]
    assert len(set(codes)) == len(codes)
    for code in codes:
        assert validate_uscc(code) == code
        assert code[:2] == "91" and code[2:8] == "120116"
    for kind in ("FinanceFirm", "HazchemFirm"):
        for r in city[kind]:
            assert (
                by_key["Enterprise"][r["attrs"]["enterprise"]]["attrs"]["uscc"]
                == r["attrs"]["uscc"]
            )
            assert by_key["Enterprise"][r["attrs"]["enterprise"]]["source_id"] == r["attrs"]["uscc"]
    names = [e["attrs"]["name"] for e in city["Enterprise"]]
    assert len(set(names)) == len(names)
    assert all(n.endswith("公司") for n in names)


def test_people_are_valid_and_unique(city: Records) -> None:
    people = city["Citizen"] + city["Inspector"]
    ids = [p["attrs"]["resident_id"] for p in people]
    assert len(set(ids)) == len(ids)
    assert all(is_valid_resident_id(i) for i in ids)
    for p in people[:2000]:
        rid, attrs = p["attrs"]["resident_id"], p["attrs"]
        assert rid[6:14] == attrs["birth_date"].replace("-", "")
        assert (int(rid[16]) % 2 == 1) == (attrs["gender"] == "男")
    phones = [p["attrs"]["phone"] for p in people]
    assert len(set(phones)) == len(phones)
    assert all(len(ph) == 11 and ph.startswith("1") for ph in phones)
    plates = [r["attrs"]["plate"] for r in city["HazchemVehicle"] + city["MuckTruck"]]
    assert len(set(plates)) == len(plates)
    assert all(p.startswith("津") and p[2] == "·" and len(p) == 8 for p in plates)


REFERENCES = {
    ("GridCell", "inspector"): "Inspector",
    ("GridCell", "street_key"): "Street",
    ("FinanceFirm", "enterprise"): "Enterprise",
    ("FinanceFirm", "park"): "IndustrialPark",
    ("HazchemFirm", "site"): "HazchemSite",
    ("HazchemFirm", "park"): "IndustrialPark",
    ("HazchemSite", "firm"): "HazchemFirm",
    ("Tank", "site"): "HazchemSite",
    ("Tank", "firm"): "HazchemFirm",
    ("Sensor", "tank"): "Tank",
    ("StockMovement", "site"): "HazchemSite",
    ("HazchemVehicle", "owner_firm"): "HazchemFirm",
    ("WaterStation", "river"): "River",
    ("Gate", "river"): "River",
    ("MuckTruck", "company"): "Enterprise",
    ("MuckTruck", "permitted_site"): "ConstructionSite",
    ("MuckTruck", "permitted_dump"): "DumpingSite",
    ("ConstructionSite", "builder"): "Enterprise",
    ("ServiceApplication", "item"): "ServiceItem",
    ("ServiceApplication", "citizen"): "Citizen",
    ("ServiceApplication", "enterprise"): "Enterprise",
    ("Camera", "park"): "IndustrialPark",
    ("DutySubCategory", "category"): "DutyCategory",
}


def test_references_resolve(city: Records, by_key: dict[str, dict[str, dict[str, Any]]]) -> None:
    for (kind, field), target in REFERENCES.items():
        seen = 0
        for r in city[kind]:
            value = r["attrs"].get(field)
            if value is not None:
                assert value in by_key[target], (kind, r["key"], field, value)
                seen += 1
        assert seen, (kind, field)
    streets = {s["attrs"]["name"] for s in city["Street"]}
    for kind, recs in city.items():
        for r in recs:
            if "grid_cell" in r["attrs"]:
                assert r["attrs"]["grid_cell"] in by_key["GridCell"], (kind, r["key"])
            if "street" in r["attrs"] and kind != "GridCell":
                assert r["attrs"]["street"] in streets, (kind, r["key"])


def test_hazchem_details(city: Records, by_key: dict[str, dict[str, dict[str, Any]]]) -> None:
    owners = Counter(v["attrs"]["owner_firm"] for v in city["HazchemVehicle"])
    logistics = {f["key"] for f in city["HazchemFirm"] if f["attrs"]["category"] == "logistics"}
    assert set(owners) == logistics
    per_tank = Counter(s["attrs"]["tank"] for s in city["Sensor"])
    assert set(per_tank) == set(by_key["Tank"]) and set(per_tank.values()) == {3}
    alarms = 0
    for s in city["Sensor"]:
        th, value = s["attrs"]["thresholds"], s["attrs"]["last_value"]
        assert th["low"] < th["high"] < th["high_high"]
        alarms += not th["low"] <= value <= th["high"]
    assert 0 < alarms < 0.05 * len(city["Sensor"])
    for t in city["Tank"]:
        assert t["attrs"]["substance"]["un_number"].startswith("UN")
        assert t["attrs"]["capacity_m3"] > 0
    in_parks = sum(f["attrs"]["park"] is not None for f in city["HazchemFirm"])
    assert in_parks > 0.85 * len(city["HazchemFirm"])


def test_finance_operating_data(city: Records) -> None:
    for f in city["FinanceFirm"]:
        a = f["attrs"]
        assert a["registered_capital_10k_cny"] > 0
        assert a["operating"]["outstanding_balance_10k_cny"] >= 0
        assert a["social"]["complaints_12m"] >= 0
        assert a["address"].startswith("天津市滨海新区")
    rates = [f["attrs"]["operating"]["advertised_return_rate_pct"] for f in city["FinanceFirm"]]
    assert any(r is not None for r in rates) and any(r is None for r in rates)
    complaints = np.array([f["attrs"]["social"]["complaints_12m"] for f in city["FinanceFirm"]])
    assert complaints.max() > 5 * max(1.0, float(np.median(complaints)))  # a risky tail exists


def test_water_quality_classes(city: Records) -> None:
    for s in city["WaterStation"]:
        r = s["attrs"]["readings"]
        cls = water_quality_class(
            r["dissolved_oxygen_mg_l"],
            r["permanganate_index_mg_l"],
            r["ammonia_nitrogen_mg_l"],
            r["total_phosphorus_mg_l"],
        )
        assert s["attrs"]["quality_class"] == cls
        assert s["attrs"]["compliant"] == (cls <= s["attrs"]["target_class"])
    assert water_quality_class(8.0, 1.5, 0.1, 0.01) == 1
    assert water_quality_class(8.0, 1.5, 0.1, 0.5) == 6


def test_citizens_follow_population(city: Records) -> None:
    per_cell = Counter(c["attrs"]["grid_cell"] for c in city["Citizen"])
    cells = city["GridCell"]
    pop = np.array([c["attrs"]["population"] for c in cells], dtype=float)
    seen = np.array([per_cell.get(c["key"], 0) for c in cells], dtype=float)
    assert np.corrcoef(pop, seen)[0, 1] > 0.8


def test_every_geometry_inside_the_outline(city: Records) -> None:
    district = outline().buffer(2e-6)  # ~0.2 m: the 6-decimal rounding of clipped edges
    shapely.prepare(district)
    for kind, recs in city.items():
        located = [r for r in recs if r["geometry"] is not None]
        points = [r for r in located if r["geometry"]["type"] == "Point"]
        if points:
            xy = np.array([r["geometry"]["coordinates"] for r in points])
            assert np.array_equal(xy, np.round(xy, 6)), kind
            inside = shapely.contains_xy(district, xy[:, 0], xy[:, 1])
            assert inside.all(), (
                kind,
                [r["key"] for r, ok in zip(points, inside, strict=True) if not ok][:5],
            )
        others = [r for r in located if r["geometry"]["type"] != "Point"]
        if not others:
            continue
        geoms = np.array([shape(r["geometry"]) for r in others])
        assert shapely.is_valid(geoms).all(), kind
        inside = shapely.covers(district, geoms)
        assert inside.all(), (
            kind,
            [r["key"] for r, ok in zip(others, inside, strict=True) if not ok][:5],
        )
        coords = shapely.get_coordinates(geoms)
        assert np.array_equal(coords, np.round(coords, 6)), kind


def test_locate_points() -> None:
    ctx = Context(2019)
    # a vertex of the outline, and a hair (5 cm) outside it: both belong to a boundary cell
    found = ctx.locate(np.array([117.526981, 117.5269815]), np.array([39.005995, 39.0059950]))
    assert found[0] == found[1]
    with pytest.raises(ValueError, match="outside every grid cell"):
        ctx.locate(np.array([116.0]), np.array([39.0]))
