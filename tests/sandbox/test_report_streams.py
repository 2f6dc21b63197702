"""The living city's reports, requests and applications reach a running hub (step 12, item D).

One sandbox per module on a fast clock (60 city seconds a second, starting at 10:00, the
morning peak) with raised report rates, only the report streams running; one hub (uvicorn,
lifespan on) with its scheduled sync on a short interval and its standing subscriptions to the
push systems, over an endpoints file that names just the systems these streams and incidents
touch (a first sync of the whole city would take minutes).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from hub.store import RecordStore
from schema.record import Record
from simcity.binhai.context import CST
from simcity.clock import SimClock
from simcity.sandbox.run import Sandbox
from simcity.sandbox.streams import reports
from tests.city_thread import CityThread

T = TypeVar("T")
SPEED = 60.0
RATES = {
    "reports_per_day_hotline": 600.0,
    "reports_per_day_snap": 600.0,
    "reports_per_day_mailbox": 600.0,
    "reports_per_day_zero_distance": 600.0,
    "reports_per_day_grid": 600.0,
    "requests_per_day_enterprise": 600.0,
    "applications_per_day": 600.0,
    "incidents_per_day": 0.0,
}
SYSTEMS = (
    "service-hotline", "snap-and-send", "district-mailbox", "zero-distance", "grid-management",
    "enterprise-service", "online-applications", "finance-registry", "complaints",
    "public-opinion",
)  # fmt: skip
ARRIVAL_S = 180.0  # the first sync of these systems, then new rows of each
INCIDENT_S = 90.0


@pytest.fixture(scope="module")
def city(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from hub.app import create_app
    from hub.config import load_settings
    from tests.live_server import served

    runner = CityThread()
    start = datetime.now(CST).replace(hour=10, minute=0, second=0, microsecond=0)
    sb = Sandbox(tmp_path_factory.mktemp("report-city") / "sb", demo_dir,
                 clock=SimClock(start=start, speed=SPEED), live=False, rates=RATES)  # fmt: skip
    endpoints = runner.run(sb.start())
    assert sb.city is not None
    live = sb.city

    async def flow() -> list[asyncio.Task[None]]:
        return [asyncio.create_task(s.run(live)) for s in reports.streams(live)]

    streams = runner.run(flow())
    hub_dir = tmp_path_factory.mktemp("report-hub")
    sources = hub_dir / "sources.json"
    wanted = {k: v for k, v in endpoints["systems"].items() if k in SYSTEMS}
    sources.write_text(json.dumps({**endpoints, "systems": wanted}), encoding="utf-8")
    store = RecordStore.from_url(f"sqlite:///{hub_dir / 'hub.db'}")
    store.migrate()
    settings = load_settings(data_dir=hub_dir, sources=sources, sync_interval_s=2.0)
    app = create_app(settings, store=store)
    started = time.monotonic()
    try:
        with served(app):
            yield {"sandbox": sb, "runner": runner, "store": store, "started": started,
                   "control": endpoints["control"]}  # fmt: skip
    finally:
        for task in streams:
            runner.loop.call_soon_threadsafe(task.cancel)
        runner.run(sb.stop())
        runner.close()
        store.close()


def wait_for(what: str, found: Callable[[], T | None], deadline_s: float) -> tuple[T, float]:
    """Poll ``found`` every half second until it answers, within ``deadline_s``."""
    start = time.monotonic()
    while True:
        answer = found()
        if answer:
            return answer, time.monotonic() - start
        assert time.monotonic() - start < deadline_s, f"{what}: not within {deadline_s:.0f} s"
        time.sleep(0.5)


def live_rows(store: RecordStore, kind: str, prefix: str) -> list[Record]:
    """Records of ``kind`` the streams made (their keys carry the ``L`` of a live row)."""
    return [r for r in store.page(kind, after=prefix, limit=500) if r.key.startswith(prefix)]


def alarms(store: RecordStore, kind: str) -> list[Record]:
    return [r for r in store.page("Alarm", limit=5000) if r.attrs.get("kind") == kind]


@pytest.mark.slow
def test_new_reports_requests_and_applications_reach_the_hub(city: dict[str, Any]) -> None:
    store: RecordStore = city["store"]
    wanted = {
        ("ServiceCase", "CASE-HL-L"): "12345便民服务热线",
        ("ServiceCase", "CASE-SS-L"): "随手拍",
        ("ServiceCase", "CASE-MB-L"): "区长信箱",
        ("ServiceCase", "CASE-ZD-L"): "政民零距离",
        ("ServiceCase", "CASE-GR-L"): "网格员上报",
        ("ServiceCase", "ESR-L"): "双万双服企业服务平台",  # the platform's requests: cases
        ("ServiceApplication", "APP-L"): None,
    }
    for (kind, prefix), channel in wanted.items():
        left = ARRIVAL_S - (time.monotonic() - city["started"])
        rows, took = wait_for(
            f"new {kind} {prefix}", lambda k=kind, p=prefix: live_rows(store, k, p), left
        )
        if channel is not None:
            assert {r.attrs["channel"] for r in rows} == {channel}
            assert all(r.geometry and r.attrs["reported_at"] for r in rows)
        print(f"{kind} {prefix}: {len(rows)} in the hub ({took:.1f} s more)")
    # the push systems came through their standing subscriptions, each delivery a run of
    # its own whose sequence is kept as the stream's cursor
    state = city["store"].engine
    with state.connect() as conn:
        from sqlalchemy import text

        cursor = conn.execute(
            text("SELECT cursor FROM connector_state WHERE connector='service-hotline'")
        ).scalar_one()
    sequence = (json.loads(cursor) if isinstance(cursor, str) else cursor)["ServiceCase:cases"]
    assert sequence > 3000  # the backlog and some new rows


@pytest.mark.slow
def test_a_burst_of_reports_becomes_one_case_with_its_crowd_and_an_alarm(
    city: dict[str, Any],
) -> None:
    store: RecordStore = city["store"]
    wait_for("the first sync of the grid's catalog",
             lambda: store.get("DutySubCategory", "C01-01"), ARRIVAL_S)  # fmt: skip
    started = time.monotonic()
    answer = httpx.post(f"{city['control']}/admin/incidents/report_burst", json={}).json()
    keys = [k for ks in answer["cases"].values() for k in ks]
    assert 5 <= len(keys) <= 10 and 2 <= len(answer["cases"]) <= 3

    def burst() -> Record | None:
        cases = [store.get("ServiceCase", k) for k in keys]
        targets = {c.attrs.get("merged_into") for c in cases if c and c.attrs.get("merged_into")}
        fired = [a for a in alarms(store, "cases.burst") if a.attrs["subject_key"] in targets]
        return fired[0] if fired else None

    alarm, _ = wait_for("cases.burst", burst, INCIDENT_S)
    took = time.monotonic() - started
    channels = ", ".join(sorted(answer["cases"]))
    print(f"report_burst → cases.burst in {took:.1f} s ({answer['reports']} reports: {channels})")
    case = store.get("ServiceCase", alarm.attrs["subject_key"])
    assert case is not None
    reporters = case.attrs["reporters"]
    merged = [k for k in keys if k in case.attrs["duplicates"]]
    assert len(merged) >= 3 and {r["case"] for r in reporters} >= set(merged)
    assert case.attrs["subcategory"] == answer["subcategory"]
    joined = store.get("ServiceCase", merged[0])
    assert joined is not None and joined.attrs["loop_status"] == "merged"


@pytest.mark.slow
def test_a_firms_smoke_inputs_jump_and_the_hub_raises_smoke_jump(city: dict[str, Any]) -> None:
    store: RecordStore = city["store"]
    # the index scored once after the first sync of its inputs: the baseline of a jump
    wait_for("a first smoke-index run", lambda: store.page("SmokeIndexRun", limit=1),
             ARRIVAL_S)  # fmt: skip
    started = time.monotonic()
    answer = httpx.post(f"{city['control']}/admin/incidents/smoke_jump", json={}).json()
    firm = answer["subject"]

    def jumped() -> Record | None:
        found = [a for a in alarms(store, "smoke.jump") if a.attrs["subject_key"] == firm]
        return found[0] if found else None

    alarm, _ = wait_for(f"smoke.jump of {firm}", jumped, INCIDENT_S)
    took = time.monotonic() - started
    print(f"smoke_jump → smoke.jump in {took:.1f} s: {alarm.attrs['message']}")
    # the run that raised it scored the firm on the new complaints and posts
    score = store.get("SmokeIndex", firm)
    assert score is not None
    assert score.attrs["raw"]["complaint_rate"] > 0
    assert score.attrs["raw"]["risk_keyword_hits"] >= answer["posts"] * 3


def test_a_standing_subscription_delivers_a_row_appended_after_its_backlog(
    demo_dir: Path,
) -> None:
    """The sender alone: backlog, final, then the appended row, signed and sequenced."""
    from connectors.binhai import SPEC_BY_ID
    from connectors.transports.localserver import LocalServer
    from connectors.transports.webhook import receiver_app
    from simcity.sandbox.dataset import SystemData
    from simcity.sandbox.protocols import webhook_sender_app

    async def scenario() -> None:
        data = SystemData(SPEC_BY_ID["service-hotline"])
        rows = [{"caseKey": f"K{i}", "workOrderNo": f"W{i}"} for i in range(3)]
        data.streams["cases"] = rows
        taken: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

        async def take(system: str, delivery: dict[str, Any]) -> None:
            await taken.put(delivery)

        sender = LocalServer(webhook_sender_app(data, "s3cret", lambda: False, batch=2,
                                                heartbeat_s=0.5))  # fmt: skip
        receiver = LocalServer(receiver_app({"service-hotline": "s3cret"}, take))
        async with sender, receiver, httpx.AsyncClient(base_url=sender.url) as client:
            sub = (await client.post("/subscriptions", json={
                "callback": f"{receiver.url}/webhooks/service-hotline", "stream": "cases",
                "since": 1})).json()["id"]  # fmt: skip
            first = await asyncio.wait_for(taken.get(), 5)
            assert (first["sequence"], first["final"]) == (3, True)
            assert [e["caseKey"] for e in first["events"]] == ["K1", "K2"]
            heartbeat = await asyncio.wait_for(taken.get(), 5)
            assert heartbeat["events"] == [] and heartbeat["sequence"] == 3
            rows.append({"caseKey": "K3", "workOrderNo": "W3"})
            new = await asyncio.wait_for(taken.get(), 5)
            while not new["events"]:  # a heartbeat that went out first
                new = await asyncio.wait_for(taken.get(), 5)
            assert [e["caseKey"] for e in new["events"]] == ["K3"] and new["sequence"] == 4
            assert new["final"] is False
            assert sub in (await client.get("/subscriptions")).json()["standing"]
            assert (await client.delete(f"/subscriptions/{sub}")).status_code == 204
            assert (await client.get("/subscriptions")).json()["standing"] == []

    asyncio.run(scenario())
