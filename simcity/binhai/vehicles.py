"""Hazardous-chemicals vehicles (2,673, owned by the 75 logistics firms) and the licence plates
they and the muck trucks carry.

Plates are written ``津A·12345`` (province, issuing-office letter, a middle dot, five
characters). Each vehicle's GPS terminal (JT/T 808) reports position, speed and heading.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

import numpy as np

from simcity.binhai.context import BASE_TIME, Context, iso, key
from simcity.binhai.hazchem import HazchemWorld
from simcity.binhai.outline import point
from simcity.binhai.parks import PARKS, park_shapes
from simcity.binhai.people import PersonFactory
from simcity.binhai.substances import HAZARD_CLASS_NAMES, SUBSTANCES, substance_attrs

VEHICLES_PER_SCALE = 2673
_PLATE_LETTERS = "ABCDEFGHJKLMNQR"
_PLATE_CHARS = "0123456789ABCDEFGHJKLMNPQRSTUVWXYZ"
VEHICLE_TYPES = (
    ("罐式危险货物运输车", 0.45),
    ("半挂牵引车", 0.30),
    ("厢式危险货物运输车", 0.20),
    ("气瓶运输车", 0.05),
)


def plate(ctx: Context, rng: random.Random) -> str:
    """A unique Tianjin plate, e.g. 津B·3D215 (mostly digits, now and then one letter)."""
    for _ in range(10_000):
        body = [rng.choice("0123456789") for _ in range(5)]
        if rng.random() < 0.35:
            body[rng.randrange(0, 4)] = rng.choice(_PLATE_CHARS[10:])
        text = f"津{rng.choice(_PLATE_LETTERS)}·{''.join(body)}"
        if text not in ctx.used_plates:
            ctx.used_plates.add(text)
            return text
    raise RuntimeError("ran out of plates")


def terminal_id(serial: int, prefix: str) -> str:
    """A JT/T 808 terminal number: 12 digits, ``0`` + 3-digit prefix + 8-digit serial."""
    return f"0{prefix}{serial % 10**8:08d}"


def generate_vehicles(ctx: Context, world: HazchemWorld) -> list[dict[str, Any]]:
    rng = ctx.rng("vehicles")
    nrng = ctx.np_rng("vehicles")
    people = PersonFactory(ctx, "vehicles")
    n = VEHICLES_PER_SCALE * ctx.scale
    owners = world.logistics_firms
    # fleet sizes: skewed (a few large carriers), at least 5 vehicles each, adding up to n
    weights = nrng.lognormal(0.0, 0.8, len(owners))
    fleet = 5 + np.floor(weights / weights.sum() * (n - 5 * len(owners))).astype(int)
    fleet[np.argsort(-weights, kind="stable")[: n - int(fleet.sum())]] += 1
    owner_of = np.repeat(np.arange(len(owners)), fleet)

    # where they are right now: 45 % in / near parks, 55 % on the road (population-ish)
    shapes = park_shapes()
    hazchem_parks = [p for p in PARKS if p.logistics + p.warehousing + p.production > 0]
    pw = np.array([p.logistics + p.warehousing + p.production for p in hazchem_parks])
    positions = ctx.population_points(nrng, n)
    in_park = nrng.random(n) < 0.45
    park_idx = nrng.choice(len(hazchem_parks), size=n, p=pw / pw.sum())
    for j in np.flatnonzero(in_park).tolist():
        park = hazchem_parks[int(park_idx[j])]
        positions[j] = ctx.near_points(
            nrng, park.lon, park.lat, park.radius_km / 1.5, 1, within=shapes[park.code]
        )[0]
    located = ctx.locate(positions[:, 0], positions[:, 1])
    types = [t for t, _ in VEHICLE_TYPES]
    type_w = [w for _, w in VEHICLE_TYPES]

    records = []
    for i in range(n):
        serial = i + 1
        vtype = rng.choices(types, type_w)[0]
        if vtype == "气瓶运输车":
            cargo = rng.choice([s for s in SUBSTANCES if s.storage == "pressurized"])
        elif vtype == "罐式危险货物运输车":
            cargo = rng.choice([s for s in SUBSTANCES if s.storage == "atmospheric"])
        else:
            cargo = rng.choice(SUBSTANCES)
        status = rng.choices(["行驶", "停车", "离线"], [55, 40, 5])[0]
        speed = _speed(rng, status)
        driver = people.person(min_age=25, max_age=60, gender=rng.choices("男女", [95, 5])[0])
        escort = people.person(min_age=22, max_age=60)
        last = BASE_TIME - timedelta(
            seconds=rng.randrange(6, 36) + (7200 if status == "离线" else 0)
        )
        cell, street = located[i]
        records.append(
            ctx.record(
                "HazchemVehicle",
                key("HCV", serial),
                "vehicle-gps",
                terminal_id(serial, "145"),
                iso(last + timedelta(seconds=rng.randrange(1, 5))),
                {
                    "plate": plate(ctx, rng),
                    "plate_color": "黄",
                    "vehicle_type": vtype,
                    "owner_firm": owners[int(owner_of[i])],
                    "hazard_class": cargo.hazard_class,
                    "hazard_class_name": HAZARD_CLASS_NAMES[cargo.hazard_class],
                    "cargo": substance_attrs(cargo),
                    "load_t": round(rng.uniform(5, 32), 1),
                    "transport_permit": f"120116{rng.randrange(0, 10**6):06d}",
                    "gps_terminal": terminal_id(serial, "145"),
                    "driver": driver.name,
                    "driver_phone": driver.phone,
                    "escort": escort.name,
                    "escort_phone": escort.phone,
                    "status": status,
                    "speed_kmh": speed,
                    "heading_deg": rng.randrange(0, 360),
                    "last_gps_at": iso(last),
                    "street": street,
                    "grid_cell": cell,
                    "overspeed_30d": int(nrng.poisson(0.6)),
                    "fatigue_driving_30d": int(nrng.poisson(0.2)),
                },
                point(float(positions[i, 0]), float(positions[i, 1])),
            )
        )
    return records


def _speed(rng: random.Random, status: str) -> float:
    if status != "行驶":
        return 0.0
    return round(min(95.0, max(3.0, rng.gauss(48, 15))), 1)
