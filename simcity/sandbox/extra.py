"""Records of the systems the demo-city generator does not fill, made from the same seed.

The four citizen channels besides the grid (hotline, snap-and-send, district-head mailbox,
zero distance) file service cases at citizens' homes, coded by the grid's duty catalog;
law enforcement opens cases against firms by credit code; quasi-financial firms file their
quarterly operating reports; citizens complain about firms; the opinion monitor picks up
posts naming them; the statistics bureau keeps yearly figures per firm and quarterly ones per
park; firms ask the enterprise-service platform for help. Each system spells firm names its
own way (:mod:`simcity.sandbox.variants`); the first firms of the finance registry appear in
all of them, so the same firm shows up in many systems under different spellings.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from hub.apps.enterprise_services.services import REQUEST_TYPES
from simcity.binhai.context import BASE_TIME, derive_seed, iso
from simcity.binhai.duties import CATEGORIES
from simcity.sandbox.shares import REQUEST_DAYS, REQUEST_OPEN_SHARE, Quota, targets, timing
from simcity.sandbox.variants import variant

Rec = dict[str, Any]
SHOWCASE = 20
"""The first finance firms appear in every firm-related system, in fixed spellings."""

# the channels' words for an open case and a done one, with how often each is seen
_OPEN_STATUSES = {"已立案": 2, "已批转": 2, "处置中": 3}
_DONE_STATUSES = {"已办结": 3, "已回访": 2, "已评价": 4}
# the enterprise-service platform's words (已受理: accepted, 办理中: being handled)
_REQUEST_OPEN = {"已受理": 2, "办理中": 3}
_REQUEST_DONE = {"已办结": 2, "已评价": 3}
_CHANNELS = {
    "service-hotline": ("12345便民服务热线", "HL", 3000),
    "snap-and-send": ("随手拍", "SS", 1500),
    "district-mailbox": ("区长信箱", "MB", 400),
    "zero-distance": ("政民零距离", "ZD", 600),
}


def _rng(seed: int, name: str) -> random.Random:
    return random.Random(derive_seed(seed, "sandbox/" + name))


def _rec(kind: str, key: str, system: str, source_id: str, when: str, attrs: dict[str, Any],
         geometry: dict[str, Any] | None = None) -> Rec:  # fmt: skip
    return {
        "kind": kind,
        "key": key,
        "source_system": system,
        "source_id": source_id,
        "fetched_at": when,
        "updated_at": when,
        "attrs": attrs,
        "geometry": geometry,
        "datum": "GCJ-02" if geometry else None,
    }


def _past(rng: random.Random, days: int) -> str:
    return iso(BASE_TIME - timedelta(seconds=rng.randrange(60, days * 86400)))


def _style(rng: random.Random, weights: dict[str, int]) -> str:
    return rng.choices(list(weights), list(weights.values()))[0]


def service_cases(seed: int, citizens: list[Rec]) -> dict[str, list[Rec]]:
    """The four channels' cases, dated as :mod:`simcity.sandbox.shares` says: over the last
    90 days, most done, the overdue share of each duty category's open cases at its target."""
    subs = [(c, s) for c in CATEGORIES for s in c.subcategories]
    goals = targets(_rng(seed, "cases/overdue-targets"), [c.code for c in CATEGORIES])
    quotas = {code: Quota(t) for code, t in goals.items()}  # shared by the four channels
    out: dict[str, list[Rec]] = {}
    for system, (channel, code, count) in _CHANNELS.items():
        rng = _rng(seed, f"cases/{system}")
        records = []
        for n in range(1, count + 1):
            person = rng.choice(citizens)
            cat, (sub_name, limit) = rng.choice(subs)
            sub_no = cat.subcategories.index((sub_name, limit)) + 1
            when = timing(rng, limit, quotas[cat.code])
            status = _style(rng, _DONE_STATUSES if when.done else _OPEN_STATUSES)
            a = person["attrs"]
            attrs: dict[str, Any] = {
                "channel": channel,
                "category": cat.code,
                "subcategory": f"{cat.code}-{sub_no:02d}",
                "subcategory_name": sub_name,
                "title": f"{a['street']}{sub_name}",
                "content": f"{a['address'].split('号')[0]}号附近{sub_name}，请尽快处理。",
                "reporter": a["name"],
                "reporter_phone": a["phone"],
                "address": a["address"],
                "street": a["street"],
                "grid_cell": a["grid_cell"],
                "reported_at": iso(when.reported),
                "status": status,
                "handling_department": cat.department,
                "rating": rng.randint(3, 5) if status == "已评价" else None,
            }
            if when.done:
                attrs["resolved_at"] = iso(when.done)  # the clock of a done case stops here
            if system == "snap-and-send":
                attrs["photos"] = [f"https://ssp.binhai.sim/p/{code}{n:07d}_{i}.jpg"
                                   for i in range(1, rng.randint(1, 3) + 1)]  # fmt: skip
            key = f"CASE-{code}-{n:07d}"
            source_id = f"{code}{when.reported:%Y%m%d}{n:06d}"
            records.append(
                _rec("ServiceCase", key, system, source_id, iso(when.updated), attrs,
                     person["geometry"])
            )  # fmt: skip
        out[system] = records
    return out


