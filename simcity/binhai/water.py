"""Water supervision: the 12 rivers, water-quality stations, pump stations, gates and urban
ponding points.

The rivers are the real ones that cross Binhai; their courses are hand-drawn approximations
(GCJ-02 polylines) clipped to the district outline. Station readings are classified by the
surface-water standard GB 3838-2002 (dissolved oxygen, permanganate index, ammonia nitrogen,
total phosphorus; the worst parameter decides the class), and compared with each river's
target class to give the compliance the water platform shows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from shapely.geometry import LineString, MultiLineString
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from simcity.binhai.context import BASE_TIME, Context, iso, key
from simcity.binhai.outline import GRID_SIZE, geom_to_local, outline, point, to_geojson


@dataclass(frozen=True)
class RiverDef:
    code: str
    name: str
    system: str  # 水系
    function: str
    target_class: int  # 1..5 (Ⅰ..Ⅴ); 6 = 劣Ⅴ
    course: tuple[tuple[float, float], ...]  # lon/lat from upstream to the sea
    mouth_gate: str | None  # the tide gate at its mouth, if any


RIVERS: tuple[RiverDef, ...] = (
    RiverDef("HAIHE", "海河", "海河干流", "行洪、景观、航运", 4,
             ((117.505, 38.990), (117.545, 38.985), (117.580, 38.995), (117.610, 39.005),
              (117.640, 38.998), (117.668, 39.004), (117.690, 38.995), (117.705, 38.982),
              (117.722, 38.972)), "海河防潮闸"),
    RiverDef("JIYUN", "蓟运河", "北三河水系", "行洪、排涝", 4,
             ((117.770, 39.330), (117.785, 39.295), (117.800, 39.255), (117.790, 39.215),
              (117.765, 39.175), (117.740, 39.140), (117.728, 39.112)), "蓟运河防潮闸"),
    RiverDef("YONGDING", "永定新河", "永定河水系", "行洪", 5,
             ((117.515, 39.128), (117.560, 39.122), (117.610, 39.116), (117.660, 39.108),
              (117.700, 39.102), (117.728, 39.100)), "永定新河防潮闸"),
    RiverDef("CHAOBAI", "潮白新河", "北三河水系", "行洪", 4,
             ((117.520, 39.170), (117.545, 39.150), (117.575, 39.130), (117.600, 39.120)), None),
    RiverDef("DULIU", "独流减河", "大清河水系", "行洪", 4,
             ((117.200, 38.826), (117.300, 38.822), (117.400, 38.818), (117.480, 38.812),
              (117.550, 38.806), (117.600, 38.800)), "工农兵防潮闸"),
    RiverDef("ZIYA", "子牙新河", "子牙河水系", "行洪", 5,
             ((117.220, 38.615), (117.320, 38.612), (117.420, 38.615), (117.520, 38.625),
              (117.600, 38.640), (117.640, 38.652)), "子牙新河主槽闸"),
    RiverDef("BEIPAI", "北排河", "子牙河水系", "排涝", 5,
             ((117.230, 38.640), (117.330, 38.638), (117.430, 38.642), (117.530, 38.652),
              (117.620, 38.665)), "北排河防潮闸"),
    RiverDef("MACHANG", "马厂减河", "海河干流", "排涝、灌溉", 5,
             ((117.380, 38.880), (117.430, 38.890), (117.480, 38.900), (117.530, 38.915),
              (117.570, 38.930)), None),
    RiverDef("QINGJINGHUANG", "青静黄排水渠", "大清河水系", "排涝", 5,
             ((117.200, 38.700), (117.300, 38.700), (117.400, 38.702), (117.500, 38.700),
              (117.600, 38.695), (117.680, 38.690)), "青静黄防潮闸"),
    RiverDef("BAMI", "八米河", "大清河水系", "排涝", 5,
             ((117.380, 38.745), (117.440, 38.752), (117.500, 38.758), (117.560, 38.762)), None),
    RiverDef("HEIZHU", "黑猪河", "海河干流", "排涝", 5,
             ((117.530, 38.880), (117.560, 38.905), (117.590, 38.935), (117.610, 38.965),
              (117.625, 38.995)), None),
    RiverDef("CANGLANG", "沧浪渠", "黑龙港运东水系", "排涝", 5,
             ((117.280, 38.580), (117.360, 38.585), (117.440, 38.592), (117.520, 38.600),
              (117.580, 38.610)), "沧浪渠防潮闸"),
)  # fmt: skip

STATIONS_PER_RIVER = 4
PUMP_STATIONS_PER_SCALE = 64
GATES_PER_SCALE = 36  # the tide gates at the mouths, then sluices along the rivers
PONDING_POINTS_PER_SCALE = 40
CLASS_NAMES = {1: "Ⅰ类", 2: "Ⅱ类", 3: "Ⅲ类", 4: "Ⅳ类", 5: "Ⅴ类", 6: "劣Ⅴ类"}

# GB 3838-2002 limits for classes I..V: DO is a minimum, the others maxima (mg/L)
_DO = (7.5, 6.0, 5.0, 3.0, 2.0)
_CODMN = (2.0, 4.0, 6.0, 10.0, 15.0)
_NH3N = (0.15, 0.5, 1.0, 1.5, 2.0)
_TP = (0.02, 0.1, 0.2, 0.3, 0.4)


def water_quality_class(do: float, codmn: float, nh3n: float, tp: float) -> int:
    """GB 3838-2002 class (1..5, 6 = worse than V) from four parameters: the worst decides."""

    def cls_max(value: float, limits: tuple[float, ...]) -> int:
        return next((i + 1 for i, lim in enumerate(limits) if value <= lim), 6)

    def cls_min(value: float, limits: tuple[float, ...]) -> int:
        return next((i + 1 for i, lim in enumerate(limits) if value >= lim), 6)

    return max(cls_min(do, _DO), cls_max(codmn, _CODMN), cls_max(nh3n, _NH3N), cls_max(tp, _TP))


@lru_cache(maxsize=1)
def river_shapes() -> dict[str, BaseGeometry]:
    """River code → its course inside the district (LineString or MultiLineString, 1e-6° grid)."""
    district = outline()
    out: dict[str, BaseGeometry] = {}
    for river in RIVERS:
        clipped = shapely.intersection(LineString(river.course), district, grid_size=GRID_SIZE)
        lines = [g for g in shapely.get_parts(clipped) if g.geom_type == "LineString"]
        if not lines:
            raise ValueError(f"river {river.name} does not cross the district")
        out[river.code] = lines[0] if len(lines) == 1 else MultiLineString(lines)
    return out


def _line_points(geom: BaseGeometry, fractions: list[float]) -> list[tuple[float, float]]:
    merged = shapely.line_merge(geom) if geom.geom_type == "MultiLineString" else geom
    parts = list(shapely.get_parts(merged))
    lengths = np.array([p.length for p in parts])
    out = []
    for f in fractions:
        target = f * lengths.sum()
        i = int(np.searchsorted(np.cumsum(lengths), target))
        i = min(i, len(parts) - 1)
        offset = target - (lengths[:i].sum() if i else 0.0)
        p = parts[i].interpolate(offset)
        out.append((round(p.x, 6), round(p.y, 6)))
    return out


def _inside(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Nudge points that rounding put a hair outside the district back onto a vertex inside."""
    district = outline()
    fixed = []
    for lon, lat in points:
        if not shapely.contains_xy(district, lon, lat):
            p = nearest_points(district, shapely.Point(lon, lat))[0]
            lon, lat = round(p.x, 6), round(p.y, 6)
            for step in (1e-6, 1e-5, 1e-4):
                for dx, dy in ((step, 0), (-step, 0), (0, step), (0, -step)):
                    if shapely.contains_xy(district, round(lon + dx, 6), round(lat + dy, 6)):
                        lon, lat = round(lon + dx, 6), round(lat + dy, 6)
                        break
                else:
                    continue
                break
        fixed.append((lon, lat))
    return fixed


