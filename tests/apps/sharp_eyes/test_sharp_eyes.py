"""Sharp Eyes end to end on the demo city: cameras and their health through GraphQL with real
tokens and policies, coverage per grid cell held to shapely's exact union of discs, video
events in through ``POST /telemetry`` out as alarms, VideoEvent records and service cases."""

from __future__ import annotations

import math
import sqlite3
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import pytest
import shapely
from shapely.geometry import Point, shape
from starlette.applications import Starlette
from starlette.testclient import TestClient

from core_ext import GridIndex
from hub.app import create_app
from hub.apps import APP_MODULES, citizen_service, live, sharp_eyes
from hub.config import load_settings
from hub.store import RecordStore
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.policy_helpers import publish_approved

T0 = 1_790_000_000.0
RADIUS = {
    "枪机": 60,
    "球机": 100,
    "人脸识别卡口": 30,
    "车辆卡口": 40,
    "高空瞭望": 500,
    "电子警察": 50,
}


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore


@pytest.fixture(scope="module")
def h(demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    # A copy of the demo city, so the events and cases filed here stay here.
    folder = tmp_path_factory.mktemp("sharp")
    source = sqlite3.connect(demo_store.engine.url.database)
    target = sqlite3.connect(folder / "hub.db")
    source.backup(target)
    source.close()
    target.close()
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    app = create_app(
        load_settings(data_dir=folder),
        store=store,
        apps=[live.APP, citizen_service.APP, sharp_eyes.APP],
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


def cameras(h: Hub) -> list[Any]:
    return list(h.store.page("Camera", after=None, limit=10_000))


COVERAGE = """query($cells: [String!]) { cameraCoverage(cells: $cells) { cell street areaKm2
  cameras online coveredKm2 coveredShare } }"""


def test_coverage_per_cell_matches_shapelys_union_of_view_discs(h: Hub) -> None:
    ops = token(h, "ops-cam1", role="department")
    cams = cameras(h)
    cells = [c for c in h.store.page("GridCell", after=None, limit=1000) if c.geometry]
    every = gql(h, ops, COVERAGE)["cameraCoverage"]
    assert len(every) == len(cells) == 743
    # cameras are placed in cells by their positions: the cells' counts add up to the network
    grid = GridIndex([{"key": c.key, "geometry": c.geometry} for c in cells])
    expected = Counter(grid.locate_key(*c.geometry["coordinates"]) for c in cams)
    assert {r["cell"]: r["cameras"] for r in every if r["cameras"]} == {
        k: v for k, v in expected.items() if k
    }
    assert sum(r["cameras"] for r in every) == len(cams) - expected.get(None, 0)
    online = Counter(
        grid.locate_key(*c.geometry["coordinates"]) for c in cams if c.attrs["status"] == "在线"
    )
    assert {r["cell"]: r["online"] for r in every if r["online"]} == {
        k: v for k, v in online.items() if k
    }
    # the oracle: in the same local plane, shapely's union of the online cameras' discs
    lon0 = (grid.bounds[0] + grid.bounds[2]) / 2
    lat0 = (grid.bounds[1] + grid.bounds[3]) / 2
    k = np.array([111_320.0 * math.cos(math.radians(lat0)), 110_574.0])
    o = np.array([lon0, lat0])

    def local(g: Any) -> Any:
        return shapely.transform(g, lambda xy: (xy - o) * k)

    discs = [
        local(Point(c.geometry["coordinates"])).buffer(RADIUS[c.attrs["camera_type"]], 64)
        for c in cams
        if c.attrs["status"] == "在线"
    ]
    tree = shapely.STRtree(discs)
    by_cell = {r["cell"]: r for r in every}
    shape_of = {c.key: c.geometry for c in cells}
    busiest = sorted(every, key=lambda r: -r["cameras"])[:6]
    sample = busiest + every[::60] + [r for r in every if r["coveredShare"] > 0.5][:3]
    checked = 0
    for row in sample:
        cell = local(shape(shape_of[row["cell"]]))
        near = [discs[i] for i in tree.query(cell)]
        exact = shapely.union_all(near).intersection(cell).area if near else 0.0
        got = by_cell[row["cell"]]
        assert got["areaKm2"] == pytest.approx(cell.area / 1e6, rel=1e-9)
        assert abs(got["coveredKm2"] * 1e6 - exact) <= 0.02 * exact + 500, row
        assert got["coveredShare"] == pytest.approx(exact / cell.area, abs=2e-3), row
        checked += 1
    assert checked >= 15 and any(r["coveredShare"] > 0.5 for r in sample)
    assert any(r["cameras"] == 0 and r["coveredShare"] == 0 for r in every)
    # one cell, and an unknown one
    one = gql(h, ops, COVERAGE, cells=[busiest[0]["cell"]])["cameraCoverage"]
    assert one == [busiest[0]]
    answer = h.http.post(
        "/graphql", json={"query": COVERAGE, "variables": {"cells": ["BH-NOPE"]}},
        headers=bearer(ops),
    ).json()  # fmt: skip
    assert "no grid cell" in answer["errors"][0]["message"]


HEALTH = """{ cameraHealth { asOf totals { street total online offline fault silent onlineRate }
  byStreet { street total online offline fault silent } } }"""


def test_camera_health_counts_the_platforms_states_and_heartbeats(h: Hub) -> None:
    ops = token(h, "ops-cam2", role="department")
    cams = cameras(h)
    health = gql(h, ops, HEALTH)["cameraHealth"]
    totals = health["totals"]
    states = Counter(c.attrs["status"] for c in cams)
    assert totals["total"] == len(cams) == 4000
    assert (totals["online"], totals["offline"], totals["fault"]) == (
        states["在线"],
        states["离线"],
        states["故障"],
    )
    beats = [datetime.fromisoformat(c.attrs["last_heartbeat_at"]) for c in cams]
    newest = max(beats)
    assert datetime.fromisoformat(health["asOf"]) == newest
    silent = sum(
        1
        for c, b in zip(cams, beats, strict=True)
        if c.attrs["status"] == "在线" and (newest - b).total_seconds() > 300
    )
    assert totals["silent"] == silent
    streets: dict[str, Counter[str]] = defaultdict(Counter)
    for c in cams:
        streets[c.attrs["street"]][c.attrs["status"]] += 1
    assert {g["street"]: g["online"] for g in health["byStreet"]} == {
        s: n["在线"] for s, n in streets.items()
    }
    for name in ("total", "online", "offline", "fault", "silent"):
        assert sum(g[name] for g in health["byStreet"]) == totals[name]
    # one camera's health, as the map's detail shows it
    off = next(c for c in cams if c.attrs["status"] == "离线")
    q = """query($key: String!) { camera(key: $key) { status viewRadiusM locatedCell gridCell
      health { state lastHeartbeatAt silentForS silent } } }"""
    cam = gql(h, ops, q, key=off.key)["camera"]
    assert cam["health"]["state"] == "offline" and cam["health"]["silent"] is False
    assert cam["health"]["silentForS"] == pytest.approx(
        (newest - datetime.fromisoformat(off.attrs["last_heartbeat_at"])).total_seconds()
    )
    assert cam["viewRadiusM"] == RADIUS[off.attrs["camera_type"]]
    assert cam["locatedCell"] == cam["gridCell"]


EVENTS = """query($camera: String, $type: String) { videoEvents(camera: $camera,
  eventType: $type) { key eventType eventName cameraKey cameraName at confidence gridCell
  street caseKey caseStatus alarmId geometry camera { key name } } }"""
CASE = """query($id: ID!) { serviceCase(id: $id) { id category subcategoryName channel gridCell
  street status duplicates } }"""


def _camera_with(h: Hub, capability: str, skip: int = 0) -> Any:
    found = [c for c in cameras(h) if capability in c.attrs["ai_capabilities"]]
    return found[skip]


def test_a_video_event_becomes_an_alarm_and_a_case_at_its_camera(h: Hub) -> None:
    ops = token(h, "ops-cam3", role="department")
    platform = token(h, "video-platform", scopes=["telemetry:write"], devices=["*"])
    cam = _camera_with(h, "烟火识别")
    event = {
        "kind": "video.event",
        "id": cam.key,
        "at": T0,
        "event": "烟火识别",
        "confidence": 0.93,
        "eventId": "EV-1",
        "snapshotUrl": "https://video.binhai.sim/snap/EV-1.jpg",
    }
    body = post(h, platform, [event])
    assert body["accepted"] == 1 and body["rejectedCount"] == 0, body
    (alarm,) = body["alarms"]
    assert (alarm["kind"], alarm["severity"], alarm["subject_key"]) == (
        "video.smoke_fire",
        "critical",
        cam.key,
    )
    assert (alarm["lon"], alarm["lat"]) == tuple(cam.geometry["coordinates"])
    (e,) = gql(h, ops, EVENTS, camera=cam.key)["videoEvents"]
    assert e["eventType"] == "smoke_fire" and e["eventName"] == "烟火识别"
    assert e["confidence"] == 0.93 and e["alarmId"] == alarm["id"]
    assert e["camera"] == {"key": cam.key, "name": cam.attrs["name"]}
    assert e["geometry"]["coordinates"] == cam.geometry["coordinates"]
    assert e["gridCell"] == cam.attrs["grid_cell"] and e["street"] == cam.attrs["street"]
    assert e["caseKey"] and e["caseStatus"] == "filed"
    case = gql(h, ops, CASE, id=e["caseKey"])["serviceCase"]
    assert case["category"] == "C05" and case["subcategoryName"] == "火灾险情"
    assert case["gridCell"] == cam.attrs["grid_cell"] and case["channel"] == "网格员上报"
    # the same event again is refused; a second one at the same place joins the same case
    again = post(h, platform, [event])
    assert again["accepted"] == 0 and "received already" in again["rejected"][0]["error"]
    second = post(h, platform, [event | {"eventId": "EV-2", "at": T0 + 600}])
    assert second["accepted"] == 1
    both = gql(h, ops, EVENTS, camera=cam.key, type="smoke_fire")["videoEvents"]
    assert [x["caseKey"] for x in both] == [e["caseKey"], e["caseKey"]]
    assert len(gql(h, ops, CASE, id=e["caseKey"])["serviceCase"]["duplicates"]) == 1
    listed = gql(
        h, ops, "query($key: String!) { camera(key: $key) { events { key } } }", key=cam.key
    )["camera"]["events"]
    assert [x["key"] for x in listed] == [x["key"] for x in both]


def test_other_analytics_file_under_their_duties(h: Hub) -> None:
    ops = token(h, "ops-cam4", role="department")
    platform = token(h, "video-platform4", scopes=["telemetry:write"], devices=["*"])
    expected = {
        "占道经营识别": ("video.street_vending", "C04", "占道经营"),
        "垃圾暴露识别": ("video.exposed_garbage", "C01", "暴露垃圾"),
        "人群聚集识别": ("video.crowd", "C10", "人员密集场所隐患"),
    }
    for n, (name, (kind, category, sub)) in enumerate(expected.items()):
        cam = _camera_with(h, name, skip=1)
        body = post(
            h,
            platform,
            [{"kind": "video.event", "id": cam.key, "at": T0 + 3600 + n, "event": name}],
        )
        assert [a["kind"] for a in body["alarms"]] == [kind], body
        (e,) = [x for x in gql(h, ops, EVENTS, camera=cam.key)["videoEvents"]]
        case = gql(h, ops, CASE, id=e["caseKey"])["serviceCase"]
        assert (case["category"], case["subcategoryName"]) == (category, sub)


def test_malformed_events_are_refused_by_index(h: Hub) -> None:
    platform = token(h, "video-platform5", scopes=["telemetry:write"], devices=["*"])
    cam = _camera_with(h, "垃圾暴露识别", skip=2)
    lacking = next(c for c in cameras(h) if "烟火识别" not in c.attrs["ai_capabilities"])
    face = _camera_with(h, "人脸识别")
    base = {"kind": "video.event", "at": T0 + 7200}
    batch: list[Any] = [
        base | {"id": cam.key, "event": "exposed_garbage", "eventId": "G-1"},  # 0 good (code)
        base | {"id": "CAM-9999999", "event": "烟火识别"},  # 1 no such camera
        base | {"id": cam.key},  # 2 no event
        base | {"id": lacking.key, "event": "烟火识别"},  # 3 not its analytics
        base | {"id": face.key, "event": "人脸识别"},  # 4 identifications are not taken
        base | {"id": cam.key, "event": "垃圾暴露识别", "confidence": 1.5},  # 5
        base | {"id": cam.key, "event": "垃圾暴露识别", "snapshotUrl": "ftp://x"},  # 6
        base | {"id": cam.key, "event": "飞碟识别"},  # 7 unknown analytics
    ]
    body = post(h, platform, batch)
    assert body["accepted"] == 1, body
    errors = {x["index"]: x["error"] for x in body["rejected"]}
    assert sorted(errors) == [1, 2, 3, 4, 5, 6, 7]
    assert "no camera" in errors[1] and "event" in errors[2] and "has no 烟火识别" in errors[3]
    assert "identifications" in errors[4] and "confidence" in errors[5]
    assert "snapshotUrl" in errors[6] and "one of" in errors[7]
    assert [a["kind"] for a in body["alarms"]] == ["video.exposed_garbage"]


def test_the_map_finds_the_cameras(h: Hub) -> None:
    assert "sharp_eyes" in APP_MODULES
    ops = token(h, "ops-cam6", role="department")
    q = """{ cameras(first: 1000) { totalCount edges { node { key name geometry status
      viewRadiusM health { state } } } } }"""
    page = gql(h, ops, q)["cameras"]
    assert page["totalCount"] == 4000 and len(page["edges"]) == 1000
    assert all(e["node"]["geometry"]["type"] == "Point" for e in page["edges"])


def test_partners_get_no_streams_and_counts_only_partners_no_rows(h: Hub) -> None:
    partner = token(h, "cam-partner", role="partner")
    data = gql(h, partner, '{ camera(key: "CAM-0000001") { key name status } }')
    assert data["camera"]["key"] == "CAM-0000001"
    refused = h.http.post(
        "/graphql",
        json={"query": '{ camera(key: "CAM-0000001") { stream } }'},
        headers=bearer(partner),
    ).json()
    assert "not available to you" in refused["errors"][0]["message"]
    client_id, secret = register_client(h.app, "cam-counts-only", role="partner")
    workflow = h.app.state.policy_workflow
    draft = workflow.draft(
        f'name = "cam-counts-only"\nsubject = "client:{client_id}"\nclearance = "internal"\n'
        '[types."*"]\naggregate_only = true\n',
        author="user:test",
        reason="a counts-only partner",
    )
    publish_approved(workflow, draft.name, draft.version, author="user:test", reason="test")
    counts = fetch_token(h.http, client_id, secret)
    data = gql(
        h,
        counts,
        """{ cameras(first: 5) { totalCount edges { node { key } } }
        cameraHealth { totals { total online } } videoEvents { key }
        cameraCoverage(cells: ["BH-XINGANG-025"]) { cameras coveredShare } }""",
    )
    assert data["cameras"] == {"totalCount": 4000, "edges": []}
    assert data["cameraHealth"]["totals"]["total"] == 4000
    assert data["videoEvents"] == []
    assert data["cameraCoverage"][0]["cameras"] > 0
