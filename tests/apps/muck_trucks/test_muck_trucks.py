"""Muck trucks end to end on the demo city: fixes in through ``POST /telemetry`` with a real
``telemetry:write`` token, violations out as alarms (response, store, ``muckViolations``) and
as service cases filed with the citizen-service centre; permits, corridors and figures through
GraphQL with real tokens and policies."""

from __future__ import annotations

import math
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import shapely
from shapely.geometry import Point, shape
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core_ext import GridIndex
from hub.app import create_app
from hub.apps import APP_MODULES, citizen_service, live, muck_trucks
from hub.config import load_settings
from hub.store import RecordStore
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.policy_helpers import publish_approved

# After the demo city's last fixes (2026-05-31): 2026-09-21 22:13:20 in Binhai (UTC+8),
# inside the 20:00-06:00 and 22:00-05:00 windows; + 12 h is 10:13, outside both.
T0 = 1_790_000_000.0
DAY = 12 * 3600.0
CHINA = timezone(timedelta(hours=8))
KX, KY = 111_320.0 * math.cos(math.radians(39.0)), 110_574.0


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore


def city_copy(demo_store: RecordStore, folder: Path) -> RecordStore:
    """A copy of the demo city, so the cases filed on it stay there."""
    source = sqlite3.connect(demo_store.engine.url.database)
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    return RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")


