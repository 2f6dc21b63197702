"""Binhai's industrial parks and business districts (功能区), approximately placed.

Real names, approximate GCJ-02 centres and radii chosen inside the real outline; each park's
polygon is a circle of that radius (built in the local metric projection) clipped to the
district. The weights say how the hazardous-chemicals firms (production / logistics /
warehousing) and the quasi-financial firms spread over them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import shapely
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry

from simcity.binhai.outline import GRID_SIZE, from_local, outline, to_local


@dataclass(frozen=True)
class ParkDef:
    code: str
    name: str
    park_type: str  # 化工园区 / 港口物流 / 保税区 / 商务区 / 综合产业区
    lon: float
    lat: float
    radius_km: float
    production: float  # share weights of hazchem firm categories in this park
    logistics: float
    warehousing: float
    finance: float  # share weight of quasi-financial firms (leasing, factoring, funds ...)
    leading_industries: tuple[str, ...]


PARKS: tuple[ParkDef, ...] = (
    ParkDef("NANGANG", "南港工业区", "化工园区", 117.625, 38.745, 5.0,
            0.30, 0.10, 0.20, 0.0, ("石油化工", "冶金装备", "港口物流")),
    ParkDef("LINGANG", "临港经济区", "综合产业区", 117.820, 38.925, 3.5,
            0.18, 0.12, 0.18, 0.0, ("装备制造", "粮油加工", "精细化工")),
    ParkDef("DAGANG_PETRO", "大港石化产业园区", "化工园区", 117.565, 38.835, 3.5,
            0.22, 0.08, 0.10, 0.0, ("炼油", "乙烯", "化工新材料")),
    ParkDef("TEDA_WEST", "开发区西区", "综合产业区", 117.585, 39.115, 3.5,
            0.12, 0.06, 0.06, 0.0, ("汽车", "生物医药", "新材料")),
    ParkDef("HANGU_CHEM", "汉沽现代产业区", "化工园区", 117.860, 39.215, 3.0,
            0.12, 0.06, 0.06, 0.0, ("氯碱化工", "海洋化工", "新材料")),
    ParkDef("PORT_SOUTH", "天津港南疆港区", "港口物流", 117.770, 38.990, 3.0,
            0.02, 0.25, 0.28, 0.0, ("液体化工码头", "罐区仓储", "港口物流")),
    ParkDef("BONDED", "天津港保税区（海港）", "保税区", 117.760, 39.065, 2.5,
            0.04, 0.23, 0.12, 0.06, ("保税物流", "国际贸易", "航空航天")),
    ParkDef("DONGJIANG", "东疆保税港区", "保税区", 117.810, 39.040, 2.5,
            0.0, 0.10, 0.0, 0.44, ("融资租赁", "航运物流", "跨境电商")),
    ParkDef("YUJIAPU", "于家堡金融区", "商务区", 117.700, 38.988, 1.2,
            0.0, 0.0, 0.0, 0.22, ("金融", "总部经济", "商务服务")),
    ParkDef("XIANGLUOWAN", "响螺湾商务区", "商务区", 117.678, 39.000, 0.8,
            0.0, 0.0, 0.0, 0.08, ("总部经济", "商务服务")),
    ParkDef("TEDA_MSD", "开发区现代服务区（MSD）", "商务区", 117.712, 39.050, 1.2,
            0.0, 0.0, 0.0, 0.12, ("金融", "现代服务", "总部经济")),
    ParkDef("ECO_CITY", "中新天津生态城", "综合产业区", 117.745, 39.125, 3.0,
            0.0, 0.0, 0.0, 0.08, ("文化创意", "互联网", "绿色建筑")),
)  # fmt: skip

PARK_BY_CODE = {p.code: p for p in PARKS}


def park_key(park: ParkDef) -> str:
    return f"PARK-{park.code}"


@lru_cache(maxsize=1)
def park_shapes() -> dict[str, BaseGeometry]:
    """Park code → polygon (lon/lat, GCJ-02, on the 1e-6° grid, inside the district)."""
    district = outline()
    shapes: dict[str, BaseGeometry] = {}
    for park in PARKS:
        centre = to_local(np.array([[park.lon, park.lat]]))[0]
        circle = Point(centre).buffer(park.radius_km * 1000, quad_segs=8)
        ring = shapely.transform(circle, from_local)
        clipped = shapely.intersection(ring, district, grid_size=GRID_SIZE)
        if clipped.is_empty:
            raise ValueError(f"park {park.name} lies outside the district")
        shapely.prepare(clipped)
        shapes[park.code] = clipped
    return shapes
