"""Hazardous-chemicals supervision: 364 production, 75 logistics and 477 warehousing firms, their
sites in the industrial parks, the storage tanks with temperature / pressure / level sensors,
and the real-name check-in/out slips of the warehouses.

* One site per firm: a plant (生产厂区) for producers, a dedicated parking yard (危险品车辆停车场)
  for logistics firms, a tank farm (罐区, about 40 %) or a packaged-goods warehouse (仓库) for
  warehousing firms.
* Tanks (6,000 per scale unit) are shared out over plants and tank farms; each tank has one
  sensor of each quantity (temperature °C, pressure kPa gauge, liquid level m) with low / high /
  high-high thresholds. A few sensors read outside their thresholds, so alarms fire on load.
"""

from __future__ import annotations

import math
import random
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely

from simcity.binhai.context import BASE_TIME, Context, iso, key
from simcity.binhai.enterprises import EnterpriseRegistry
from simcity.binhai.geography import largest_remainder
from simcity.binhai.names import FirmNamer, address
from simcity.binhai.outline import outline, point
from simcity.binhai.parks import PARKS, park_shapes
from simcity.binhai.people import PersonFactory
from simcity.binhai.substances import SUBSTANCES, TANK_TYPES, Substance, substance_attrs

CATEGORIES: tuple[tuple[str, str, int], ...] = (
    ("production", "生产", 364),
    ("logistics", "物流运输", 75),
    ("warehousing", "仓储", 477),
)
TANKS_PER_SCALE = 6000
STOCK_MOVEMENTS_PER_SCALE = 4000
SENSOR_QUANTITIES: tuple[tuple[str, str, str], ...] = (
    ("T", "temperature", "°C"),
    ("P", "pressure", "kPa"),
    ("L", "level", "m"),
)
_INDUSTRY_WORDS = {
    "production": (
        "化工",
        "石化",
        "化学",
        "新材料科技",
        "精细化工",
        "气体",
        "石油化工",
        "化学工业",
    ),
    "logistics": ("危险品运输", "化工物流", "危险货物运输", "物流"),
    "warehousing": ("仓储", "石化仓储", "港口储运", "化工仓储", "物流仓储"),
}
_SITE_TYPES = {"production": "生产厂区", "logistics": "危险品车辆停车场"}
_PRODUCTION_SUBSTANCES = [s for s in SUBSTANCES if s.name not in ("原油", "液化天然气")]
_PORT_SUBSTANCES = [
    s for s in SUBSTANCES
    if s.name in ("原油", "汽油", "柴油", "石脑油", "甲醇", "乙醇", "苯", "甲苯", "二甲苯",
                  "苯乙烯", "液化石油气", "液化天然气", "乙酸", "丙酮", "乙酸乙酯", "硫酸", "液氨")
]  # fmt: skip


def _round(x: float, nd: int = 2) -> float:
    return round(float(x), nd) + 0.0


class HazchemWorld:
    """Generated hazchem firms, sites, tanks, sensors and stock slips; vehicles need the firms."""

    def __init__(self) -> None:
        self.firms: list[dict[str, Any]] = []
        self.sites: list[dict[str, Any]] = []
        self.tanks: list[dict[str, Any]] = []
        self.sensors: list[dict[str, Any]] = []
        self.movements: list[dict[str, Any]] = []
        self.logistics_firms: list[str] = []  # keys of logistics firms (vehicle owners)


def _tank_geometry(capacity: float, tank_type: str, rng: random.Random) -> tuple[float, float]:
    """(diameter, height) in metres for a tank of ``capacity`` m³."""
    if tank_type == "球罐":
        d = (6 * capacity / math.pi) ** (1 / 3)
        return d, d
    if tank_type in ("卧式罐", "卧式压力储罐"):
        d = rng.uniform(2.4, 3.6)
        return d, capacity / (math.pi * d * d / 4)  # "height" is the length
    # height / diameter of vertical tanks: ~1 for small ones, ~0.3 for 100,000 m³ crude tanks
    ratio = 2.4 * capacity**-0.18 * rng.uniform(0.9, 1.1)
    d = (4 * capacity / (math.pi * ratio)) ** (1 / 3)
    return d, d * ratio


