"""New citizen reports, firms' requests and online applications as the day goes by, and two
incidents: a burst of reports about one problem, and a firm whose smoke-index inputs jump.

Each source system gets new rows appended to its own stream (``city.systems[...].streams``),
rendered through its connector mapping as :func:`simcity.sandbox.dataset.native` renders the
demo city, with the update time at the city clock's now: REST pulls with ``updated_since`` see
them, and the webhook systems (hotline, snap-and-send, online applications) push them to their
standing subscriptions.

Arrivals are a Poisson process whose rate follows a daily curve (:data:`CITIZEN_DAY`: few at
night, peaks mid-morning and mid-afternoon; :data:`OFFICE_DAY` for inspectors and firms); the
daily totals default to the demo city's own volumes (the channel counts of
:mod:`simcity.sandbox.extra` over their 90 days, the applications' over 120) and are set with
``--rate reports_per_day_<channel>=N``, ``requests_per_day_enterprise``,
``applications_per_day``. Every draw comes from ``city.rng`` (the seed, the system and the
tick), so the same clock gives the same city.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from connectors.mapping import KindMapping
from simcity.binhai.context import CST, iso
from simcity.binhai.duties import CATEGORIES
from simcity.sandbox.dataset import Row, native
from simcity.sandbox.extra import _CHANNELS
from simcity.sandbox.streams import LiveCity, Stream, Where, incident

# Relative arrivals per hour of the day (Binhai time), 0-23.
CITIZEN_DAY = (
    0.2, 0.1, 0.1, 0.1, 0.1, 0.2, 0.5, 1.0, 2.0, 3.0, 3.5, 3.0,
    1.8, 2.0, 2.8, 3.2, 3.0, 2.2, 1.5, 1.2, 1.0, 0.8, 0.5, 0.3,
)  # fmt: skip
OFFICE_DAY = (
    0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.2, 0.8, 2.5, 3.5, 3.5, 3.0,
    1.2, 2.0, 3.2, 3.5, 3.0, 2.0, 0.6, 0.3, 0.2, 0.1, 0.05, 0.02,
)  # fmt: skip
HISTORY_DAYS = 90  # the demo's case volumes are over 90 days (simcity.sandbox.extra)
APPLICATION_DAYS = 120  # and its applications over 120 (simcity.binhai.services)
GRID_PER_DAY = 12.0  # the inspectors' own reports: the demo keeps none in a source system
REQUESTS_PER_DAY = 500 / 180  # the enterprise platform's 500 requests over half a year
NEW_CASE = "已立案"
NEW_REQUEST = "已受理"
BURST_RADIUS_M = 40.0  # a burst's reporters stand within this of the spot
_READING = threading.Lock()

_HOTLINE, _SNAP, _MAILBOX, _ZERO = (
    "service-hotline", "snap-and-send", "district-mailbox", "zero-distance",
)  # fmt: skip
_GRID = "grid-management"
GRID_CHANNEL = ("网格员上报", "GR")


@dataclass(frozen=True)
class Source:
    """One system that takes new rows: what it files and how often."""

    system: str
    kind: str
    rate_name: str
    per_day: float
    curve: tuple[float, ...]
    make: Callable[[LiveCity, np.random.Generator, datetime, int], dict[str, Any]]


# -- the people and places new rows name ---------------------------------------------------


def _records(city: LiveCity, system: str, kind: str) -> list[Row]:
    """A system's rows of ``kind`` as hub-form attributes (cached per live city)."""
    cache: dict[tuple[str, str], list[Row]] = city.state.setdefault("reports/records", {})
    with _READING:  # the streams warm up in threads: each system's rows are read once
        return cache.get((system, kind)) or _read(city, system, kind, cache)


def _read(
    city: LiveCity, system: str, kind: str, cache: dict[tuple[str, str], list[Row]]
) -> list[Row]:
    data = city.systems[system]
    mapping = next(m for m in data.spec.mappings if m.kind == kind)
    now = city.clock.now()
    found = []
    for row in data.streams[mapping.stream]:
        try:
            record = mapping.to_record(row, system, now)
        except Exception:  # the source's own flawed rows: never a template
            continue
        if record.geometry is not None or mapping.point is None:
            found.append({"key": record.key, "attrs": record.attrs, "geometry": record.geometry})
    cache[(system, kind)] = found
    return found


