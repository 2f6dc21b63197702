"""Binhai's streets (街道) and towns (镇), and where its people live.

The 21 township-level units below are Binhai New Area's real streets and towns, grouped by the
three former districts they belong to (塘沽, 汉沽, 大港). Their centres are approximate GCJ-02
positions chosen by hand inside the real outline; the grid assigns each cell to the nearest
centre, which gives contiguous street areas of plausible size and shape (the real street
boundaries are not public data in this form).

The population model is a sum of Gaussian urban cores (Tanggu's old town, TEDA, Dagang,
Hangu, the Sino-Singapore Eco-city, the towns) over a thin rural floor, scaled to the
district's ≈2.07 million residents (2020 census, rounded). The grid's cells are denser where
it is high, and every population-driven distribution (citizens, cameras, ...) follows it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TOTAL_POPULATION = 2_067_000


@dataclass(frozen=True)
class StreetDef:
    name: str
    code: str
    kind: str  # 街道 or 镇
    former_district: str  # 塘沽 / 汉沽 / 大港
    lon: float
    lat: float
    roads: tuple[str, ...]


_TANGGU_ROADS = ("解放路", "新华路", "上海道", "河北路", "福建路", "营口道", "郑州道", "新港路")
_TEDA_ROADS = (
    "第一大街",
    "第二大街",
    "第三大街",
    "泰达大街",
    "南海路",
    "黄海路",
    "洞庭路",
    "宏达街",
)
_HANGU_ROADS = ("新开中路", "汉南路", "建设路", "天化道", "河西一经路", "东风路", "寨上大街")
_DAGANG_ROADS = ("世纪大道", "迎宾街", "学府路", "振业街", "石化路", "胜利街", "港东新城路")

STREETS: tuple[StreetDef, ...] = (
    StreetDef("塘沽街道", "TANGGU", "街道", "塘沽", 117.650, 39.020, _TANGGU_ROADS),
    StreetDef(
        "新河街道",
        "XINHE",
        "街道",
        "塘沽",
        117.622,
        39.006,
        ("新河路", "东沽路", "浙江路", "安阳道", "烟台道"),
    ),
    StreetDef(
        "杭州道街道",
        "HANGZHOUDAO",
        "街道",
        "塘沽",
        117.668,
        39.040,
        ("杭州道", "福州道", "云山道", "远洋路", "紫云路"),
    ),
    StreetDef(
        "新村街道",
        "XINCUN",
        "街道",
        "塘沽",
        117.683,
        39.016,
        ("新村大街", "东江路", "渤海石油路", "新港二号路"),
    ),
    StreetDef(
        "新港街道",
        "XINGANG",
        "街道",
        "塘沽",
        117.722,
        39.006,
        ("新港一号路", "新港二号路", "新港三号路", "新港四号路", "东疆港路"),
    ),
    StreetDef(
        "大沽街道",
        "DAGU",
        "街道",
        "塘沽",
        117.694,
        38.972,
        ("大沽路", "海河外滩路", "闸南路", "坨场南道", "渤海十路"),
    ),
    StreetDef(
        "新北街道",
        "XINBEI",
        "街道",
        "塘沽",
        117.640,
        39.066,
        ("新北路", "北海路", "新北公路", "河北路北延线"),
    ),
    StreetDef(
        "北塘街道",
        "BEITANG",
        "街道",
        "塘沽",
        117.720,
        39.108,
        ("北塘路", "中新大道", "和畅路", "和旭路", "海旭道"),
    ),
    StreetDef(
        "胡家园街道",
        "HUJIAYUAN",
        "街道",
        "塘沽",
        117.570,
        39.035,
        ("胡家园路", "津塘公路", "西中环", "新华路西延线"),
    ),
    StreetDef("泰达街道", "TAIDA", "街道", "塘沽", 117.707, 39.055, _TEDA_ROADS),
    StreetDef(
        "新城镇",
        "XINCHENG",
        "镇",
        "塘沽",
        117.610,
        38.930,
        ("津沽公路", "海景大道", "新城路", "东沽东路"),
    ),
    StreetDef("汉沽街道", "HANGU", "街道", "汉沽", 117.815, 39.240, _HANGU_ROADS),
    StreetDef(
        "寨上街道",
        "ZHAISHANG",
        "街道",
        "汉沽",
        117.785,
        39.262,
        ("寨上大街", "新开北路", "牌坊东街", "滨河路"),
    ),
    StreetDef(
        "茶淀街道",
        "CHADIAN",
        "街道",
        "汉沽",
        117.730,
        39.290,
        ("茶淀大街", "葡萄园路", "汉蔡路", "茶西路"),
    ),
    StreetDef(
        "杨家泊镇",
        "YANGJIABO",
        "镇",
        "汉沽",
        117.960,
        39.280,
        ("杨家泊大街", "滨海大道北段", "付庄路"),
    ),
    StreetDef("大港街道", "DAGANG", "街道", "大港", 117.455, 38.845, _DAGANG_ROADS),
    StreetDef(
        "古林街道",
        "GULIN",
        "街道",
        "大港",
        117.500,
        38.800,
        ("古林街", "三号院路", "港狮路", "兴港路"),
    ),
    StreetDef(
        "海滨街道",
        "HAIBIN",
        "街道",
        "大港",
        117.545,
        38.765,
        ("海滨大道", "幸福路", "红旗路", "南港一路"),
    ),
    StreetDef(
        "太平镇", "TAIPING", "镇", "大港", 117.350, 38.630, ("太平大街", "津歧公路", "窦庄路")
    ),
    StreetDef(
        "小王庄镇",
        "XIAOWANGZHUANG",
        "镇",
        "大港",
        117.450,
        38.700,
        ("小王庄大街", "港中路", "沙井子路"),
    ),
    StreetDef(
        "中塘镇", "ZHONGTANG", "镇", "大港", 117.310, 38.800, ("中塘大街", "万家码头路", "津港公路")
    ),
)
"""Binhai's streets and towns; order is fixed (it is the order of Street records)."""

