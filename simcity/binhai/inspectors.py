"""The grid system's records: the 743 cells, one inspector per cell ("一格一员、一员多能"), and
the 13 / 124 duty catalog every inspector covers.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from simcity.binhai.context import BASE_TIME, Context, iso
from simcity.binhai.duties import CATEGORIES, SUBCATEGORIES
from simcity.binhai.geography import cell_shapes
from simcity.binhai.outline import point, random_points_in
from simcity.binhai.people import PersonFactory
from simcity.binhai.streets import STREET_BY_NAME


def inspector_key(cell_key: str) -> str:
    return f"INS-{cell_key}"


def street_key(street_name: str) -> str:
    return f"BH-{STREET_BY_NAME[street_name].code}"


def generate_grid(ctx: Context) -> dict[str, list[dict[str, Any]]]:
    rng = ctx.rng("grid")
    nrng = ctx.np_rng("grid")
    people = PersonFactory(ctx, "inspectors")
    shapes = cell_shapes(ctx.seed)
    all_categories = [c.code for c in CATEGORIES]
    out: dict[str, list[dict[str, Any]]] = {
        "GridCell": [],
        "Inspector": [],
        "DutyCategory": [],
        "DutySubCategory": [],
    }
    for n, cell in enumerate(ctx.cells, start=1):
        ins_key = inspector_key(cell["key"])
        out["GridCell"].append(
            ctx.record(
                "GridCell",
                cell["key"],
                "grid-management",
                cell["code"],
                ctx.fetched_at(rng, 24),
                {
                    "code": cell["code"],
                    "name": cell["name"],
                    "street": cell["street"],
                    "street_key": street_key(cell["street"]),
                    "area_km2": cell["area_km2"],
                    "population": cell["population"],
                    "inspector": ins_key,
                },
                cell["geometry"],
            )
        )
        person = people.person(min_age=23, max_age=58)
        lon, lat = random_points_in(shapes[cell["key"]], 1, nrng)[0]
        on_duty = rng.random() < 0.8
        attrs: dict[str, Any] = person.as_attrs()
        attrs.update(
            employee_no=f"WGY{n:05d}",
            grid_cell=cell["key"],
            street=cell["street"],
            duty_categories=all_categories,
            specialties=sorted(rng.sample(all_categories, rng.randrange(2, 4))),
            on_duty=on_duty,
            status="在岗巡查" if on_duty else rng.choice(["休息", "请假", "培训"]),
            position_at=iso(
                BASE_TIME - timedelta(seconds=rng.randrange(5, 120 if on_duty else 40000))
            ),
            since=(date(2018, 12, 1) + timedelta(days=rng.randrange(0, 2500))).isoformat(),
            reports_30d=int(nrng.poisson(45 if on_duty else 20)),
        )
        out["Inspector"].append(
            ctx.record(
                "Inspector",
                ins_key,
                "grid-management",
                f"WGY{n:05d}",
                ctx.fetched_at(rng, 1),
                attrs,
                point(float(lon), float(lat)),
            )
        )
    for cat in CATEGORIES:
        out["DutyCategory"].append(
            ctx.record(
                "DutyCategory",
                cat.code,
                "grid-management",
                cat.code,
                ctx.fetched_at(rng, 72),
                {
                    "code": cat.code,
                    "name": cat.name,
                    "name_en": cat.name_en,
                    "department": cat.department,
                    "subcategories": len(cat.subcategories),
                },
            )
        )
    names = {c.code: c for c in CATEGORIES}
    for code, cat_code, name, limit in SUBCATEGORIES:
        out["DutySubCategory"].append(
            ctx.record(
                "DutySubCategory",
                code,
                "grid-management",
                code,
                ctx.fetched_at(rng, 72),
                {
                    "code": code,
                    "name": name,
                    "category": cat_code,
                    "category_name": names[cat_code].name,
                    "department": names[cat_code].department,
                    "time_limit_hours": limit,
                },
            )
        )
    return out