def _thresholds(s: Substance, quantity: str, height: float) -> dict[str, float]:
    if quantity == "level":
        return {
            "low": _round(height * 0.1),
            "high": _round(height * 0.85),
            "high_high": _round(height * 0.9),
        }
    if quantity == "temperature":
        lo, hi = s.temp_c
        return {
            "low": _round(lo - 5, 1),
            "high": _round(hi + 5, 1),
            "high_high": _round(hi + 12, 1),
        }
    lo, hi = s.pressure_kpa
    if s.storage == "atmospheric":
        return {"low": -0.5, "high": _round(hi * 1.5, 2), "high_high": _round(hi * 2.5, 2)}
    return {
        "low": _round(lo * 0.5, 1),
        "high": _round(hi * 1.1, 1),
        "high_high": _round(hi * 1.25, 1),
    }


def _reading(
    rng: random.Random, s: Substance, quantity: str, th: dict[str, float], height: float
) -> float:
    roll = rng.random()
    if roll < 0.002:
        return _round(th["high_high"] * 1.02 + abs(th["high_high"]) * 0.02 + 0.1, 2)
    if roll < 0.007:
        return _round((th["high"] + th["high_high"]) / 2, 2)
    if roll < 0.010:
        return _round(th["low"] - abs(th["low"]) * 0.1 - 0.1, 2)
    if quantity == "level":
        return _round(rng.uniform(0.15, 0.8) * height, 2)
    lo, hi = s.temp_c if quantity == "temperature" else s.pressure_kpa
    return _round(rng.uniform(lo, hi), 2)


