"""Quasi-financial firms (泛金融企业): 2,701 firms of 7 types, with the operating data the
"smoke index" (冒烟指数) risk model scores.

The source document names five types (小贷、担保、典当、融资、租赁) "and others", seven in all.
The seven used here, with their share of the 2,701 (Binhai's Dongjiang free-trade port is
China's leasing hub, so leasing dominates):

=================  ==========  =====
type               name        firms
=================  ==========  =====
``leasing``        融资租赁     1,300
``factoring``      商业保理       520
``private_fund``   私募基金管理   480
``small_loan``     小额贷款       150
``pawn``           典当           120
``guarantee``      融资担保       110
``trading_venue``  地方交易场所    21
=================  ==========  =====

Every firm has a hidden risk propensity (not written out) that drives, with noise, the fields
a model sees: compliance deviations (missed reports, penalties, rates above the legal cap,
unreachable address), social propagation (complaints, lawsuits, negative news, mentions),
inducement (advertised return rate, risk keywords in marketing), and so on. Leasing and
factoring include the many "shell" firms (空壳) with no business and no staff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np

from simcity.binhai.context import Context, key
from simcity.binhai.enterprises import EnterpriseRegistry
from simcity.binhai.names import FirmNamer, address
from simcity.binhai.outline import point
from simcity.binhai.parks import PARKS, park_shapes


@dataclass(frozen=True)
class FinanceType:
    code: str
    name: str
    industry_word: str  # as it appears in firm names
    count: int
    capital_median_10k: float  # registered capital, 万元
    balance_name: str  # what the outstanding balance measures
    balance_per_capital: float  # typical outstanding balance / registered capital
    rate_range: tuple[float, float]  # typical annualised rate charged / promised, %
    shell_share: float  # share of firms without business
    in_parks: float  # share located in the finance districts (rest follows population)
    licensed: bool
    rate_cap_pct: float | None  # the rate above which the charge is a compliance deviation


FINANCE_TYPES: tuple[FinanceType, ...] = (
    FinanceType("leasing", "融资租赁", "融资租赁", 1300, 20000, "租赁资产余额", 1.6,
                (5.0, 9.0), 0.30, 0.95, False, 24.0),
    FinanceType("factoring", "商业保理", "商业保理", 520, 5000, "保理融资余额", 1.2,
                (6.0, 12.0), 0.25, 0.90, False, 24.0),
    FinanceType("private_fund", "私募基金管理", "私募基金管理", 480, 1000, "管理基金规模", 8.0,
                (6.0, 12.0), 0.20, 0.85, False, None),
    FinanceType("small_loan", "小额贷款", "小额贷款", 150, 20000, "贷款余额", 0.9,
                (8.0, 15.0), 0.05, 0.30, True, 24.0),
    FinanceType("pawn", "典当", "典当", 120, 3000, "典当余额", 0.8,
                (24.0, 42.0), 0.05, 0.20, True, 50.4),
    FinanceType("guarantee", "融资担保", "融资担保", 110, 30000, "在保余额", 4.0,
                (1.0, 3.0), 0.05, 0.35, True, 3.0),
    FinanceType("trading_venue", "地方交易场所", "商品交易中心", 21, 10000, "年交易额", 30.0,
                (5.0, 15.0), 0.0, 0.90, True, None),
)  # fmt: skip

TOTAL_FIRMS = sum(t.count for t in FINANCE_TYPES)  # 2,701
RISK_KEYWORDS = ("保本保息", "稳赚不赔", "高额回报", "年化收益", "零风险", "随借随还", "刚性兑付")
REPORT_PERIOD = "2026Q1"
_SCOPE_TAIL = "（依法须经批准的项目，经相关部门批准后方可开展经营活动）"

_FINANCE_PARKS = [p for p in PARKS if p.finance > 0]
_PARK_WEIGHTS = np.array([p.finance for p in _FINANCE_PARKS]) / sum(
    p.finance for p in _FINANCE_PARKS
)


def _round(x: float, nd: int = 2) -> float:
    return round(float(x), nd) + 0.0


def generate_finance(
    ctx: Context, registry: EnterpriseRegistry, namer: FirmNamer
) -> list[dict[str, Any]]:
    rng = ctx.rng("finance")
    nrng = ctx.np_rng("finance")
    shapes = park_shapes()
    records: list[dict[str, Any]] = []
    serial = 0
    for ftype in FINANCE_TYPES:
        n = ftype.count * ctx.scale
        # where: finance districts or following population
        in_park = nrng.random(n) < ftype.in_parks
        park_idx = nrng.choice(len(_FINANCE_PARKS), size=n, p=_PARK_WEIGHTS)
        positions = ctx.population_points(nrng, n)
        for j in np.flatnonzero(in_park).tolist():
            park = _FINANCE_PARKS[int(park_idx[j])]
            positions[j] = ctx.near_points(
                nrng, park.lon, park.lat, park.radius_km / 2, 1, within=shapes[park.code]
            )[0]
        located = ctx.locate(positions[:, 0], positions[:, 1])
        risk = nrng.beta(1.2, 5.0, n)
        if ftype.code in ("private_fund", "trading_venue", "pawn"):
            risk = np.minimum(1.0, risk * 1.35)
        for i in range(n):
            serial += 1
            r = float(risk[i])
            cell, street = located[i]
            park_code = _FINANCE_PARKS[int(park_idx[i])].code if in_park[i] else None
            lon, lat = float(positions[i, 0]), float(positions[i, 1])
            foreign = ftype.code in ("leasing", "factoring") and rng.random() < 0.25
            name = namer.name(rng, ftype.industry_word, foreign=foreign)
            start = date(2008, 1, 1) if ftype.licensed else date(2012, 1, 1)
            established = ctx.day_between(rng, start, date(2025, 12, 31))
            capital = max(
                100.0, round(float(nrng.lognormal(np.log(ftype.capital_median_10k), 0.6)), -2)
            )
            shell = rng.random() < ftype.shell_share * (1 + r)
            paid_in = capital * (1.0 if ftype.licensed else rng.uniform(0.05, 1.0) * (1 - 0.5 * r))
            addr = address(rng, street, park_code, office=True)
            ent_key, uscc = registry.register(
                name=name,
                established=established,
                enterprise_type="有限责任公司（外商投资）" if foreign else "有限责任公司",
                industry=ftype.name + "服务",
                business_scope=f"{ftype.name}业务；相关咨询服务。{_SCOPE_TAIL}",
                registered_capital_10k_cny=capital,
                address=addr,
                street=street,
                grid_cell=cell,
                lon=lon,
                lat=lat,
                foreign=foreign,
            )
            if shell:
                balance = 0.0
                employees = rng.randrange(0, 3)
                customers = 0
            else:
                balance = (
                    capital * ftype.balance_per_capital * float(nrng.lognormal(0, 0.7)) * (1 + r)
                )
                employees = max(3, int(nrng.lognormal(np.log(18), 0.7)))
                customers = max(
                    1, int(nrng.lognormal(np.log(60 if ftype.code != "small_loan" else 900), 0.9))
                )
            lo, hi = ftype.rate_range
            rate = rng.uniform(lo, hi) + hi * 1.2 * r**2 * rng.random()
            advertises = (
                ftype.code in ("private_fund", "trading_venue") or rng.random() < 0.1 + 0.4 * r
            )
            advertised = _round(rate + rng.uniform(0, 6) * r, 2) if advertises else None
            net_assets = max(1.0, paid_in * rng.uniform(0.7, 1.3) * (1 - 0.6 * r))
            attrs: dict[str, Any] = {
                "name": name,
                "uscc": uscc,
                "enterprise": ent_key,
                "firm_type": ftype.code,
                "firm_type_name": ftype.name,
                "license_no": (
                    f"津金监许〔{max(established.year, 2010)}〕{rng.randrange(1, 999):03d}号"
                    if ftype.licensed
                    else None
                ),
                "established": established.isoformat(),
                "registered_capital_10k_cny": capital,
                "paid_in_capital_10k_cny": _round(paid_in, 1),
                "address": addr,
                "street": street,
                "grid_cell": cell,
                "park": f"PARK-{park_code}" if park_code else None,
                "employees": employees,
                "report_period": REPORT_PERIOD,
                "operating": {
                    "total_assets_10k_cny": _round(net_assets + balance * rng.uniform(0.6, 1.0), 1),
                    "net_assets_10k_cny": _round(net_assets, 1),
                    "outstanding_balance_10k_cny": _round(balance, 1),
                    "balance_kind": ftype.balance_name,
                    "leverage": _round(balance / net_assets, 3),
                    "customers": customers,
                    "annualized_rate_pct": _round(rate, 2),
                    "rate_cap_pct": ftype.rate_cap_pct,
                    "above_rate_cap": ftype.rate_cap_pct is not None and rate > ftype.rate_cap_pct,
                    "advertised_return_rate_pct": advertised,
                    "overdue_ratio_pct": _round(
                        0 if shell else min(60.0, nrng.gamma(1.2, 1.5) * (1 + 8 * r)), 2
                    ),
                    "related_party_share_pct": _round(
                        min(100.0, nrng.beta(1.2, 8) * 100 * (1 + 2 * r)), 1
                    ),
                    "largest_customer_share_pct": _round(
                        min(100.0, nrng.beta(1.5, 6) * 100 * (1 + r)), 1
                    ),
                    "report_submitted": rng.random() > 0.05 + 0.4 * r,
                },
                "compliance": {
                    "missed_reports_12m": int(nrng.poisson(0.2 + 3 * r)),
                    "regulatory_penalties_12m": int(nrng.poisson(0.05 + 1.5 * r * r)),
                    "abnormal_operation_listed": rng.random() < 0.02 + 0.35 * r * r,
                    "address_unreachable": rng.random() < 0.01 + 0.3 * r * r,
                    "executive_changes_12m": int(nrng.poisson(0.3 + 2 * r)),
                    "operating_outside_registered_area": rng.random() < 0.02 + 0.3 * r,
                },
                "social": {
                    "complaints_12m": int(nrng.poisson(0.2 + 18 * r**2)),
                    "lawsuits_12m": int(nrng.poisson(0.4 + 10 * r)),
                    "negative_news_12m": int(nrng.poisson(0.05 + 6 * r**2)),
                    "online_mentions_30d": int(nrng.lognormal(np.log(3 + 60 * r), 0.8)),
                },
                "marketing": {
                    "online_marketing": advertises,
                    "risk_keyword_hits_30d": int(nrng.poisson(25 * r**3)) if advertises else 0,
                    "risk_keywords_seen": (
                        sorted(rng.sample(RISK_KEYWORDS, k=int(len(RISK_KEYWORDS) * r**2)))
                        if advertises
                        else []
                    ),
                },
            }
            records.append(
                ctx.record(
                    "FinanceFirm",
                    key("FIN", serial),
                    "finance-registry",
                    f"JRQY{serial:07d}",
                    ctx.fetched_at(rng, 24),
                    attrs,
                    point(lon, lat),
                )
            )
    return records