def generate_water(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    rng = ctx.rng("water")
    shapes = river_shapes()
    out: dict[str, list[dict[str, Any]]] = {
        "River": [],
        "WaterStation": [],
        "PumpStation": [],
        "Gate": [],
        "PondingPoint": [],
    }
    for river in RIVERS:
        geom = shapes[river.code]
        length_km = float(shapely.length(geom_to_local(geom))) / 1000
        out["River"].append(
            ctx.record(
                "River",
                f"RIV-{river.code}",
                "hydrology",
                river.code,
                ctx.fetched_at(rng, 24),
                {
                    "name": river.name,
                    "code": river.code,
                    "water_system": river.system,
                    "function": river.function,
                    "length_in_district_km": round(length_km, 3),
                    "target_class": river.target_class,
                    "target_class_name": CLASS_NAMES[river.target_class],
                    "river_chief_level": "区级",
                    "mouth_gate": river.mouth_gate,
                    "water_level_m": round(rng.uniform(0.8, 2.6), 2),
                    "warning_level_m": round(rng.uniform(2.8, 3.5), 2),
                },
                to_geojson(geom),
            )
        )

    # water-quality stations: evenly spread along each river, with seeded jitter
    serial = 0
    for river in RIVERS:
        n = STATIONS_PER_RIVER * ctx.scale
        fractions = sorted(
            min(0.98, max(0.02, (k + 0.5) / n + rng.uniform(-0.3, 0.3) / n)) for k in range(n)
        )
        pts = _inside(_line_points(shapes[river.code], fractions))
        located = ctx.locate(np.array([p[0] for p in pts]), np.array([p[1] for p in pts]))
        for (lon, lat), (cell, street) in zip(pts, located, strict=True):
            serial += 1
            do = round(max(0.5, rng.gauss(6.0, 1.6)), 2)
            codmn = round(max(1.0, rng.gauss(6.5, 2.2)), 2)
            nh3n = round(max(0.05, rng.lognormvariate(-0.6, 0.6)), 3)
            tp = round(max(0.01, rng.lognormvariate(-1.8, 0.5)), 3)
            cls = water_quality_class(do, codmn, nh3n, tp)
            sampled = BASE_TIME - timedelta(seconds=rng.randrange(700, 4 * 3600))
            out["WaterStation"].append(
                ctx.record(
                    "WaterStation",
                    key("WQS", serial),
                    "water-quality",
                    f"120116WQ{serial:04d}",
                    iso(sampled + timedelta(seconds=rng.randrange(30, 600))),
                    {
                        "name": f"{river.name}{street.removesuffix('街道').removesuffix('镇')}断面",
                        "river": f"RIV-{river.code}",
                        "station_type": rng.choice(["自动监测站", "自动监测站", "人工监测断面"]),
                        "street": street,
                        "grid_cell": cell,
                        "readings": {
                            "ph": round(rng.uniform(7.2, 8.6), 2),
                            "dissolved_oxygen_mg_l": do,
                            "permanganate_index_mg_l": codmn,
                            "ammonia_nitrogen_mg_l": nh3n,
                            "total_phosphorus_mg_l": tp,
                            "water_temperature_c": round(rng.uniform(18, 26), 1),
                            "turbidity_ntu": round(rng.uniform(5, 60), 1),
                        },
                        "quality_class": cls,
                        "quality_class_name": CLASS_NAMES[cls],
                        "target_class": river.target_class,
                        "compliant": cls <= river.target_class,
                        "sampled_at": iso(sampled),
                    },
                    point(lon, lat),
                )
            )

    _pumps(ctx, rng, out)
    _gates(ctx, rng, shapes, out)
    _ponding(ctx, out)
    return out


def _pumps(ctx: Context, rng: random.Random, out: dict[str, list[dict[str, Any]]]) -> None:
    """Drainage pump stations: in the built-up areas (rain / sewage) and on rivers (排涝)."""
    nrng = ctx.np_rng("water/pumps")
    n = PUMP_STATIONS_PER_SCALE * ctx.scale
    pts = ctx.population_points(nrng, n)
    located = ctx.locate(pts[:, 0], pts[:, 1])
    for i in range(n):
        cell, street = located[i]
        kind = rng.choices(["雨水泵站", "污水泵站", "合流泵站", "排涝泵站"], [45, 25, 10, 20])[0]
        pumps = rng.randrange(2, 9)
        running = rng.choices([0, rng.randrange(1, pumps + 1)], [70, 30])[0]
        road = rng.choice(ctx.street(street).roads)
        status = "运行" if running else rng.choices(["停机", "检修"], [95, 5])[0]
        out["PumpStation"].append(
            ctx.record(
                "PumpStation",
                key("PUMP", i + 1),
                "pump-gate-scada",
                f"PS_{i + 1:04d}",
                iso(BASE_TIME - timedelta(seconds=rng.randrange(1, 30))),
                {
                    "name": f"{road}{kind}",
                    "station_type": kind,
                    "street": street,
                    "grid_cell": cell,
                    "pumps": pumps,
                    "running_pumps": running,
                    "design_flow_m3_s": round(pumps * rng.uniform(0.5, 3.0), 2),
                    "current_flow_m3_s": round(running * rng.uniform(0.4, 2.5), 2),
                    "status": status,
                    "inlet_level_m": round(rng.uniform(-3.0, 0.5), 2),
                    "outlet_level_m": round(rng.uniform(0.5, 2.5), 2),
                    "service_area_km2": round(rng.uniform(0.5, 12.0), 2),
                    "scada_tag": f"BH.PS{i + 1:04d}",
                },
                point(float(pts[i, 0]), float(pts[i, 1])),
            )
        )


def _gates(
    ctx: Context,
    rng: random.Random,
    shapes: dict[str, BaseGeometry],
    out: dict[str, list[dict[str, Any]]],
) -> None:
    gates: list[tuple[str, str, str, tuple[float, float]]] = []  # (name, type, river, position)
    for river in RIVERS:
        if river.mouth_gate:
            gates.append(
                (
                    river.mouth_gate,
                    "防潮闸",
                    river.code,
                    _line_points(shapes[river.code], [0.995])[0],
                )
            )
    extra = GATES_PER_SCALE * ctx.scale - len(gates)
    for i in range(extra):
        river = RIVERS[i % len(RIVERS)]
        where = _line_points(shapes[river.code], [rng.uniform(0.05, 0.9)])[0]
        kind = rng.choice(["节制闸", "分洪闸", "排水闸", "进水闸"])
        gates.append((f"{river.name}{i // len(RIVERS) + 1}号{kind}", kind, river.code, where))
    positions = _inside([g[3] for g in gates])
    located = ctx.locate(np.array([p[0] for p in positions]), np.array([p[1] for p in positions]))
    for i, ((name, kind, code, _), (lon, lat), (cell, street)) in enumerate(
        zip(gates, positions, located, strict=True), start=1
    ):
        openings = rng.randrange(3, 16) if kind == "防潮闸" else rng.randrange(1, 7)
        status = rng.choices(["关闭", "部分开启", "全开"], [60, 30, 10])[0]
        height = round(rng.uniform(4.0, 7.5), 1)
        opening = (
            0.0
            if status == "关闭"
            else height
            if status == "全开"
            else round(rng.uniform(0.3, height - 0.5), 2)
        )
        out["Gate"].append(
            ctx.record(
                "Gate",
                key("GATE", i),
                "pump-gate-scada",
                f"GT_{i:04d}",
                iso(BASE_TIME - timedelta(seconds=rng.randrange(1, 30))),
                {
                    "name": name,
                    "gate_type": kind,
                    "river": f"RIV-{code}",
                    "street": street,
                    "grid_cell": cell,
                    "openings": openings,
                    "gate_width_m": round(rng.uniform(6.0, 16.0), 1),
                    "gate_height_m": height,
                    "opening_m": opening,
                    "status": status,
                    "upstream_level_m": round(rng.uniform(1.0, 2.8), 2),
                    "downstream_level_m": round(rng.uniform(0.2, 2.2), 2),
                    "design_flow_m3_s": round(openings * rng.uniform(20, 120), 1),
                    "scada_tag": f"BH.GT{i:04d}",
                },
                point(lon, lat),
            )
        )


def _ponding(ctx: Context, out: dict[str, list[dict[str, Any]]]) -> None:
    """Known urban ponding (积水) points: underpasses and low roads in the built-up areas."""
    rng = ctx.rng("water/ponding")
    nrng = ctx.np_rng("water/ponding")
    n = PONDING_POINTS_PER_SCALE * ctx.scale
    pts = ctx.population_points(nrng, n)
    located = ctx.locate(pts[:, 0], pts[:, 1])
    for i in range(n):
        cell, street = located[i]
        roads = ctx.street(street).roads
        a, b = rng.sample(roads, 2) if len(roads) > 1 else (roads[0], roads[0])
        depth = rng.choices([0, rng.randrange(5, 45)], [80, 20])[0]
        out["PondingPoint"].append(
            ctx.record(
                "PondingPoint",
                key("POND", i + 1),
                "hydrology",
                f"JS{i + 1:04d}",
                iso(BASE_TIME - timedelta(seconds=rng.randrange(1, 600))),
                {
                    "name": f"{a}与{b}交口" if a != b else f"{a}下穿",
                    "street": street,
                    "grid_cell": cell,
                    "depth_cm": depth,
                    "warning_depth_cm": 15,
                    "ponding": depth > 0,
                    "gauge": f"SW{i + 1:04d}",
                },
                point(float(pts[i, 0]), float(pts[i, 1])),
            )
        )