@pytest.fixture(scope="module")
def h(demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("muck")
    store = city_copy(demo_store, folder)
    app = create_app(
        load_settings(data_dir=folder),
        store=store,
        apps=[live.APP, citizen_service.APP, muck_trucks.APP],
    )
    with TestClient(app) as http:
        yield Hub(app, http, store)


def token(h: Hub, name: str, **options: Any) -> str:
    client_id, secret = register_client(h.app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(h.http, client_id, secret)


def gql(h: Hub, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    answer = h.http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    body = answer.json()
    assert answer.status_code == 200 and "errors" not in body, body
    return dict(body["data"])


def post(h: Hub, tok: str, readings: list[Any]) -> dict[str, Any]:
    answer = h.http.post("/telemetry", json={"readings": readings}, headers=bearer(tok))
    assert answer.status_code in (200, 422), answer.text
    return dict(answer.json())


def truck(h: Hub, tok: str, key: str, fields: str) -> dict[str, Any]:
    q = "query($key: String!) { muckTruck(key: $key) { " + fields + " } }"
    return dict(gql(h, tok, q, key=key)["muckTruck"])


def fix(truck: str, at: float, lon: float, lat: float, speed: float | None = 30.0) -> dict:
    out: dict[str, Any] = {"kind": "muck.fix", "id": truck, "at": at, "lon": lon, "lat": lat}
    if speed is not None:
        out["speedKmh"] = speed
    return out


@dataclass
class Route:
    truck: str
    site: tuple[float, float]  # centres
    dump: tuple[float, float]
    windows: list[str]
    corridor: Any

    def along(self, share: float) -> tuple[float, float]:
        (x0, y0), (x1, y1) = self.site, self.dump
        return x0 + share * (x1 - x0), y0 + share * (y1 - y0)

    def aside(self, share: float, metres: float) -> tuple[float, float]:
        """A point ``metres`` to the left of the route at ``share`` of the way."""
        (x0, y0), (x1, y1) = self.site, self.dump
        dx, dy = (x1 - x0) * KX, (y1 - y0) * KY
        norm = math.hypot(dx, dy)
        x, y = self.along(share)
        return x - dy / norm * metres / KX, y + dx / norm * metres / KY


PERMITS = """query($after: String) { muckTrucks(first: 1000, after: $after) {
  pageInfo { hasNextPage endCursor } edges { node { key permit { windows corridor route } } } } }"""
_PERMITS: list[dict[str, Any]] = []


def _permits(h: Hub, ops: str) -> list[dict[str, Any]]:
    if not _PERMITS:
        after = None
        while True:
            page = gql(h, ops, PERMITS, after=after)["muckTrucks"]
            _PERMITS.extend(e["node"] for e in page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
    return _PERMITS


def _routes(h: Hub, ops: str, windows: list[str], count: int, skip: int) -> list[Route]:
    """Trucks whose permit has ``windows``, a route of 3-25 km, whose mid-route and the point
    1.5 km aside lie in the grid and outside every registered site."""
    cells = [c for c in h.store.page("GridCell", after=None, limit=1000) if c.geometry]
    grid = GridIndex([{"key": c.key, "geometry": c.geometry} for c in cells])
    sites = h.store.page("ConstructionSite", after=None, limit=1000)
    dumps = h.store.page("DumpingSite", after=None, limit=1000)
    places = shapely.union_all([shape(r.geometry).buffer(0.002) for r in sites + dumps])
    found: list[Route] = []
    for t in _permits(h, ops):
        p = t["permit"]
        if p["windows"] != windows or p["corridor"] is None:
            continue
        site, dump = p["route"]["coordinates"]
        route = Route(t["key"], tuple(site), tuple(dump), p["windows"], shape(p["corridor"]))
        length = math.hypot((dump[0] - site[0]) * KX, (dump[1] - site[1]) * KY)
        points = [route.along(0.5), route.aside(0.5, 1500.0)]
        if not 3000 < length < 25_000:
            continue
        if any(grid.locate_key(*pt) is None or places.contains(Point(pt)) for pt in points):
            continue
        found.append(route)
        if len(found) == count + skip:
            return found[skip:]
    raise AssertionError(f"not enough trucks with windows {windows}")


def _local(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).astimezone(CHINA).strftime("%H:%M")


CASE = """query($id: ID!) { serviceCase(id: $id) { id category subcategoryName channel
  gridCell status title } }"""
VIOLATIONS = """query($kind: String, $truck: String) { muckViolations(kind: $kind, truck: $truck)
  { id kind truckKey plate permit windows at caseKey caseStatus gridCell message
    truck { key } } }"""


def test_a_truck_off_its_corridor_in_its_hours_is_off_route_and_a_case(h: Hub) -> None:
    ops = token(h, "ops-muck1", role="department")
    device = token(h, "muck-gw1", scopes=["telemetry:write"], devices=["*"])
    (r,) = _routes(h, ops, ["20:00-06:00"], 1, 0)
    assert _local(T0) == "22:13"
    on, off = r.along(0.5), r.aside(0.5, 1500.0)
    assert r.corridor.contains(Point(on)) and not r.corridor.contains(Point(off))
    body = post(
        h,
        device,
        [
            fix(r.truck, T0, *on),  # on its route in its hours: nothing
            fix(r.truck, T0 + 60, *off),  # 1.5 km off it: off route
            fix(r.truck, T0 + 120, *off),  # still off: the same episode
        ],
    )
    assert body["accepted"] == 3 and body["rejectedCount"] == 0, body
    alarms = [a for a in body["alarms"] if a["subject_key"] == r.truck]
    assert [(a["kind"], a["severity"]) for a in alarms] == [("muck.off_route", "warning")]
    assert alarms[0]["lon"] == pytest.approx(off[0]) and "偏离" in alarms[0]["message"]
    found = gql(h, ops, VIOLATIONS, truck=r.truck)["muckViolations"]
    assert [v["kind"] for v in found] == ["muck.off_route"]
    v = found[0]
    assert v["id"] == alarms[0]["id"] and v["truck"]["key"] == r.truck
    assert v["windows"] == ["20:00-06:00"] and v["permit"].startswith("津滨渣准字")
    assert v["caseKey"] and v["caseStatus"] == "filed"
    case = gql(h, ops, CASE, id=v["caseKey"])["serviceCase"]
    assert case["category"] == "C03" and case["channel"] == "网格员上报"
    assert case["gridCell"] == v["gridCell"] == alarms[0]["grid_cell"]
    # the truck shows as in violation on the map, and back on its route it no longer does
    q = """query($key: String!) { muckTruck(key: $key) { violation inViolation
      position { lon lat at } trajectory(last: 3) { lon } } }"""
    now = gql(h, ops, q, key=r.truck)["muckTruck"]
    assert now["violation"] == "muck.off_route" and now["inViolation"] is True
    assert [p["lon"] for p in now["trajectory"]] == [on[0], off[0], off[0]]
    post(h, device, [fix(r.truck, T0 + 180, *on)])
    assert gql(h, ops, q, key=r.truck)["muckTruck"]["inViolation"] is False
    # the alarm is kept for operators who connect later
    kept = gql(h, ops, "{ alarms(last: 50) { edges { node { id kind subjectKey } } } }")
    assert alarms[0]["id"] in [e["node"]["id"] for e in kept["alarms"]["edges"]]


def test_a_truck_on_its_route_outside_its_hours_is_out_at_the_wrong_hours(h: Hub) -> None:
    ops = token(h, "ops-muck2", role="department")
    device = token(h, "muck-gw2", scopes=["telemetry:write"], devices=["*"])
    (r,) = _routes(h, ops, ["22:00-05:00"], 1, 0)
    t = T0 + DAY + 1000
    assert _local(t).startswith("10:")
    body = post(h, device, [fix(r.truck, t, *r.along(0.4)), fix(r.truck, t + 60, *r.along(0.5))])
    assert body["accepted"] == 2, body
    alarms = [a for a in body["alarms"] if a["subject_key"] == r.truck]
    assert [a["kind"] for a in alarms] == ["muck.wrong_hours"]
    assert "非核准时段 10:" in alarms[0]["message"] and "22:00-05:00" in alarms[0]["message"]
    (v,) = gql(h, ops, VIOLATIONS, kind="muck.wrong_hours", truck=r.truck)["muckViolations"]
    assert v["caseKey"] and gql(h, ops, CASE, id=v["caseKey"])["serviceCase"]["category"] == "C03"
    # off the corridor at these hours is no breach of this permit (the truck is not on its run)
    later = post(h, device, [fix(r.truck, t + 120, *r.aside(0.5, 1500.0))])
    assert later["alarms"] == []


def test_a_truck_keeping_to_its_permit_raises_nothing(h: Hub) -> None:
    ops = token(h, "ops-muck3", role="department")
    device = token(h, "muck-gw3", scopes=["telemetry:write"], devices=["*"])
    routes = _routes(h, ops, ["20:00-06:00"], 2, 1) + _routes(h, ops, [], 1, 0)
    t = T0 + 5000  # 23:36
    batch = []
    for r in routes:
        batch += [
            fix(r.truck, t, *r.site, 0.0),  # loading in its site
            fix(r.truck, t + 60, *r.along(0.25)),
            fix(r.truck, t + 120, *r.along(0.75)),
            fix(r.truck, t + 180, *r.dump, 3.0),  # unloading in its dump
            fix(r.truck, t + 600, *r.dump, 0.0),
        ]
    body = post(h, device, batch)
    assert body["accepted"] == len(batch) and body["rejectedCount"] == 0, body
    assert [a for a in body["alarms"] if a["subject_key"] in {r.truck for r in routes}] == []
    # the all-day permit: on its route at 10:xx is fine too
    r = routes[-1]
    day = post(h, device, [fix(r.truck, T0 + DAY + 2000, *r.along(0.5))])
    assert day["alarms"] == []
    assert truck(h, ops, r.truck, "inViolation loaded") == {"inViolation": False, "loaded": False}


def test_a_loaded_truck_standing_outside_the_registered_sites_is_dumping(h: Hub) -> None:
    ops = token(h, "ops-muck4", role="department")
    device = token(h, "muck-gw4", scopes=["telemetry:write"], devices=["*"])
    (r,) = _routes(h, ops, ["20:00-06:00"], 1, 3)
    t = T0 + 8000
    spot = r.along(0.5)
    body = post(
        h,
        device,
        [
            fix(r.truck, t, *r.site, 0.0),  # loaded at its site
            fix(r.truck, t + 120, *r.along(0.3), 35.0),
            fix(r.truck, t + 240, *spot, 0.0),  # stands on its route ...
            fix(r.truck, t + 360, spot[0] + 0.0001, spot[1], 0.0),
            fix(r.truck, t + 480, *spot, 1.0),  # ... 4 minutes: not yet
        ],
    )
    assert [a for a in body["alarms"] if a["subject_key"] == r.truck] == []
    loaded = truck(h, ops, r.truck, "loaded")
    assert loaded == {"loaded": True}
    body = post(h, device, [fix(r.truck, t + 560, *spot, 0.0)])  # 5 min 20 s
    alarms = [a for a in body["alarms"] if a["subject_key"] == r.truck]
    assert [(a["kind"], a["severity"]) for a in alarms] == [("muck.unregistered_dumping", "alarm")]
    assert alarms[0]["at"].startswith(
        datetime.fromtimestamp(t + 540, UTC).isoformat()[:19]
    )  # five minutes after it stopped
    (v,) = gql(h, ops, VIOLATIONS, kind="muck.unregistered_dumping", truck=r.truck)[
        "muckViolations"
    ]
    case = gql(h, ops, CASE, id=v["caseKey"])["serviceCase"]
    assert case["category"] == "C11" and case["subcategoryName"] == "固体废物倾倒"
    # it dumped: standing on, or stopping again empty, raises nothing new
    again = post(h, device, [fix(r.truck, t + 900, *spot, 0.0), fix(r.truck, t + 1500, *spot, 0.0)])
    assert again["alarms"] == []
    assert truck(h, ops, r.truck, "loaded") == {"loaded": False}


def test_malformed_fixes_are_refused_by_index_and_the_good_ones_count(h: Hub) -> None:
    ops = token(h, "ops-muck5", role="department")
    device = token(h, "muck-gw5", scopes=["telemetry:write"], devices=["*"])
    (r,) = _routes(h, ops, ["20:00-06:00"], 1, 4)
    t = T0 + 20_000
    on = r.along(0.5)
    batch: list[Any] = [
        fix(r.truck, t, *on),  # 0 good
        fix("MUCK-9999999", t, *on),  # 1 no such truck
        {"kind": "muck.fix", "id": r.truck, "at": t, "speedKmh": 20},  # 2 no position
        fix(r.truck, t, on[0], 91.0),  # 3 out of range
        fix(r.truck, t, *on, -3.0),  # 4 negative speed
        {"kind": "muck.fix", "id": r.truck, "at": t, "lon": "east", "lat": 39.0},  # 5
        fix(r.truck, 1_000.0, *on),  # 6 older than its last fix
        {"kind": "muck.fix", "id": r.truck, "at": "yesterday", "lon": 1.0, "lat": 1.0},  # 7
    ]
    body = post(h, device, batch)
    assert body["accepted"] == 1, body
    errors = {x["index"]: x["error"] for x in body["rejected"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7]
    assert "no muck truck" in errors[1] and "lon and lat" in errors[2]
    assert "range" in errors[3] and "negative" in errors[4] and "number" in errors[5]
    assert "older" in errors[6] and "ISO 8601" in errors[7]
    pos = {"muckTruck": truck(h, ops, r.truck, "position { lon lat }")}
    assert pos["muckTruck"]["position"] == {"lon": on[0], "lat": on[1]}


def test_permits_sites_and_figures(h: Hub) -> None:
    ops = token(h, "ops-muck6", role="department")
    q = """{ muckStats { trucks byStatus { name count } constructionSites dumpingSites
      openDumpingSites violations violationsByKind { name count } }
      muckTrucks(first: 0) { totalCount } constructionSites(first: 2) { totalCount
      edges { node { key name geometry status } } }
      dumpingSites(first: 100) { totalCount edges { node { key status openHours } } } }"""
    data = gql(h, ops, q)
    stats = data["muckStats"]
    assert stats["trucks"] == data["muckTrucks"]["totalCount"] == h.store.count("MuckTruck")
    assert sum(s["count"] for s in stats["byStatus"]) == stats["trucks"]
    assert stats["constructionSites"] == data["constructionSites"]["totalCount"] > 0
    dumps = [e["node"] for e in data["dumpingSites"]["edges"]]
    assert stats["dumpingSites"] == len(dumps)
    assert stats["openDumpingSites"] == sum(1 for d in dumps if d["status"] == "开放")
    assert sum(v["count"] for v in stats["violationsByKind"]) == stats["violations"]
    assert stats["violations"] == h.store.count("MuckViolation")
    # every permit's windows are its dump's opening hours; the corridor holds both ends
    hours = {d["key"]: d["openHours"] for d in dumps}
    page = gql(
        h,
        ops,
        """{ muckTrucks(first: 50) { edges { node { key permittedDump
        permit { windows corridor route } } } } }""",
    )
    for e in page["muckTrucks"]["edges"]:
        t = e["node"]
        expected = [] if hours[t["permittedDump"]] == "全天" else [hours[t["permittedDump"]]]
        assert t["permit"]["windows"] == expected
        corridor = shape(t["permit"]["corridor"])
        a, b = t["permit"]["route"]["coordinates"]
        assert corridor.contains(Point(a)) and corridor.contains(Point(b))


def test_the_map_finds_the_trucks_and_the_schema_lists_the_app(h: Hub) -> None:
    assert "muck_trucks" in APP_MODULES
    ops = token(h, "ops-muck7", role="department")
    # the ops centre's vehicles layer asks for up to 1000 rows with their leaf fields
    q = """{ muckTrucks(first: 1000) { totalCount edges { node { key plate geometry
      inViolation violation position { lon lat } } } } }"""
    rows = gql(h, ops, q)["muckTrucks"]["edges"]
    assert len(rows) == 1000 and all(r["node"]["geometry"]["type"] == "Point" for r in rows)


def test_partners_see_drivers_masked_and_counts_only_partners_no_rows(h: Hub) -> None:
    partner = token(h, "muck-partner", role="partner")
    raw = h.store.get("MuckTruck", "MUCK-0000007")
    assert raw is not None
    q = '{ muckTruck(key: "MUCK-0000007") { plate driver driverPhone companyName } }'
    v = gql(h, partner, q)["muckTruck"]
    assert v["plate"] == raw.attrs["plate"] and v["companyName"] == raw.attrs["company_name"]
    assert v["driver"] != raw.attrs["driver"] and v["driver"][0] == raw.attrs["driver"][0]
    real = raw.attrs["driver_phone"]
    assert v["driverPhone"] == real[:3] + "****" + real[-4:]
    # a counts-only partner: the totals and figures, no rows
    client_id, secret = register_client(h.app, "muck-counts-only", role="partner")
    workflow = h.app.state.policy_workflow
    draft = workflow.draft(
        f'name = "muck-counts-only"\nsubject = "client:{client_id}"\nclearance = "internal"\n'
        '[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counts = fetch_token(h.http, client_id, secret)
    data = gql(
        h,
        counts,
        """{ muckTrucks(first: 10) { totalCount edges { node { key driver } } }
        muckStats { trucks violations } muckViolations { id } }""",
    )
    assert data["muckTrucks"]["totalCount"] == h.store.count("MuckTruck")
    assert data["muckTrucks"]["edges"] == [] and data["muckViolations"] == []
    assert data["muckStats"]["trucks"] == h.store.count("MuckTruck")
    one = h.http.post(
        "/graphql",
        json={"query": '{ muckTruck(key: "MUCK-0000007") { key } }'},
        headers=bearer(counts),
    ).json()
    assert one["data"]["muckTruck"] is None


@pytest.fixture()
def worker(demo_store: RecordStore, tmp_path: Path) -> Iterator[Any]:
    """Hub workers on one copy of the demo city (one store), made on demand."""
    store = city_copy(demo_store, tmp_path)
    clients: list[TestClient] = []

    def make() -> Hub:
        app = create_app(
            load_settings(data_dir=tmp_path),
            store=store,
            apps=[live.APP, citizen_service.APP, muck_trucks.APP],
        )
        clients.append(TestClient(app))
        return Hub(app, clients[-1].__enter__(), store)

    yield make
    for client in clients:
        client.__exit__(None, None, None)
    store.close()


EPISODE = "loaded violation inViolation position { at lon lat speedKmh }"


def test_a_trucks_episode_goes_on_in_another_worker_and_after_a_restart(worker: Any) -> None:
    """A truck loaded at its site stops on its route in front of worker A; its next fixes go
    to worker B, which raises the dumping once the stop has lasted five minutes — B never saw
    the truck loaded nor the stop begin: the episode is in the store. Both serve the truck's
    state alike, and so does a restarted worker, which judges the next fixes from there."""
    a, b = worker(), worker()
    ops = token(a, "ops-ep", role="department")
    device = token(a, "gw-ep", scopes=["telemetry:write"], devices=["*"])
    (r,) = _routes(a, ops, ["20:00-06:00"], 1, 4)
    t = T0 + 9000
    spot = r.along(0.5)
    body = post(
        a,
        device,
        [
            fix(r.truck, t, *r.site, 0.0),  # loaded at its site
            fix(r.truck, t + 120, *r.along(0.3), 35.0),
            fix(r.truck, t + 240, *spot, 0.0),  # stands on its route from here
            fix(r.truck, t + 420, *spot, 0.0),
        ],
    )
    assert [x for x in body["alarms"] if x["subject_key"] == r.truck] == []
    on_b = truck(b, ops, r.truck, EPISODE)
    assert on_b == truck(a, ops, r.truck, EPISODE)
    assert on_b["loaded"] is True and on_b["violation"] is None
    body = post(b, device, [fix(r.truck, t + 560, *spot, 0.0)])  # 5 min 20 s into the stop
    alarms = [x for x in body["alarms"] if x["subject_key"] == r.truck]
    assert [x["kind"] for x in alarms] == ["muck.unregistered_dumping"]
    assert alarms[0]["at"].startswith(datetime.fromtimestamp(t + 540, UTC).isoformat()[:19])
    # it dumped: empty on both, and A (which last saw it loaded) raises nothing for its stop
    assert truck(a, ops, r.truck, EPISODE) == truck(b, ops, r.truck, EPISODE)
    assert truck(a, ops, r.truck, "loaded") == {"loaded": False}
    assert post(a, device, [fix(r.truck, t + 900, *spot, 0.0)])["alarms"] == []
    # off its corridor in its hours on B: off route, served alike by A and after a restart
    body = post(b, device, [fix(r.truck, t + 1200, *r.aside(0.5, 1500.0), 40.0)])
    assert [x["kind"] for x in body["alarms"] if x["subject_key"] == r.truck] == ["muck.off_route"]
    on_a = truck(a, ops, r.truck, EPISODE)
    assert on_a == truck(b, ops, r.truck, EPISODE) and on_a["violation"] == "muck.off_route"
    again = worker()  # a restart: nothing of the others' memory
    assert truck(again, ops, r.truck, EPISODE) == on_a
    # still off its corridor: the same episode, no second alarm; back on it: nothing either
    body = post(again, device, [fix(r.truck, t + 1260, *r.aside(0.5, 1400.0), 40.0)])
    assert [x for x in body["alarms"] if x["subject_key"] == r.truck] == []
