"""Muck (construction spoil) supervision: construction sites, dumping sites (消纳场), the muck
trucks carrying between them and the transport firms that own the trucks.

Sites have footprints (rotated rectangles, GCJ-02) inside the district; construction sites
follow population (and the parks), dumping sites lie out in the low-density land.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import Polygon, box
from shapely.geometry.base import BaseGeometry

from simcity.binhai.context import BASE_DATE, BASE_TIME, Context, iso, key
from simcity.binhai.enterprises import EnterpriseRegistry
from simcity.binhai.names import FirmNamer, address
from simcity.binhai.outline import (
    from_local,
    outline,
    point,
    random_points_in,
    to_geojson,
    to_local,
)
from simcity.binhai.people import PersonFactory
from simcity.binhai.vehicles import plate, terminal_id

TRANSPORT_FIRMS_PER_SCALE = 30
BUILDERS_PER_SCALE = 60
CONSTRUCTION_SITES_PER_SCALE = 360
DUMPING_SITES_PER_SCALE = 24
MUCK_TRUCKS_PER_SCALE = 1200
PROJECT_TYPES = (
    ("住宅", "项目", 35),
    ("商业综合体", "项目", 10),
    ("市政道路", "工程", 15),
    ("地铁", "工程", 5),
    ("工业厂房", "项目", 15),
    ("学校", "工程", 6),
    ("医院", "工程", 3),
    ("排水管网", "改造工程", 11),
)


def footprint(lon: float, lat: float, width_m: float, depth_m: float, angle: float) -> Polygon:
    """A rotated rectangle centred on lon/lat, in lon/lat, rounded to 6 decimals."""
    cx, cy = to_local(np.array([[lon, lat]]))[0]
    rect = affinity.rotate(
        box(cx - width_m / 2, cy - depth_m / 2, cx + width_m / 2, cy + depth_m / 2),
        angle,
        origin=(cx, cy),
    )
    ring = np.round(from_local(np.asarray(rect.exterior.coords)), 6)
    return Polygon(ring)


def _place_footprints(
    ctx: Context, rng: random.Random, centres: np.ndarray, sizes: tuple[float, float]
) -> list[tuple[float, float, BaseGeometry]]:
    district = outline()
    out = []
    for lon, lat in centres:
        lon, lat = float(lon), float(lat)
        for attempt in range(30):
            scale = 1.0 if attempt < 10 else 0.5 if attempt < 20 else 0.2
            shape = footprint(
                lon,
                lat,
                rng.uniform(*sizes) * scale,
                rng.uniform(*sizes) * scale,
                rng.uniform(0, 90),
            )
            if shapely.is_valid(shape) and district.covers(shape):
                break
        else:  # a tiny square around the centre, which is inside
            shape = footprint(lon, lat, 2.0, 2.0, 0.0)
        out.append((lon, lat, shape))
    return out


def generate_muck(
    ctx: Context, registry: EnterpriseRegistry, namer: FirmNamer
) -> dict[str, list[dict[str, Any]]]:
    rng = ctx.rng("muck")
    nrng = ctx.np_rng("muck")
    people = PersonFactory(ctx, "muck")
    out: dict[str, list[dict[str, Any]]] = {
        "ConstructionSite": [],
        "DumpingSite": [],
        "MuckTruck": [],
    }

    def firms(count: int, words: tuple[str, ...], industry: str) -> list[tuple[str, str]]:
        pts = ctx.population_points(nrng, count)
        located = ctx.locate(pts[:, 0], pts[:, 1])
        made = []
        for (lon, lat), (cell, street) in zip(pts.tolist(), located, strict=True):
            name = namer.name(rng, rng.choice(words))
            ent, _ = registry.register(
                name=name,
                established=ctx.day_between(rng, date(1998, 1, 1), date(2024, 6, 30)),
                enterprise_type="有限责任公司",
                industry=industry,
                business_scope=f"{industry}；土石方工程；普通货物道路运输。",
                registered_capital_10k_cny=round(float(nrng.lognormal(np.log(3000), 0.8)), -1),
                address=address(rng, street),
                street=street,
                grid_cell=cell,
                lon=lon,
                lat=lat,
            )
            made.append((ent, name))
        return made

    transport = firms(
        TRANSPORT_FIRMS_PER_SCALE * ctx.scale, ("渣土运输", "土石方工程", "运输"), "道路货物运输"
    )
    builders = firms(
        BUILDERS_PER_SCALE * ctx.scale, ("建设集团", "建筑工程", "建工", "市政工程"), "房屋建筑业"
    )

    # construction sites
    n_sites = CONSTRUCTION_SITES_PER_SCALE * ctx.scale
    centres = ctx.population_points(nrng, n_sites)
    placed = _place_footprints(ctx, rng, centres, (60.0, 400.0))
    located = ctx.locate(centres[:, 0], centres[:, 1])
    for i, ((lon, lat, shape), (cell, street)) in enumerate(zip(placed, located, strict=True), 1):
        kind_i = rng.choices(range(len(PROJECT_TYPES)), [w for _, _, w in PROJECT_TYPES])[0]
        kind, suffix, _ = PROJECT_TYPES[kind_i]
        builder, builder_name = rng.choice(builders)
        start = BASE_DATE - timedelta(days=rng.randrange(20, 900))
        earthwork = round(float(nrng.lognormal(np.log(40000), 0.9)), -2)
        status = rng.choices(["在建", "停工", "竣工验收"], [82, 8, 10])[0]
        pm10 = round(max(20.0, rng.gauss(85, 35)), 1)
        road = rng.choice(ctx.street(street).roads)
        out["ConstructionSite"].append(
            ctx.record(
                "ConstructionSite",
                key("CS", i),
                "construction-sites",
                f"{120116}{start:%Y%m%d}{i:04d}",
                ctx.fetched_at(rng, 12),
                {
                    "name": f"滨海新区{road}{kind}{suffix}"
                    if kind != "住宅"
                    else f"{street.removesuffix('街道').removesuffix('镇')}"
                    f"{rng.choice(['和园', '雅居', '锦苑', '悦府', '花园'])}住宅项目",
                    "project_type": kind,
                    "builder": builder,
                    "builder_name": builder_name,
                    "address": address(rng, street),
                    "street": street,
                    "grid_cell": cell,
                    "permit_no": f"{120116}{start:%Y%m%d}{i:04d}",
                    "start_date": start.isoformat(),
                    "planned_completion": (
                        start + timedelta(days=rng.randrange(180, 1100))
                    ).isoformat(),
                    "status": status,
                    "earthwork_m3": earthwork,
                    "muck_removed_m3": round(earthwork * rng.uniform(0.1, 1.0), -1),
                    "dust_pm10_ug_m3": pm10,
                    "dust_alarm": pm10 > 150,
                    "fence_complete": rng.random() < 0.93,
                    "wheel_washing": rng.random() < 0.9,
                    "video_online": rng.random() < 0.95,
                    "centre": [lon, lat],
                },
                to_geojson(shape),
            )
        )

    # dumping sites: out in the open land (uniform over the district, i.e. mostly rural)
    n_dumps = DUMPING_SITES_PER_SCALE * ctx.scale
    dump_centres = random_points_in(outline(), n_dumps, nrng)
    dumps = _place_footprints(ctx, rng, dump_centres, (200.0, 700.0))
    dlocated = ctx.locate(dump_centres[:, 0], dump_centres[:, 1])
    for i, ((lon, lat, shape), (cell, street)) in enumerate(zip(dumps, dlocated, strict=True), 1):
        capacity = round(float(nrng.lognormal(np.log(800000), 0.6)), -3)
        used = round(capacity * rng.uniform(0.05, 1.0), -2)
        status = "已满" if used >= capacity * 0.98 else rng.choices(["开放", "关闭"], [85, 15])[0]
        town = street.removesuffix("街道").removesuffix("镇")
        out["DumpingSite"].append(
            ctx.record(
                "DumpingSite",
                key("DUMP", i),
                "muck-gps",
                f"XNC{i:04d}",
                ctx.fetched_at(rng, 12),
                {
                    "name": f"{town}{i}号渣土消纳场",
                    "street": street,
                    "grid_cell": cell,
                    "capacity_m3": capacity,
                    "used_m3": used,
                    "status": status,
                    "accepts": sorted(
                        rng.sample(
                            ["建筑渣土", "工程泥浆", "拆除垃圾", "装修垃圾"], rng.randrange(1, 4)
                        )
                    ),
                    "open_hours": rng.choice(["20:00-06:00", "全天", "22:00-05:00"]),
                    "centre": [lon, lat],
                },
                to_geojson(shape),
            )
        )

    # muck trucks: near the sites they serve, or on the way to a dump
    n_trucks = MUCK_TRUCKS_PER_SCALE * ctx.scale
    site_of = nrng.integers(0, n_sites, n_trucks)
    dump_of = nrng.integers(0, n_dumps, n_trucks)
    on_site = nrng.random(n_trucks) < 0.5
    pos = np.empty((n_trucks, 2))
    for i in range(n_trucks):
        lon, lat, _ = placed[int(site_of[i])] if on_site[i] else dumps[int(dump_of[i])]
        pos[i] = ctx.near_points(nrng, lon, lat, 0.8 if on_site[i] else 4.0, 1)[0]
    tlocated = ctx.locate(pos[:, 0], pos[:, 1])
    fleet = nrng.integers(0, len(transport), n_trucks)
    for i in range(n_trucks):
        cell, street = tlocated[i]
        status = rng.choices(["运输中", "停驻", "离线"], [45, 48, 7])[0]
        driver = people.person(min_age=23, max_age=60, gender=rng.choices("男女", [97, 3])[0])
        last = BASE_TIME - timedelta(
            seconds=rng.randrange(6, 36) + (3600 if status == "离线" else 0)
        )
        company, company_name = transport[int(fleet[i])]
        out["MuckTruck"].append(
            ctx.record(
                "MuckTruck",
                key("MUCK", i + 1),
                "muck-gps",
                terminal_id(i + 1, "146"),
                iso(last + timedelta(seconds=rng.randrange(1, 5))),
                {
                    "plate": plate(ctx, rng),
                    "company": company,
                    "company_name": company_name,
                    "capacity_t": float(rng.choice([18, 25, 31, 40])),
                    "closed_body": rng.random() < 0.9,
                    "gps_terminal": terminal_id(i + 1, "146"),
                    "transport_permit": f"津滨渣准字{BASE_DATE.year}{i + 1:06d}",
                    "permitted_site": key("CS", int(site_of[i]) + 1),
                    "permitted_dump": key("DUMP", int(dump_of[i]) + 1),
                    "driver": driver.name,
                    "driver_phone": driver.phone,
                    "status": status,
                    "speed_kmh": round(min(80.0, max(5.0, rng.gauss(35, 12))), 1)
                    if status == "运输中"
                    else 0.0,
                    "heading_deg": rng.randrange(0, 360),
                    "last_gps_at": iso(last),
                    "street": street,
                    "grid_cell": cell,
                    "violations_30d": {
                        "overspeed": int(nrng.poisson(0.5)),
                        "route_deviation": int(nrng.poisson(0.3)),
                        "uncovered_load": int(nrng.poisson(0.2)),
                        "night_ban": int(nrng.poisson(0.1)),
                    },
                },
                point(float(pos[i, 0]), float(pos[i, 1])),
            )
        )
    return out
