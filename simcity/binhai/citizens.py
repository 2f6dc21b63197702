"""Pseudonymous citizens (population register): where they live follows the population model,
so citizens per grid cell track the cells' estimated population. All of it is personal data.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from simcity.binhai.context import BASE_TIME, Context, iso, key
from simcity.binhai.names import residential_address
from simcity.binhai.outline import point
from simcity.binhai.people import PersonFactory

CITIZENS_PER_SCALE = 20_000
_ETHNICITIES = (("汉族", 955), ("回族", 15), ("满族", 15), ("蒙古族", 6), ("朝鲜族", 4),
                ("土家族", 3), ("壮族", 2))  # fmt: skip


def generate_citizens(ctx: Context) -> list[dict[str, Any]]:
    rng = ctx.rng("citizens")
    nrng = ctx.np_rng("citizens")
    people = PersonFactory(ctx, "citizens")
    n = CITIZENS_PER_SCALE * ctx.scale
    homes = ctx.population_points(nrng, n)
    located = ctx.locate(homes[:, 0], homes[:, 1])
    names = [e for e, _ in _ETHNICITIES]
    weights = [w for _, w in _ETHNICITIES]
    out = []
    for i in range(n):
        cell, street = located[i]
        person = people.person(min_age=0, max_age=95)
        native = person.resident_id[:4] == "1201" or rng.random() < 0.3
        attrs: dict[str, Any] = person.as_attrs()
        attrs.update(
            ethnicity=rng.choices(names, weights)[0],
            household_type="户籍人口" if native else "常住非户籍人口",
            address=residential_address(rng, street),
            street=street,
            grid_cell=cell,
            app_user=rng.random() < 0.45,
            registered_at=iso(BASE_TIME - timedelta(days=rng.randrange(1, 7000))),
        )
        out.append(
            ctx.record(
                "Citizen",
                key("CIT", i + 1),
                "population",
                f"RK{derive_serial(i)}",
                ctx.fetched_at(rng, 48),
                attrs,
                point(float(homes[i, 0]), float(homes[i, 1])),
            )
        )
    return out


def derive_serial(i: int) -> str:
    """The population register's own person number (not the ID number, which is personal)."""
    return f"120116{(i * 7919 + 104729) % 10**10:010d}"