def _firm_pool(finance: list[Rec], enterprises: list[Rec]) -> tuple[list[Rec], dict[str, Rec]]:
    by_key = {e["key"]: e for e in enterprises}
    return finance, by_key


def enforcement_cases(seed: int, finance: list[Rec], enterprises: list[Rec]) -> list[Rec]:
    rng = _rng(seed, "law-enforcement")
    kinds = [
        ("区市场监督管理局", "虚假宣传", "《中华人民共和国广告法》第二十八条", "罚款"),
        ("区市场监督管理局", "未按规定公示年度报告", "《企业信息公示暂行条例》第八条", "警告"),
        ("区金融工作局", "超范围经营", "《融资租赁公司监督管理暂行办法》第八条", "责令改正"),
        ("区应急管理局", "安全生产隐患未整改", "《中华人民共和国安全生产法》第一百零二条", "罚款"),
        ("区生态环境局", "超标排放大气污染物", "《大气污染防治法》第九十九条", "罚款"),
        ("区城市管理委员会", "渣土运输未密闭", "《天津市市容和环境卫生管理条例》第三十五条",
         "罚款"),
    ]  # fmt: skip
    targets = finance[:SHOWCASE] + rng.sample(enterprises, 780)
    out = []
    for n, firm in enumerate(targets, start=1):
        a = firm["attrs"]
        dept, violation, basis, penalty = rng.choice(kinds)
        filed = BASE_TIME - timedelta(days=rng.randrange(1, 700))
        closed = filed + timedelta(days=rng.randrange(5, 90))
        done = closed < BASE_TIME
        style = "city" if n <= SHOWCASE else _style(rng, {"canonical": 6, "city": 2, "spaced": 1})
        attrs = {
            "party_name": variant(a["name"], style),
            "party_uscc": a["uscc"],
            "party_type": "法人",
            "case_type": rng.choice(["行政处罚", "行政检查", "行政强制"]),
            "violation": violation,
            "legal_basis": basis,
            "penalty": penalty,
            "fine_cny": float(rng.choice([5000, 10000, 20000, 50000, 100000]))
            if penalty == "罚款"
            else 0.0,
            "enforcing_department": dept,
            "filed_on": filed.date().isoformat(),
            "closed_on": closed.date().isoformat() if done else None,
            "status": "已结案" if done else "办理中",
            "street": a["street"],
            "grid_cell": a["grid_cell"],
        }
        when = iso(min(closed, BASE_TIME - timedelta(hours=1)))
        out.append(_rec("EnforcementCase", f"LE-{n:07d}", "law-enforcement",
                        f"津滨{dept[1:3]}罚〔{filed.year}〕{n:05d}号", when, attrs,
                        firm["geometry"]))  # fmt: skip
    return out


def finance_reports(seed: int, finance: list[Rec]) -> list[Rec]:
    rng = _rng(seed, "finance-reports")
    out = []
    for n, firm in enumerate(finance, start=1):
        a = firm["attrs"]
        op = a["operating"]
        if not op.get("report_submitted") and n > SHOWCASE:
            continue  # firms that missed the report have no row
        style = (
            "canonical"
            if n <= SHOWCASE
            else _style(rng, {"canonical": 17, "halfwidth": 2, "spaced": 1})
        )
        submitted = BASE_TIME - timedelta(days=rng.randrange(30, 60), minutes=rng.randrange(600))
        attrs = {
            "firm_name": variant(a["name"], style),
            "uscc": a["uscc"],
            "finance_firm": firm["key"],
            "firm_type_name": a["firm_type_name"],
            "report_period": a["report_period"],
            "total_assets_10k_cny": op.get("total_assets_10k_cny"),
            "net_assets_10k_cny": op.get("net_assets_10k_cny"),
            "outstanding_balance_10k_cny": op.get("outstanding_balance_10k_cny"),
            "overdue_ratio_pct": op.get("overdue_ratio_pct"),
            "annualized_rate_pct": op.get("annualized_rate_pct"),
            "customers": op.get("customers"),
            "employees": a["employees"],
            "submitted_at": iso(submitted),
        }
        out.append(_rec("FinanceReport", f"FR-{a['report_period']}-{n:07d}", "finance-reports",
                        f"JR{a['report_period']}{n:06d}", iso(submitted), attrs))  # fmt: skip
    return out