def _pick(rows: list[Row], gen: np.random.Generator) -> Row:
    return rows[int(gen.integers(len(rows)))]


def _near(lon: float, lat: float, metres: float, gen: np.random.Generator) -> list[float]:
    """A point within ``metres`` of (lon, lat): where a neighbour stands."""
    r = metres * float(np.sqrt(gen.random()))
    a = float(gen.random()) * 2 * np.pi
    dlat = r * np.sin(a) / 111_320.0
    dlon = r * np.cos(a) / (111_320.0 * np.cos(np.radians(lat)))
    return [round(lon + dlon, 6), round(lat + dlat, 6)]


def _subcategory(gen: np.random.Generator) -> tuple[Any, int, str]:
    cat = CATEGORIES[int(gen.integers(len(CATEGORIES)))]
    n = int(gen.integers(len(cat.subcategories)))
    return cat, n + 1, cat.subcategories[n][0]


def _case(
    channel: str,
    code: str,
    person: dict[str, Any],
    point: list[float],
    problem: tuple[Any, int, str],
    now: datetime,
    n: int,
    reported: datetime | None = None,
) -> dict[str, Any]:
    """A new case in the hub's record form, as the four channel systems describe one."""
    cat, sub_no, sub_name = problem
    when = reported or now
    a = person
    attrs: dict[str, Any] = {
        "channel": channel,
        "category": cat.code,
        "subcategory": f"{cat.code}-{sub_no:02d}",
        "subcategory_name": sub_name,
        "title": f"{a.get('street') or ''}{sub_name}",
        "content": f"{str(a.get('address') or '').split('号')[0]}号附近{sub_name}，请尽快处理。",
        "reporter": a.get("name"),
        "reporter_phone": a.get("phone"),
        "address": a.get("address"),
        "street": a.get("street"),
        "grid_cell": a.get("grid_cell"),
        "reported_at": iso(when),
        "status": NEW_CASE,
        "handling_department": cat.department,
        "rating": None,
    }
    if code == "SS":
        attrs["photos"] = [f"https://ssp.binhai.sim/p/{code}L{when:%y%m%d%H%M%S}{n:03d}_1.jpg"]
    stamp = f"{when:%Y%m%d%H%M%S}{n:04d}"
    return {
        "kind": "ServiceCase",
        "key": f"CASE-{code}-L{stamp}",
        "source_id": f"{code}L{stamp}",
        "updated_at": iso(now),
        "attrs": attrs,
        "geometry": {"type": "Point", "coordinates": point},
    }


def citizen_case(system: str) -> Callable[[LiveCity, np.random.Generator, datetime, int], Row]:
    channel, code, _count = _CHANNELS[system]

    def make(city: LiveCity, gen: np.random.Generator, now: datetime, n: int) -> Row:
        person = _pick(_records(city, "population", "Citizen"), gen)
        lon, lat = person["geometry"]["coordinates"][:2]
        return _case(channel, code, person["attrs"], _near(lon, lat, 300, gen),
                     _subcategory(gen), now, n)  # fmt: skip

    return make


def grid_case(city: LiveCity, gen: np.random.Generator, now: datetime, n: int) -> Row:
    """An inspector's own report, from where the inspector stands."""
    inspector = _pick(_records(city, _GRID, "Inspector"), gen)
    lon, lat = inspector["geometry"]["coordinates"][:2]
    a = inspector["attrs"]
    duties = [c for c in CATEGORIES if c.code in (a.get("duty_categories") or [])] or CATEGORIES
    cat = duties[int(gen.integers(len(duties)))]
    sub = int(gen.integers(len(cat.subcategories)))
    person = {"name": a.get("name"), "phone": a.get("phone"), "street": a.get("street"),
              "grid_cell": a.get("grid_cell"), "address": None}  # fmt: skip
    sub_name = cat.subcategories[sub][0]
    record = _case(GRID_CHANNEL[0], GRID_CHANNEL[1], person, _near(lon, lat, 200, gen),
                   (cat, sub + 1, sub_name), now, n)  # fmt: skip
    record["attrs"].update(
        content=f"巡查发现{sub_name}，已拍照上报。", inspector=a.get("employee_no")
    )
    return record