def generate_hazchem(ctx: Context, registry: EnterpriseRegistry, namer: FirmNamer) -> HazchemWorld:
    rng = ctx.rng("hazchem")
    nrng = ctx.np_rng("hazchem")
    people = PersonFactory(ctx, "hazchem")
    shapes = park_shapes()
    world = HazchemWorld()
    site_substances: list[list[Substance]] = []
    tank_sites: list[int] = []  # indexes into world.sites that hold tanks
    site_tank_weight: list[float] = []
    site_positions: list[tuple[float, float]] = []
    warehouses: list[int] = []

    serial = 0
    for category, category_name, base in CATEGORIES:
        n = base * ctx.scale
        weights = np.array([getattr(p, category) for p in PARKS])
        park_idx = nrng.choice(len(PARKS), size=n, p=weights / weights.sum())
        outside = nrng.random(n) < 0.08
        positions = ctx.population_points(nrng, n)
        for i in range(n):
            if not outside[i]:
                park = PARKS[int(park_idx[i])]
                positions[i] = ctx.near_points(
                    nrng, park.lon, park.lat, park.radius_km / 1.5, 1, within=shapes[park.code]
                )[0]
        located = ctx.locate(positions[:, 0], positions[:, 1])
        for i in range(n):
            serial += 1
            firm_key = key("HCF", serial)
            site_key = key("HCS", serial)
            park_code = None if outside[i] else PARKS[int(park_idx[i])].code
            cell, street = located[i]
            lon, lat = float(positions[i, 0]), float(positions[i, 1])
            name = namer.name(rng, rng.choice(_INDUSTRY_WORDS[category]))
            established = ctx.day_between(rng, date(1985, 1, 1), date(2024, 12, 31))
            capital = max(50.0, round(float(nrng.lognormal(np.log(5000), 1.0)), -1))
            addr = address(rng, street, park_code)
            ent_key, uscc = registry.register(
                name=name,
                established=established,
                enterprise_type=rng.choice(
                    ["有限责任公司", "有限责任公司", "股份有限公司", "有限责任公司（外商投资）"]
                ),
                industry={
                    "production": "化学原料和化学制品制造业",
                    "logistics": "道路危险货物运输",
                    "warehousing": "危险化学品仓储",
                }[category],
                business_scope=f"危险化学品{category_name}（取得许可后方可经营）；普通货物仓储。",
                registered_capital_10k_cny=capital,
                address=addr,
                street=street,
                grid_cell=cell,
                lon=lon,
                lat=lat,
            )
            year = rng.randrange(2022, 2027)
            if category == "production":
                license_no = f"（津）WH安许证字〔{year}〕{rng.randrange(1, 9999):04d}号"
                handled = rng.sample(_PRODUCTION_SUBSTANCES, rng.randrange(1, 5))
            elif category == "warehousing":
                license_no = f"津滨危化经字〔{year}〕{rng.randrange(1, 999999):06d}"
                pool = _PORT_SUBSTANCES if park_code in ("PORT_SOUTH", "NANGANG") else SUBSTANCES
                handled = rng.sample(list(pool), rng.randrange(2, 7))
            else:
                license_no = f"津交运管许可滨字120116{rng.randrange(1, 999999):06d}号"
                handled = rng.sample(list(SUBSTANCES), rng.randrange(2, 8))
            hazard_level = rng.choices(
                ["一级", "二级", "三级", "四级", None],
                [3, 8, 15, 20, 54 if category != "logistics" else 300],
            )[0]
            officer = people.person(min_age=25, max_age=60)
            world.firms.append(
                ctx.record(
                    "HazchemFirm",
                    firm_key,
                    "hazchem-registry",
                    f"WHQY{serial:07d}",
                    ctx.fetched_at(rng, 24),
                    {
                        "name": name,
                        "uscc": uscc,
                        "enterprise": ent_key,
                        "category": category,
                        "category_name": category_name,
                        "park": f"PARK-{park_code}" if park_code else None,
                        "address": addr,
                        "street": street,
                        "grid_cell": cell,
                        "site": site_key,
                        "license_no": license_no,
                        "license_valid_until": date(year + 3, rng.randrange(1, 13), 1).isoformat(),
                        "safety_standardization_level": rng.choices(
                            ["一级", "二级", "三级"], [1, 4, 6]
                        )[0],
                        "major_hazard_level": hazard_level,
                        "employees": int(
                            max(
                                5,
                                nrng.lognormal(
                                    np.log(120 if category == "production" else 40), 0.8
                                ),
                            )
                        ),
                        "substances": [substance_attrs(s) for s in handled],
                        "annual_throughput_t": _round(float(nrng.lognormal(np.log(20000), 1.2)), 0),
                        "hidden_hazards_open": int(nrng.poisson(1.2)),
                        "hidden_hazards_closed_12m": int(nrng.poisson(8)),
                        "last_inspection": (
                            BASE_TIME.date() - timedelta(days=rng.randrange(1, 360))
                        ).isoformat(),
                        "safety_officer": officer.name,
                        "safety_officer_phone": officer.phone,
                    },
                    point(lon, lat),
                )
            )
            if category == "logistics":
                world.logistics_firms.append(firm_key)
            if category == "warehousing":
                site_type = "罐区" if rng.random() < 0.4 else "仓库"
            else:
                site_type = _SITE_TYPES[category]
            site_index = len(world.sites)
            if site_type in ("生产厂区", "罐区"):
                tank_sites.append(site_index)
                mean = 10.0 if site_type == "罐区" else 8.0
                site_tank_weight.append(float(nrng.lognormal(np.log(mean), 0.6)))
            if site_type == "仓库":
                warehouses.append(site_index)
            site_substances.append(handled)
            site_positions.append((lon, lat))
            world.sites.append(
                ctx.record(
                    "HazchemSite",
                    site_key,
                    "hazchem-registry",
                    f"WHCS{serial:07d}",
                    ctx.fetched_at(rng, 24),
                    {
                        "name": f"{name.removesuffix('有限公司').removesuffix('股份')}{site_type}",
                        "firm": firm_key,
                        "site_type": site_type,
                        "park": f"PARK-{park_code}" if park_code else None,
                        "address": addr,
                        "street": street,
                        "grid_cell": cell,
                        "area_m2": _round(
                            float(
                                nrng.lognormal(np.log(60000 if site_type != "仓库" else 8000), 0.7)
                            ),
                            0,
                        ),
                        "major_hazard_level": hazard_level,
                        "hazard_classes": sorted({s.hazard_class for s in handled}),
                        "tanks": 0,
                        "storage_capacity_t": 0.0,
                    },
                    point(lon, lat),
                )
            )

    _tanks(ctx, world, rng, nrng, tank_sites, site_tank_weight, site_substances, site_positions)
    _movements(ctx, world, warehouses, site_substances)
    return world