def complaints(seed: int, finance: list[Rec], citizens: list[Rec]) -> list[Rec]:
    rng = _rng(seed, "complaints")
    weights = [1 + f["attrs"]["social"]["complaints_12m"] * 3 for f in finance]
    targets = finance[:SHOWCASE] + rng.choices(finance, weights, k=1180)
    kinds = ["暴力催收", "虚假宣传", "合同纠纷", "收费不透明", "承诺保本高收益", "服务质量"]
    out = []
    for n, firm in enumerate(targets, start=1):
        person = rng.choice(citizens)
        style = (
            "short"
            if n <= SHOWCASE
            else _style(rng, {"short": 4, "foreign": 2, "canonical": 2, "city": 2})
        )
        kind = rng.choice(kinds)
        received = _past(rng, 365)
        name = variant(firm["attrs"]["name"], style)
        attrs = {
            "respondent_name": name,
            "respondent_uscc": None,
            "complainant": person["attrs"]["name"],
            "complainant_phone": person["attrs"]["phone"],
            "category": kind,
            "content": f"{name}{kind}，要求依法查处并退还相关款项。",
            "amount_involved_cny": float(rng.randrange(2, 500) * 1000),
            "received_at": received,
            "status": rng.choice(["受理", "调查中", "已办结", "不予受理"]),
            "street": person["attrs"]["street"],
            "grid_cell": person["attrs"]["grid_cell"],
        }
        out.append(_rec("Complaint", f"CMP-{n:07d}", "complaints", f"TS{n:08d}", received,
                        attrs, person["geometry"]))  # fmt: skip
    return out


def opinion(seed: int, finance: list[Rec]) -> list[Rec]:
    rng = _rng(seed, "public-opinion")
    weights = [1 + f["attrs"]["social"]["online_mentions_30d"] for f in finance]
    targets = finance[:SHOWCASE] + rng.choices(finance, weights, k=880)
    platforms = ["微博", "微信公众号", "抖音", "今日头条", "本地论坛"]
    out = []
    for n, firm in enumerate(targets, start=1):
        short = variant(firm["attrs"]["name"], "short")
        keywords = list(firm["attrs"]["marketing"]["risk_keywords_seen"]) or []
        sentiment = "负面" if keywords or rng.random() < 0.3 else rng.choice(["中性", "正面"])
        published = _past(rng, 60)
        attrs = {
            "title": f"{short}{'被曝' if sentiment == '负面' else ''}相关讨论",
            "summary": f"网友讨论{short}的业务情况"
            + (f"，涉及“{keywords[0]}”" if keywords else ""),
            "platform": rng.choice(platforms),
            "url": f"https://yq.binhai.sim/doc/{n:08d}",
            "published_at": published,
            "sentiment": sentiment,
            "mentioned_firms": [short],
            "risk_keywords": keywords,
            "reposts": rng.randrange(0, 3000),
        }
        out.append(_rec("OpinionItem", f"OP-{n:07d}", "public-opinion", f"YQ{n:09d}",
                        published, attrs))  # fmt: skip
    return out


def statistics(
    seed: int, finance: list[Rec], enterprises: list[Rec], parks: list[Rec]
) -> list[Rec]:
    rng = _rng(seed, "economic-stats")
    showcase = {f["attrs"]["enterprise"] for f in finance[:SHOWCASE]}
    park_of = {f["attrs"]["enterprise"]: f["attrs"].get("park") for f in finance}
    out = []
    when = iso(BASE_TIME - timedelta(days=40))
    for n, ent in enumerate(enterprises, start=1):
        a = ent["attrs"]
        style = (
            "foreign"
            if ent["key"] in showcase
            else _style(rng, {"canonical": 6, "foreign": 3, "halfwidth": 1})
        )
        capital = a["registered_capital_10k_cny"]
        revenue = round(capital * rng.uniform(0.05, 1.5), 1)
        attrs = {
            "subject_type": "firm",
            "subject_name": variant(a["name"], style),
            "uscc": a["uscc"],
            "industry": a["industry"],
            "park": park_of.get(ent["key"]),
            "period": "2025",
            "revenue_10k_cny": revenue,
            "tax_paid_10k_cny": round(revenue * rng.uniform(0.01, 0.08), 1),
            "output_10k_cny": round(revenue * rng.uniform(0.6, 1.1), 1),
            "employees": rng.randrange(3, 800),
        }
        out.append(_rec("EconomicIndicator", f"ECO-F-{n:07d}", "economic-stats",
                        f"TJ2025{n:07d}", when, attrs))  # fmt: skip
    for park in parks:
        for q in range(1, 5):
            attrs = {
                "subject_type": "park",
                "subject_name": park["attrs"]["name"],
                "uscc": None,
                "industry": "、".join(park["attrs"]["leading_industries"]),
                "park": park["key"],
                "period": f"2025Q{q}",
                "revenue_10k_cny": round(rng.uniform(2e5, 5e6), 1),
                "tax_paid_10k_cny": round(rng.uniform(1e4, 3e5), 1),
                "output_10k_cny": round(rng.uniform(2e5, 4e6), 1),
                "employees": rng.randrange(2000, 90000),
            }
            out.append(_rec("EconomicIndicator", f"ECO-{park['key']}-2025Q{q}",
                            "economic-stats", f"TJYQ{park['attrs']['code']}2025{q}", when,
                            attrs))  # fmt: skip
    return out


