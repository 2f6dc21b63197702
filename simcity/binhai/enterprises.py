"""The market-entity registry: every firm of the demo city, with its unified social credit code.

Domain generators (finance, hazchem, muck, construction) register their firms here; the
registry mints a unique, valid GB 32100 code for each (``91`` + ``120116`` + organisation code
+ checks) and produces the ``Enterprise`` records of the ``market-registry`` system. Domain
records carry the same code and the Enterprise key, so the hub can resolve them to one entity.

Organisation codes look like the real ones: firms registered since the code reform
(October 2015) carry the new ``MA…`` organisation codes, older ones an 8-digit legacy code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from schema.uscc import ALPHABET, make_uscc
from simcity.binhai.context import Context, key
from simcity.binhai.outline import point
from simcity.binhai.people import PersonFactory

DIVISION = "120116"
REFORM_DATE = date(2015, 10, 1)
_LETTERS = ALPHABET  # the organisation-code body may use any symbol of the USCC alphabet


@dataclass
class _Entry:
    key: str
    uscc: str
    attrs: dict[str, Any]
    lon: float
    lat: float


class EnterpriseRegistry:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.rng = ctx.rng("uscc")
        self.people = PersonFactory(ctx, "legal-representatives")
        self.entries: list[_Entry] = []
        self.codes: set[str] = set()

    def _org_body(self, established: date, foreign: bool) -> str:
        if established >= REFORM_DATE:
            return "MA0" + self.rng.choice("5679") + "".join(self.rng.choices(_LETTERS, k=4))
        head = "6" if foreign else self.rng.choice("1357")
        return head + "".join(self.rng.choices("0123456789", k=7))

    def mint(self, established: date, foreign: bool = False) -> str:
        for _ in range(10_000):
            code = make_uscc("9", "1", DIVISION, self._org_body(established, foreign))
            if code not in self.codes:
                self.codes.add(code)
                return code
        raise RuntimeError("ran out of unified social credit codes")

    def register(
        self,
        *,
        name: str,
        established: date,
        enterprise_type: str,
        industry: str,
        business_scope: str,
        registered_capital_10k_cny: float,
        address: str,
        street: str,
        grid_cell: str,
        lon: float,
        lat: float,
        foreign: bool = False,
    ) -> tuple[str, str]:
        """Register a firm; returns (Enterprise key, unified social credit code)."""
        uscc = self.mint(established, foreign)
        ent_key = key("ENT", len(self.entries) + 1)
        legal = self.people.person(min_age=28, max_age=70)
        attrs = {
            "name": name,
            "uscc": uscc,
            "enterprise_type": enterprise_type,
            "industry": industry,
            "business_scope": business_scope,
            "registered_capital_10k_cny": registered_capital_10k_cny,
            "established": established.isoformat(),
            "status": "存续",
            "legal_representative": legal.name,
            "legal_representative_phone": legal.phone,
            "registration_authority": "天津市滨海新区市场监督管理局",
            "address": address,
            "street": street,
            "grid_cell": grid_cell,
        }
        self.entries.append(_Entry(ent_key, uscc, attrs, lon, lat))
        return ent_key, uscc

    def records(self) -> list[dict[str, Any]]:
        rng = self.ctx.rng("enterprise-records")
        out = []
        for e in self.entries:
            out.append(
                self.ctx.record(
                    "Enterprise",
                    e.key,
                    "market-registry",
                    e.uscc,
                    self.ctx.fetched_at(rng, 24),
                    e.attrs,
                    point(e.lon, e.lat),
                )
            )
        return out