def enterprise_request(city: LiveCity, gen: np.random.Generator, now: datetime, n: int) -> Row:
    """A firm's new request: a firm of the platform asks again, about any of its topics, due
    as the platform promises for that topic (a ServiceCase of the platform's channel)."""
    rows = _records(city, "enterprise-service", "ServiceCase")
    firm = _pick(rows, gen)
    attrs = copy.deepcopy(firm["attrs"])
    topic = _pick(rows, gen)["attrs"]
    promise = datetime.fromisoformat(topic["due_at"]) - datetime.fromisoformat(topic["reported_at"])
    for done in ("resolved_at", "rating", "channel"):  # the connector names the channel
        attrs.pop(done, None)
    attrs.update(
        request_type=topic.get("request_type"),
        title=f"{attrs.get('firm_name')}{topic.get('request_type')}",
        content=topic.get("content"),
        handling_department=topic.get("handling_department"),
        reported_at=iso(now),
        due_at=iso(now + promise),
        status=NEW_REQUEST,
    )
    stamp = f"{now:%Y%m%d%H%M%S}{n:04d}"
    return {"kind": "ServiceCase", "key": f"ESR-L{stamp}", "source_id": f"SWSFL{stamp}",
            "updated_at": iso(now), "attrs": attrs, "geometry": firm["geometry"]}  # fmt: skip


def application(city: LiveCity, gen: np.random.Generator, now: datetime, n: int) -> Row:
    """A new online application: an applicant of the demo asks for an item again."""
    rows = _records(city, "online-applications", "ServiceApplication")
    attrs = copy.deepcopy(_pick(rows, gen)["attrs"])
    for done in ("finished_at", "rating", "decision"):
        attrs.pop(done, None)
    required = list(attrs.get("materials_uploaded") or []) + list(
        attrs.get("materials_missing") or []
    )
    attrs.update(submitted_at=iso(now), status=NEW_REQUEST, materials_uploaded=required,
                 materials_missing=[])  # fmt: skip
    stamp = f"{now:%Y%m%d%H%M%S}{n:04d}"
    return {"kind": "ServiceApplication", "key": f"APP-L{stamp}", "source_id": f"SQL{stamp}",
            "updated_at": iso(now), "attrs": attrs, "geometry": None}  # fmt: skip


def _per_day(system: str, days: int = HISTORY_DAYS) -> float:
    return _CHANNELS[system][2] / days


SOURCES = (
    Source(_HOTLINE, "ServiceCase", "reports_per_day_hotline", _per_day(_HOTLINE), CITIZEN_DAY,
           citizen_case(_HOTLINE)),
    Source(_SNAP, "ServiceCase", "reports_per_day_snap", _per_day(_SNAP), CITIZEN_DAY,
           citizen_case(_SNAP)),
    Source(_MAILBOX, "ServiceCase", "reports_per_day_mailbox", _per_day(_MAILBOX), CITIZEN_DAY,
           citizen_case(_MAILBOX)),
    Source(_ZERO, "ServiceCase", "reports_per_day_zero_distance", _per_day(_ZERO), CITIZEN_DAY,
           citizen_case(_ZERO)),
    Source(_GRID, "ServiceCase", "reports_per_day_grid", GRID_PER_DAY, OFFICE_DAY, grid_case),
    Source("enterprise-service", "ServiceCase", "requests_per_day_enterprise",
           REQUESTS_PER_DAY, OFFICE_DAY, enterprise_request),
    Source("online-applications", "ServiceApplication", "applications_per_day",
           3000 / APPLICATION_DAYS, CITIZEN_DAY, application),
)  # fmt: skip