def _tanks(
    ctx: Context,
    world: HazchemWorld,
    rng: random.Random,
    nrng: np.random.Generator,
    tank_sites: list[int],
    weights: list[float],
    site_substances: list[list[Substance]],
    site_positions: list[tuple[float, float]],
) -> None:
    total = TANKS_PER_SCALE * ctx.scale
    counts = 1 + largest_remainder(np.array(weights), total - len(tank_sites))
    district = outline()
    serial = 0
    positions: list[tuple[float, float]] = []
    for site_index, count in zip(tank_sites, counts.tolist(), strict=True):
        site = world.sites[site_index]
        lon0, lat0 = site_positions[site_index]
        sub_pool = [s for s in site_substances[site_index]]
        capacity_t = 0.0
        for t in range(count):
            serial += 1
            tank_key = key("TNK", serial)
            s = rng.choice(sub_pool)
            tank_type = rng.choice(TANK_TYPES[s.storage])
            if s.storage == "refrigerated":
                capacity = rng.choice([20000, 30000, 50000, 80000, 160000])
            elif s.storage == "pressurized":
                capacity = rng.choice([200, 400, 1000, 2000, 3000])
            elif s.name == "原油":
                capacity = rng.choice([50000, 100000, 100000, 150000])
            elif tank_type == "卧式罐":
                capacity = rng.choice([30, 50, 100])
            else:
                capacity = rng.choice([500, 1000, 2000, 3000, 5000, 10000, 20000, 30000])
            diameter, height = _tank_geometry(capacity, tank_type, rng)
            level_height = diameter if tank_type in ("卧式罐", "卧式压力储罐") else height
            capacity_t += capacity * s.density_t_m3 * 0.9
            # place the tank within ~300 m of the site's point, inside the district
            lon, lat = lon0, lat0
            for _ in range(20):
                cand_lon = round(lon0 + rng.uniform(-0.003, 0.003), 6)
                cand_lat = round(lat0 + rng.uniform(-0.0025, 0.0025), 6)
                if shapely.contains_xy(district, cand_lon, cand_lat):
                    lon, lat = cand_lon, cand_lat
                    break
            positions.append((lon, lat))
            geometry = point(lon, lat)
            level_th = _thresholds(s, "level", level_height)
            commissioned = ctx.day_between(rng, date(1995, 1, 1), date(2025, 6, 30))
            status = rng.choices(["在用", "停用", "检修"], [92, 5, 3])[0]
            world.tanks.append(
                ctx.record(
                    "Tank",
                    tank_key,
                    "hazchem-registry",
                    f"CG{serial:08d}",
                    site["fetched_at"],
                    {
                        "site": site["key"],
                        "firm": site["attrs"]["firm"],
                        "tank_no": f"T-{(t // 20 + 1)}{t % 20 + 1:02d}",
                        "tank_type": tank_type,
                        "storage": s.storage,
                        "capacity_m3": float(capacity),
                        "diameter_m": _round(diameter),
                        "height_m": _round(height),
                        "substance": substance_attrs(s),
                        "design_pressure_kpa": _round(s.pressure_kpa[1] * 1.3, 1),
                        "design_temperature_c": [
                            _round(s.temp_c[0] - 20, 1),
                            _round(s.temp_c[1] + 20, 1),
                        ],
                        "level_thresholds_m": level_th,
                        "commissioned": commissioned.isoformat(),
                        "status": status,
                        "grid_cell": None,  # filled in below, all tanks at once
                    },
                    geometry,
                )
            )
            for suffix, quantity, unit in SENSOR_QUANTITIES:
                th = _thresholds(s, quantity, level_height)
                offline = rng.random() < 0.01
                world.sensors.append(
                    ctx.record(
                        "Sensor",
                        f"{tank_key}-{suffix}",
                        "tank-sensors",
                        f"TS{serial:08d}{suffix}",
                        iso(BASE_TIME - timedelta(seconds=rng.randrange(1, 90))),
                        {
                            "tank": tank_key,
                            "site": site["key"],
                            "firm": site["attrs"]["firm"],
                            "quantity": quantity,
                            "unit": unit,
                            "thresholds": th,
                            "last_value": _reading(rng, s, quantity, th, level_height),
                            "last_reading_at": iso(
                                BASE_TIME
                                - timedelta(
                                    seconds=rng.randrange(1, 60) + (86400 if offline else 0)
                                )
                            ),
                            "status": "offline" if offline else "online",
                            "sampling_interval_s": rng.choice([10, 30, 60]),
                            "device_id": f"TS-{serial:07d}-{suffix}",
                            "mqtt_topic": f"binhai/hazchem/{site['key']}/{tank_key}/{quantity}",
                        },
                        geometry,
                    )
                )
        site["attrs"]["tanks"] = count
        site["attrs"]["storage_capacity_t"] = _round(capacity_t, 0)
    xy = np.array(positions)
    for tank, (cell, _) in zip(world.tanks, ctx.locate(xy[:, 0], xy[:, 1]), strict=True):
        tank["attrs"]["grid_cell"] = cell
    for site in world.sites:  # packaged-goods warehouses and yards: capacity in tonnes
        if site["attrs"]["tanks"] == 0 and site["attrs"]["site_type"] == "仓库":
            site["attrs"]["storage_capacity_t"] = _round(
                float(nrng.lognormal(np.log(3000), 0.8)), 0
            )