def service_requests(seed: int, finance: list[Rec], enterprises: list[Rec]) -> list[Rec]:
    """Firms' requests to the enterprise-service platform, dated like the citizens' cases
    (:mod:`simcity.sandbox.shares`, a target per request type): each names the firm by its
    registry number and credit code (but the platform's short names) and sits at its address;
    the platform keeps its promised deadline and, once done, when it was done."""
    rng = _rng(seed, "enterprise-service")
    ent_by_key = {e["key"]: e for e in enterprises}
    showcase = [(f, ent_by_key[f["attrs"]["enterprise"]]) for f in finance[:SHOWCASE]]
    firms = showcase + [(e, e) for e in rng.sample(enterprises, 480)]
    goals = targets(_rng(seed, "enterprise-service/overdue-targets"), REQUEST_TYPES)
    quotas = {kind: Quota(t) for kind, t in goals.items()}
    out = []
    for n, (firm, ent) in enumerate(firms, start=1):
        a, e = firm["attrs"], ent["attrs"]
        style = "city" if n <= SHOWCASE else _style(rng, {"canonical": 5, "city": 3, "short": 1})
        kind = rng.choice(sorted(REQUEST_TYPES))
        department, hours = REQUEST_TYPES[kind]
        when = timing(rng, hours, quotas[kind], REQUEST_OPEN_SHARE, REQUEST_DAYS)
        status = _style(rng, _REQUEST_DONE if when.done else _REQUEST_OPEN)
        name = variant(a["name"], style)
        attrs = {
            "firm": ent["key"],
            "firm_name": name,
            "uscc": a["uscc"] if style != "short" else None,
            "industry": e.get("industry"),
            "request_type": kind,
            "title": f"{name}{kind}",
            "content": f"企业反映{kind}相关问题，请协调解决。",
            "reporter": e.get("legal_representative"),
            "reporter_phone": e.get("legal_representative_phone"),
            "address": e.get("address"),
            "street": e.get("street"),
            "grid_cell": e.get("grid_cell"),
            "reported_at": iso(when.reported),
            "due_at": iso(when.reported + timedelta(hours=hours)),
            "status": status,
            "handling_department": department,
            "service_officer": f"服务专员{rng.randrange(1, 60):02d}",
            "rating": rng.randint(3, 5) if status == "已评价" else None,
        }
        if when.done:
            attrs["resolved_at"] = iso(when.done)
        out.append(_rec("ServiceCase", f"ESR-{n:07d}", "enterprise-service", f"SWSF{n:08d}",
                        iso(when.updated), attrs, ent["geometry"]))  # fmt: skip
    return out


def build_extra(seed: int, city: dict[str, list[Rec]]) -> dict[str, list[Rec]]:
    """system id → records (hub form, with ``updated_at``) for the generator-less systems."""
    citizens = city["Citizen"]
    finance = city["FinanceFirm"]
    ent_by_key = {e["key"]: e for e in city["Enterprise"]}
    finance_as_firms = [
        {
            **f,
            "attrs": {
                **f["attrs"],
                "industry": ent_by_key[f["attrs"]["enterprise"]]["attrs"]["industry"],
            },
        }
        for f in finance
    ]
    out = service_cases(seed, citizens)
    out["law-enforcement"] = enforcement_cases(seed, finance_as_firms, city["Enterprise"])
    out["finance-reports"] = finance_reports(seed, finance)
    out["complaints"] = complaints(seed, finance, citizens)
    out["public-opinion"] = opinion(seed, finance)
    ordered = [ent_by_key[f["attrs"]["enterprise"]] for f in finance[:SHOWCASE]]
    rest = [e for e in city["Enterprise"] if e not in ordered]
    out["economic-stats"] = statistics(seed, finance, ordered + rest, city["IndustrialPark"])
    out["enterprise-service"] = service_requests(seed, finance, city["Enterprise"])
    return out
