"""End to end, as an operator runs it: `cityhub sandbox up` (a real subprocess serving the 28
systems on their protocols, one of them down), then `cityhub sync` of every connector."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hub.store import RecordStore

pytestmark = pytest.mark.slow
DOWN = "hydrology"


def cityhub(data_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env["CITYHUB_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [sys.executable, "-m", "hub", *args],
        capture_output=True, text=True, env=env, timeout=timeout, check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def city(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("sandbox-city")
    (data_dir / "demo").mkdir()
    (data_dir / "demo" / "binhai-2019-x1").symlink_to(demo_dir)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env["CITYHUB_DATA_DIR"] = str(data_dir)
    # frozen: the exact counts and the idempotent second sync below need a city that holds
    # still (a live one files new cases and moves its cameras' rows meanwhile)
    args = [sys.executable, "-m", "hub", "sandbox", "up", "--down", DOWN, "--frozen"]
    if os.environ.get("CITYHUB_TEST_MQTT_URL"):
        args += ["--mqtt-url", os.environ["CITYHUB_TEST_MQTT_URL"]]
    log = (data_dir / "sandbox.log").open("w")
    proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
    endpoints = data_dir / "sandbox" / "endpoints.json"
    started = time.perf_counter()
    try:
        while not endpoints.is_file():
            assert proc.poll() is None, (data_dir / "sandbox.log").read_text()
            assert time.perf_counter() - started < 120, "sandbox did not come up"
            time.sleep(0.2)
        up_s = time.perf_counter() - started
        yield {"dir": data_dir, "endpoints": json.loads(endpoints.read_text()), "up_s": up_s}
    finally:
        stop_started = time.perf_counter()
        result = cityhub(data_dir, "sandbox", "down", "--timeout", "90")
        print(f"sandbox down in {time.perf_counter() - stop_started:.1f} s")
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
        assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def first_sync(city: dict[str, Any]) -> dict[str, Any]:
    start = time.perf_counter()
    result = cityhub(city["dir"], "sync", "--json")
    elapsed = time.perf_counter() - start
    assert result.returncode == 2, result.stderr  # one system is down: reported, not fatal
    assert f"did not sync: {DOWN}" in result.stderr
    report = json.loads(result.stdout)
    print(f"\nsandbox up in {city['up_s']:.1f} s; sync of 28 systems in {elapsed:.1f} s")
    return {r["connector"]: r for r in report["runs"]}


def store(city: dict[str, Any]) -> RecordStore:
    return RecordStore.from_url(f"sqlite:///{city['dir'] / 'cityhub.db'}")


def test_sync_all_loads_the_city_and_a_down_system_leaves_the_others(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    assert len(first_sync) == 28
    assert first_sync[DOWN]["status"] == "down" and first_sync[DOWN]["error"]
    assert all(r["status"] == "ok" for s, r in first_sync.items() if s != DOWN)
    hub = store(city)
    counts = hub.counts()
    hub.close()
    assert counts["Enterprise"] == 3707  # the 12 rows with bad codes are quarantined
    assert counts["Sensor"] == 18000 and counts["Citizen"] == 20000
    assert counts["HazchemVehicle"] == 2673 and counts["Camera"] == 4000
    assert counts["SourceSystem"] == 27
    # the four citizen channels' cases, and the enterprise platform's 500 requests (cases of
    # its own channel)
    assert counts["ServiceCase"] == 3000 + 1500 + 400 + 600 + 500
    assert "River" not in counts  # hydrology was down
    assert sum(counts.values()) > 80_000
    status = cityhub(city["dir"], "sources", "status", "--json")
    rows = {r["system"]: r for r in json.loads(status.stdout)}
    assert rows[DOWN]["health"] == "down" and rows[DOWN]["last_sync"] == "down"
    assert rows["market-registry"]["health"] == "up"
    assert rows["market-registry"]["records"] == 3708


def test_invalid_rows_are_quarantined_with_reasons(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    result = cityhub(city["dir"], "quarantine", "list", "--json", "--limit", "500")
    rows = json.loads(result.stdout)
    reasons = [r["reason"] for r in rows]
    assert len(rows) == sum(r["quarantined"] for r in first_sync.values()) >= 50
    assert sum("invalid credit code" in r for r in reasons) >= 17
    assert sum("coordinates outside the district" in r for r in reasons) >= 14
    assert any(r.startswith("missing required field 'name' (企业名称)") for r in reasons)
    assert any("not a valid float: '待补充'" in r for r in reasons)
    assert all(r["run_id"] and r["raw"] for r in rows)


def test_second_sync_changes_nothing(city: dict[str, Any], first_sync: dict[str, Any]) -> None:
    hub = store(city)
    before = hub.get("Enterprise", "ENT-0000001")
    result = cityhub(city["dir"], "sync", "--json")
    runs = json.loads(result.stdout)["runs"]
    assert sum(r["inserted"] + r["updated"] for r in runs) == 0
    after = hub.get("Enterprise", "ENT-0000001")
    assert before is not None and after is not None and after.ingested_at == before.ingested_at
    with hub.engine.connect() as conn:
        quarantined = conn.execute(text("SELECT count(*) FROM rejected_records")).scalar_one()
    hub.close()
    assert quarantined == sum(r["quarantined"] for r in first_sync.values())


def test_the_same_firm_under_four_spellings(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    hub = store(city)
    with hub.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT source_system, attrs FROM records WHERE attrs LIKE '%银昊融资租赁%' "
                 "OR attrs LIKE '%银昊租赁%'")
        ).all()  # fmt: skip
    hub.close()
    spellings: dict[str, set[str]] = {}
    codes: dict[str, set[str]] = {}
    for system, attrs in rows:
        attrs = json.loads(attrs) if isinstance(attrs, str) else attrs
        for field in ("name", "firm_name", "party_name", "subject_name", "respondent_name"):
            if attrs.get(field):
                spellings.setdefault(attrs[field].strip(), set()).add(system)
        for field in ("uscc", "party_uscc"):
            if attrs.get(field):
                codes.setdefault(system, set()).add(attrs[field])
    wanted = {
        "天津银昊融资租赁有限公司",
        "银昊融资租赁（天津）有限公司",
        "天津市银昊融资租赁有限公司",
        "银昊租赁",
    }
    assert wanted <= set(spellings)
    systems = set().union(*(spellings[name] for name in wanted))
    assert len(systems) >= 4
    assert {"market-registry", "law-enforcement", "economic-stats"} <= set(codes)
    assert set().union(*codes.values()) == {"91120116MA05BBJ537"}


def test_late_updates_and_a_system_going_down(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    control = city["endpoints"]["control"]
    httpx.post(f"{control}/admin/late-updates").raise_for_status()
    result = cityhub(city["dir"], "sync", "--json", "finance-registry", "service-hotline")
    runs = {r["connector"]: r for r in json.loads(result.stdout)["runs"]}
    assert runs["finance-registry"]["updated"] == 5
    assert runs["finance-registry"]["inserted"] == 1  # the late arrival, caught by the overlap
    assert runs["service-hotline"]["inserted"] == 3
    httpx.post(f"{control}/admin/systems/cameras/down").raise_for_status()
    result = cityhub(city["dir"], "sync", "--json", "cameras", "media-center")
    runs = {r["connector"]: r for r in json.loads(result.stdout)["runs"]}
    assert result.returncode == 2
    assert runs["cameras"]["status"] == "down" and "503" in runs["cameras"]["error"]
    assert runs["media-center"]["status"] == "ok"
    httpx.post(f"{control}/admin/systems/cameras/up").raise_for_status()


def test_the_firm_resolves_to_one_entity_listing_every_source(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    """After `cityhub index`, entity360 of the firm lists the systems under all spellings."""
    from starlette.testclient import TestClient

    from hub.app import create_app
    from hub.config import load_settings
    from tests.auth_helpers import authorize

    result = cityhub(city["dir"], "index")
    assert result.returncode == 0, result.stderr
    app = create_app(load_settings(data_dir=city["dir"]))
    with TestClient(app) as client:
        authorize(client, app)
        body = client.post(
            "/graphql",
            json={
                "query": "query($id: String!) { entity360(id: $id) { type label "
                "sources { system kind method confidence attrs } } }",
                "variables": {"id": "Firm:91120116MA05BBJ537"},
            },
        ).json()
    assert "errors" not in body, body["errors"]
    entity = body["data"]["entity360"]
    assert entity["type"] == "Firm"
    systems = {s["system"] for s in entity["sources"]}
    assert len(systems) >= 4, systems
    assert {"market-registry", "finance-registry", "economic-stats", "complaints"} <= systems
    spelled = {
        s["attrs"].get(field)
        for s in entity["sources"]
        for field in ("name", "firm_name", "party_name", "subject_name", "respondent_name")
        if s["attrs"].get(field)
    }
    assert {
        "天津银昊融资租赁有限公司",
        "银昊融资租赁（天津）有限公司",
        "天津市银昊融资租赁有限公司",
        "银昊租赁",
    } <= spelled
    complaint = next(s for s in entity["sources"] if s["system"] == "complaints")
    assert complaint["method"] == "mentions" and complaint["confidence"] < 1


# -- the running hub and its sources: pushes, live pass-through, schedule, status ---------


def _hub(city: dict[str, Any], **settings: Any) -> Any:
    from hub.app import create_app
    from hub.config import load_settings

    return create_app(load_settings(data_dir=city["dir"], **settings))


def _count(city: dict[str, Any], sql: str) -> int:
    with store(city).engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_a_source_pushes_signed_deliveries_into_the_running_hub(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    from connectors.transports.webhook import sign
    from tests.live_server import served

    hotline = city["endpoints"]["systems"]["service-hotline"]
    runs_before = _count(city, "SELECT count(*) FROM sync_runs WHERE connector='service-hotline'")
    cases_before = _count(city, "SELECT count(*) FROM records WHERE kind='ServiceCase'")
    with served(_hub(city)) as base:
        # the call centre's platform delivers its whole backlog to the hub's endpoint
        answer = httpx.post(
            f"{hotline['url']}/subscriptions",
            json={"callback": f"{base}/webhooks/service-hotline", "stream": "cases", "since": 0},
        )
        assert answer.status_code == 201, answer.text
        deadline = time.monotonic() + 60
        while _count(
            city, "SELECT count(*) FROM sync_runs WHERE connector='service-hotline'"
        ) <= runs_before or _count(
            city,
            "SELECT count(*) FROM sync_runs WHERE connector='service-hotline' AND status='running'",
        ):
            assert time.monotonic() < deadline, "no delivery reached the hub"
            time.sleep(0.3)
        # everything it pushed was known already: the push changes nothing (idempotent)
        assert _count(city, "SELECT count(*) FROM records WHERE kind='ServiceCase'") == cases_before
        last = _count(
            city,
            "SELECT inserted + updated FROM sync_runs WHERE connector='service-hotline' "
            "ORDER BY id DESC LIMIT 1",
        )
        assert last == 0
        # a new case, and a malformed one, pushed by the system: stored, and quarantined
        body = json.dumps(
            {
                "delivery": "t-1",
                "sequence": 10**6,
                "events": [
                    {"eventType": "upsert", "caseKey": "RX-TEST-1", "workOrderNo": "RX-TEST-1",
                     "channel": "hotline", "content": "新港路路灯不亮", "lng": 117.70,
                     "lat": 39.02, "reportedAt": "2026-11-25T08:00:00+08:00",
                     "updatedAt": "2026-11-25T08:00:00+08:00"},
                    {"eventType": "upsert", "title": "no id"},
                ],
            }
        ).encode()  # fmt: skip
        pushed = httpx.post(
            f"{base}/webhooks/service-hotline", content=body, headers=sign(hotline["secret"], body)
        )
        assert pushed.status_code == 202, pushed.text
        forged = httpx.post(
            f"{base}/webhooks/service-hotline", content=body, headers=sign("not-the-secret", body)
        )
        assert forged.status_code == 401
        stranger = httpx.post(
            f"{base}/webhooks/population", content=body, headers=sign(hotline["secret"], body)
        )
        assert stranger.status_code == 404  # a pull-mode system cannot push
    assert _count(city, "SELECT count(*) FROM records WHERE key='RX-TEST-1'") == 1
    assert (
        _count(
            city,
            "SELECT count(*) FROM rejected_records WHERE connector='service-hotline' "
            "AND raw LIKE '%no id%'",
        )
        == 1
    )


def test_live_state_passes_through_to_the_source(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    from starlette.testclient import TestClient

    from tests.auth_helpers import authorize

    keys = [
        row[0]
        for row in store(city)
        .engine.connect()
        .execute(text("SELECT key FROM records WHERE kind='Camera' ORDER BY key LIMIT 2"))
    ]
    control = city["endpoints"]["control"]
    query = (
        "query($k: String!) { gridCells(first: 1) { totalCount } "
        'liveState(kind: "Camera", key: $k) { system source value } }'
    )
    app = _hub(city)
    with TestClient(app) as client:
        authorize(client, app, "camera-desk", role="department")
        first = client.post("/graphql", json={"query": query, "variables": {"k": keys[0]}}).json()
        assert "errors" not in first, first
        state = first["data"]["liveState"]
        assert state["system"] == "cameras" and state["source"] == "live"
        assert state["value"]["id"] == keys[0] and "status" in state["value"]
        httpx.post(f"{control}/admin/systems/cameras/down").raise_for_status()
        try:
            cached = client.post("/graphql", json={"query": query, "variables": {"k": keys[0]}})
            assert cached.json()["data"]["liveState"]["source"] == "cache"
            # never asked before, the system down: an error entry; the rest is answered
            down = client.post(
                "/graphql", json={"query": query, "variables": {"k": keys[1]}}
            ).json()
            assert down["data"]["gridCells"]["totalCount"] == 743
            assert down["data"]["liveState"] is None
            assert "no answer from its system" in down["errors"][0]["message"]
            assert down["errors"][0]["path"] == ["liveState"]
        finally:
            httpx.post(f"{control}/admin/systems/cameras/up").raise_for_status()
        unknown = client.post(
            "/graphql", json={"query": query, "variables": {"k": "no-such-camera"}}
        ).json()
        assert unknown["data"]["liveState"] is None and "errors" not in unknown


def test_operators_see_source_health_and_the_quarantine(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    from starlette.testclient import TestClient

    from tests.auth_helpers import authorize, person_token

    query = (
        "{ sourceSystems { system status records quarantined lastError } "
        "quarantinedRecords(first: 5) { totalCount records { system reason raw } } }"
    )
    app = _hub(city)
    with TestClient(app) as client:
        operator = person_token(client, app, "olga", "operator", "graph:read")
        data = client.post(
            "/graphql", json={"query": query}, headers={"Authorization": f"Bearer {operator}"}
        ).json()
        assert "errors" not in data, data
        systems = {s["system"]: s for s in data["data"]["sourceSystems"]}
        assert systems[DOWN]["status"] == "down" and systems[DOWN]["lastError"]
        assert systems["finance-registry"]["status"] == "ok"
        assert systems["finance-registry"]["records"] > 2000
        page = data["data"]["quarantinedRecords"]
        assert page["totalCount"] >= sum(s["quarantined"] for s in systems.values()) > 0
        assert all(r["reason"] for r in page["records"])
        # partners' applications are not operators
        authorize(client, app, "partner-app", role="partner")
        refused = client.post("/graphql", json={"query": query}).json()
        assert "operators and stewards" in refused["errors"][0]["message"]


def test_scheduled_syncs_run_in_one_worker_at_a_time(
    city: dict[str, Any], first_sync: dict[str, Any]
) -> None:
    from starlette.testclient import TestClient

    from hub.ingest.sources import SourceSystems

    def runs() -> int:
        return _count(city, "SELECT count(*) FROM sync_runs WHERE connector='media-center'")

    before = runs()
    app = _hub(city, sync_interval_s=1.0)
    with TestClient(app):
        deadline = time.monotonic() + 120
        while runs() <= before:
            assert time.monotonic() < deadline, "the schedule never synced"
            time.sleep(0.5)
        # another worker cannot take the lease while this one holds it
        other = SourceSystems(app.state.hub.settings, app.state.store)
        assert not other.take_lease(5.0)
    # the holder stopped: its lease runs out (at most twice the interval after its last
    # renewal, which a pass still running at shutdown may have made) and the other takes over
    deadline = time.monotonic() + 2 * 1.0 + 3
    while not other.take_lease(5.0):
        assert time.monotonic() < deadline, "the stopped holder's lease never ran out"
        time.sleep(0.2)