def _movements(
    ctx: Context, world: HazchemWorld, warehouses: list[int], site_substances: list[list[Substance]]
) -> None:
    """Real-name check-in / check-out slips of the packaged-goods warehouses (warehouse-iot)."""
    rng = ctx.rng("hazchem/movements")
    people = PersonFactory(ctx, "hazchem/movements")
    operators = [people.person(min_age=22, max_age=58) for _ in range(max(1, len(warehouses)))]
    n = STOCK_MOVEMENTS_PER_SCALE * ctx.scale
    for i in range(1, n + 1):
        w = rng.choice(warehouses)
        site = world.sites[w]
        s = rng.choice(site_substances[w])
        moment = BASE_TIME - timedelta(seconds=rng.randrange(60, 30 * 86400))
        operator = operators[warehouses.index(w)] if rng.random() < 0.7 else rng.choice(operators)
        world.movements.append(
            ctx.record(
                "StockMovement",
                key("STK", i),
                "warehouse-iot",
                f"CRK{moment:%Y%m%d}{i:07d}",
                iso(moment + timedelta(seconds=rng.randrange(1, 5))),
                {
                    "site": site["key"],
                    "firm": site["attrs"]["firm"],
                    "direction": rng.choice(["in", "out"]),
                    "substance": substance_attrs(s),
                    "quantity_t": _round(rng.uniform(0.2, 30.0), 3),
                    "packages": rng.randrange(1, 200),
                    "operator": operator.name,
                    "operator_id_number": operator.resident_id,
                    "slip_issued_at": iso(moment),
                },
                None,
            )
        )
