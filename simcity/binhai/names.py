"""Chinese names for firms and places, and Binhai-style addresses.

Firm names follow the registry pattern 行政区划 + 字号 + 行业 + 组织形式 (天津鑫达融资租赁有限公司,
华泰（天津）商业保理有限公司, ...); every name is unique across the whole city. Addresses read
``天津市滨海新区<街道><路名><号>``, on the real-sounding roads of the street or park.
"""

from __future__ import annotations

import random

from simcity.binhai.streets import STREET_BY_NAME

_TRADE_CHARS = "".join(
    dict.fromkeys(
        "华信达通恒瑞鑫泰盛汇金融中海港滨宏远嘉德丰安润正宇诚兴隆博联创星辉越誉腾卓合源浩元鼎"
        "天宝利祥和益东方国银富晟昊鸿骏晨凯旭航耀锦峰澜睿弘昌茂裕君瀚澳津沽渤"
    )
)

PARK_ROADS: dict[str, tuple[str, ...]] = {
    "NANGANG": ("港北路", "创业路", "轻纺大道", "南港一路", "南港三路", "海港路"),
    "LINGANG": ("渤海十路", "渤海二十路", "黄河道", "长江道", "珠江道", "辽河道"),
    "DAGANG_PETRO": ("石化路", "安港路", "世纪大道东段", "滨港路", "兴化道"),
    "TEDA_WEST": ("中南一街", "新业九街", "中心大道", "新环西路", "睦宁路"),
    "HANGU_CHEM": ("化工街", "汉北路", "津汉公路", "海宁道", "汉蔡路"),
    "PORT_SOUTH": ("南疆港路", "新港二号路", "南疆环路", "港池路"),
    "BONDED": ("海滨二路", "海滨五路", "西十道", "东七道", "津滨大道东延线"),
    "DONGJIANG": ("亚洲路", "欧洲路", "澳洲路", "美洲路", "非洲路"),
    "YUJIAPU": ("新华路", "于新道", "堡兴路", "水线东路", "金融街"),
    "XIANGLUOWAN": ("中心北路", "迎宾大道", "集华路", "响螺湾道"),
    "TEDA_MSD": ("第二大街", "新城西路", "宏达街", "第一大街"),
    "ECO_CITY": ("中新大道", "和畅路", "和旭路", "海旭道", "和风路"),
}

PARK_BUILDINGS: dict[str, tuple[str, ...]] = {
    "DONGJIANG": ("金融贸易中心", "东疆商务中心", "东疆国际航运服务中心"),
    "YUJIAPU": ("金融中心", "中钢国际大厦", "周大福金融中心", "环球金融中心"),
    "XIANGLUOWAN": ("响螺湾国际大厦", "天津国际贸易中心"),
    "TEDA_MSD": ("泰达MSD", "泰达中心", "泰达金融广场"),
    "ECO_CITY": ("动漫中路产业园", "国家动漫园", "服务中心"),
    "BONDED": ("保税区国际商务中心", "空港商务园"),
}


_PREFIXES = ["天津", "天津市", "天津滨海", "天津滨海新区"]


class FirmNamer:
    """Unique firm names for the whole city (one instance per generation run)."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def trade_name(self, rng: random.Random) -> str:
        return "".join(rng.sample(_TRADE_CHARS, 2))

    def name(
        self, rng: random.Random, industry: str, *, foreign: bool = False, form: str = "有限公司"
    ) -> str:
        """A new firm name such as 天津恒瑞融资租赁有限公司 or 鑫达（天津）商业保理有限公司."""
        for attempt in range(10_000):
            trade = self.trade_name(rng)
            if attempt > 200:  # crowded: three-character trade names
                trade += rng.choice(_TRADE_CHARS)
            if foreign:
                candidate = f"{trade}（天津）{industry}{form}"
            else:
                prefix = rng.choices(_PREFIXES, [5, 2, 2, 1])[0]
                candidate = f"{prefix}{trade}{industry}{form}"
            if candidate not in self.used:
                self.used.add(candidate)
                return candidate
        raise RuntimeError(f"ran out of names for {industry}")


def road_for(rng: random.Random, street: str, park: str | None = None) -> str:
    if park is not None and park in PARK_ROADS:
        return rng.choice(PARK_ROADS[park])
    return rng.choice(STREET_BY_NAME[street].roads)


def address(
    rng: random.Random, street: str, park: str | None = None, *, office: bool = False
) -> str:
    """天津市滨海新区<街道><路名><号>[<楼宇><室>]."""
    road = road_for(rng, street, park)
    number = rng.randrange(1, 1200 if park else 400)
    text = f"天津市滨海新区{street}{road}{number}号"
    if office:
        building = (
            rng.choice(PARK_BUILDINGS[park])
            if park in PARK_BUILDINGS
            else rng.choice(["商务大厦", "科技大厦", "国际广场", "创业中心"])
        )
        text += f"{building}{rng.randrange(2, 40)}{rng.randrange(1, 30):02d}室"
    return text


def residential_address(rng: random.Random, street: str) -> str:
    """A home address: 天津市滨海新区<街道><路名><号><小区><楼-门-室>."""
    road = road_for(rng, street)
    estate = rng.choice(["花园", "家园", "新村", "小区", "嘉园", "里", "公寓", "雅苑", "城", "湾"])
    name = rng.choice(_TRADE_CHARS) + rng.choice(_TRADE_CHARS) + estate
    building, door, floor, room = (
        rng.randrange(1, 40),
        rng.randrange(1, 7),
        rng.randrange(1, 33),
        rng.randrange(1, 5),
    )
    unit = f"{building}-{door}-{floor}{room:02d}"
    return f"天津市滨海新区{street}{road}{rng.randrange(1, 400)}号{name}{unit}"