# -- appending ------------------------------------------------------------------------------


def _mapping(city: LiveCity, system: str, kind: str) -> KindMapping:
    return next(m for m in city.systems[system].spec.mappings if m.kind == kind)


def append(city: LiveCity, system: str, records: list[Row]) -> list[Row]:
    """Rows for ``records`` (hub form) appended to the system's stream, in its native shape;
    the sequence numbers of webhook deliveries follow the append order."""
    rows = []
    for record in records:
        mapping = _mapping(city, system, record["kind"])
        row = native(mapping, {"source_system": system, **record})
        city.systems[system].streams[mapping.stream].append(row)
        rows.append(row)
    return rows


def _serial(city: LiveCity) -> int:
    counter: itertools.count[int] = city.state.setdefault("reports/serial", itertools.count(1))
    return next(counter)


def rate_now(per_day: float, curve: tuple[float, ...], at: datetime) -> float:
    """Arrivals per city second at ``at`` (Binhai time), for ``per_day`` over a day."""
    return per_day * curve[at.astimezone(CST).hour] / sum(curve) / 3600.0


class Arrivals:
    """A source's new rows as a Poisson process on the daily curve."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.name = f"reports/{source.system}"

    async def run(self, city: LiveCity) -> None:
        per_day = city.rate(self.source.rate_name, self.source.per_day)
        if per_day <= 0 or self.source.system not in city.systems:
            return
        tick = max(60.0, city.clock.speed)  # city seconds: about a wall second when fast
        # the people and templates it draws from, read once off the city's loop
        await asyncio.to_thread(
            self.source.make, city, np.random.default_rng(0), city.clock.now(), 0
        )
        for n in itertools.count(1):
            await city.clock.sleep(tick)
            now = city.clock.now()
            gen = np.random.default_rng(city.rng("reports", self.source.system, n).getrandbits(64))
            count = int(gen.poisson(rate_now(per_day, self.source.curve, now) * tick))
            records = [self.source.make(city, gen, now, _serial(city)) for _ in range(count)]
            if records:
                append(city, self.source.system, records)


def streams(city: LiveCity) -> list[Stream]:
    return [Arrivals(s) for s in SOURCES]


# -- incidents ----------------------------------------------------------------------------------


BURST_CHANNELS = (_HOTLINE, _SNAP, _ZERO, _MAILBOX)


@incident(
    "report_burst",
    "5-10 citizens report one problem through 2-3 channels within minutes at one spot",
    alarms=("cases.burst",),
)
async def report_burst(city: LiveCity, where: Where) -> dict[str, Any]:
    rng = city.rng("report_burst", where.site, where.lon, where.lat, int(city.clock.seconds()))
    gen = np.random.default_rng(rng.getrandbits(64))
    people = _records(city, "population", "Citizen")
    if where.lon is not None and where.lat is not None:
        spot = [where.lon, where.lat]
    else:
        local = [p for p in people if where.site in (None, p["attrs"].get("street"),
                                                       p["attrs"].get("grid_cell"))]  # fmt: skip
        if not local:
            raise ValueError(f"no street or grid cell {where.site!r}")
        spot = list(_pick(local, gen)["geometry"]["coordinates"][:2])
    problem = _subcategory(gen)
    channels = list(gen.choice(BURST_CHANNELS, size=int(gen.integers(2, 4)), replace=False))
    now = city.clock.now()
    count = int(gen.integers(5, 11))
    spent = sorted(float(s) for s in gen.uniform(0, 600, size=count))  # within ten minutes
    keys: dict[str, list[str]] = {}
    for i, offset in enumerate(spent):
        system = str(channels[i % len(channels)])
        channel, code, _ = _CHANNELS[system]
        person = _pick(people, gen)["attrs"]
        reported = now - timedelta(seconds=600 - offset)
        record = _case(channel, code, person, _near(spot[0], spot[1], BURST_RADIUS_M, gen),
                       problem, now, _serial(city), reported)  # fmt: skip
        append(city, system, [record])
        keys.setdefault(system, []).append(record["key"])
    cat, sub_no, sub_name = problem
    return {
        "subject": f"{spot[0]:.6f},{spot[1]:.6f}",
        "lon": spot[0],
        "lat": spot[1],
        "subcategory": f"{cat.code}-{sub_no:02d}",
        "subcategory_name": sub_name,
        "reports": sum(len(v) for v in keys.values()),
        "cases": keys,
    }


SMOKE_COMPLAINTS = 8
SMOKE_POSTS = 12
SMOKE_WORDS = ("保本保息", "稳赚不赔", "高额回报")


@incident(
    "smoke_jump",
    "a firm's smoke-index inputs jump: complaints and risk-keyword posts about it pile up",
    alarms=("smoke.jump",),
)
async def smoke_jump(city: LiveCity, where: Where) -> dict[str, Any]:
    firms = _records(city, "finance-registry", "FinanceFirm")
    named = [f for f in firms if f["attrs"].get("name")]
    if where.site:
        named = [f for f in named if where.site in (f["attrs"].get("name"), f["attrs"].get("uscc"),
                                                    f.get("key"))]  # fmt: skip
        if not named:
            raise ValueError(f"no finance firm {where.site!r}")
    rng = city.rng("smoke_jump", where.site, int(city.clock.seconds()))
    gen = np.random.default_rng(rng.getrandbits(64))
    # the quietest firms first: a jump shows where the firm stood still
    quiet = sorted(named, key=lambda f: ((f["attrs"].get("social") or {}).get("complaints_12m", 0),
                                         str(f["attrs"].get("name"))))  # fmt: skip
    firm = quiet[int(gen.integers(min(len(quiet), 50)))] if not where.site else named[0]
    name = str(firm["attrs"]["name"])
    people = _records(city, "population", "Citizen")
    now = city.clock.now()
    complaints, posts = [], []
    for i in range(SMOKE_COMPLAINTS):
        person = _pick(people, gen)
        word = SMOKE_WORDS[i % len(SMOKE_WORDS)]
        stamp = f"{now:%Y%m%d%H%M%S}{_serial(city):04d}"
        complaints.append({
            "kind": "Complaint", "key": f"CMP-L{stamp}", "source_id": f"TSL{stamp}",
            "updated_at": iso(now), "geometry": person["geometry"],
            "attrs": {
                "respondent_name": name, "respondent_uscc": firm["attrs"].get("uscc"),
                "complainant": person["attrs"].get("name"),
                "complainant_phone": person["attrs"].get("phone"),
                "category": "承诺保本高收益",
                "content": f"{name}宣传“{word}”，到期无法兑付，要求依法查处并退还相关款项。",
                "amount_involved_cny": float(gen.integers(20, 500) * 1000),
                "received_at": iso(now), "status": "受理",
                "street": person["attrs"].get("street"),
                "grid_cell": person["attrs"].get("grid_cell"),
            },
        })  # fmt: skip
    for _ in range(SMOKE_POSTS):
        stamp = f"{now:%Y%m%d%H%M%S}{_serial(city):04d}"
        posts.append({
            "kind": "OpinionItem", "key": f"OP-L{stamp}", "source_id": f"YQL{stamp}",
            "updated_at": iso(now), "geometry": None,
            "attrs": {
                "title": f"{name}被曝无法兑付", "platform": "微博",
                "summary": f"网友讨论{name}的兑付问题，涉及“{'”“'.join(SMOKE_WORDS)}”",
                "url": f"https://yq.binhai.sim/doc/L{stamp}", "published_at": iso(now),
                "sentiment": "负面", "mentioned_firms": [name],
                "risk_keywords": list(SMOKE_WORDS), "reposts": int(gen.integers(800, 3000)),
            },
        })  # fmt: skip
    append(city, "complaints", complaints)
    append(city, "public-opinion", posts)
    return {"subject": firm.get("key") or name, "name": name, "complaints": len(complaints),
            "posts": len(posts)}  # fmt: skip