STREET_BY_NAME = {s.name: s for s in STREETS}
STREET_BY_CODE = {s.code: s for s in STREETS}


@dataclass(frozen=True)
class PopulationCore:
    name: str
    lon: float
    lat: float
    people: int
    sigma_km: float


POPULATION_CORES: tuple[PopulationCore, ...] = (
    PopulationCore("塘沽老城区", 117.655, 39.025, 520_000, 3.0),
    PopulationCore("开发区（泰达）", 117.705, 39.055, 260_000, 2.5),
    PopulationCore("于家堡—响螺湾", 117.700, 38.990, 60_000, 1.5),
    PopulationCore("胡家园—新北", 117.585, 39.035, 120_000, 3.0),
    PopulationCore("大港城区", 117.460, 38.840, 330_000, 3.0),
    PopulationCore("古林—海滨（油田基地）", 117.520, 38.775, 130_000, 3.0),
    PopulationCore("汉沽城区", 117.810, 39.245, 190_000, 2.5),
    PopulationCore("中新天津生态城", 117.745, 39.125, 110_000, 2.0),
    PopulationCore("北塘", 117.715, 39.105, 30_000, 1.2),
    PopulationCore("太平镇", 117.350, 38.630, 40_000, 2.0),
    PopulationCore("小王庄镇", 117.450, 38.700, 30_000, 2.0),
    PopulationCore("中塘镇", 117.320, 38.800, 40_000, 2.0),
    PopulationCore("杨家泊镇", 117.960, 39.280, 25_000, 2.0),
    PopulationCore("茶淀街道", 117.730, 39.290, 40_000, 2.0),
    PopulationCore("新城镇", 117.620, 38.930, 40_000, 2.0),
)

RURAL_DENSITY = 40.0
"""Residents per km² everywhere (villages, farms, port staff), before scaling."""

_KM_PER_DEG_LAT = 111.195


def population_density(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Unscaled residents per km² at lon/lat points (GCJ-02)."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = np.full(lon.shape, RURAL_DENSITY)
    for core in POPULATION_CORES:
        kx = _KM_PER_DEG_LAT * math.cos(math.radians(core.lat))
        d2 = ((lon - core.lon) * kx) ** 2 + ((lat - core.lat) * _KM_PER_DEG_LAT) ** 2
        peak = core.people / (2 * math.pi * core.sigma_km**2)
        out += peak * np.exp(-d2 / (2 * core.sigma_km**2))
    return out
