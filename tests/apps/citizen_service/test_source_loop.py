"""The loop closes with the sources (step 12, item 5), end to end: the sandbox (frozen city, on
an event loop of its own) serves the hotline (signed webhooks) and the mailbox (REST); the
real hub syncs their cases from it, an operator (a real token through the login page) takes a
step over GraphQL, and the hub's write-back worker tells the source, which shows the new
status on its own REST. The next sync keeps the hub's status and history and tells the
source's own news in the history. A source switched down gets retries and an error entry on
record, and the change once it is back up."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.apps.citizen_service as citizen_service
from connectors.binhai import binhai_area, build_connector
from connectors.validate import RecordValidator
from hub.app import create_app
from hub.config import load_settings
from hub.ingest.merge import SOURCE_UPDATE
from hub.ingest.sync import SyncEngine
from hub.ingest.tables import connector_state, sync_runs
from hub.ingest.write_back import WriteBack, state_name
from hub.store import RecordStore
from hub.workflow import fact
from simcity.clock import SimClock
from simcity.sandbox.run import Sandbox
from tests.auth_helpers import bearer, person_token
from tests.city_thread import CityThread

pytestmark = pytest.mark.slow  # one sandbox for the module: ~30 s to start on a busy machine
SYSTEMS = ["service-hotline", "district-mailbox"]
WAIT_S = 20.0  # the longest a write-back may take here: the worker polls every 0.2 s


@dataclass
class City:
    sandbox: Sandbox
    loop: CityThread
    endpoints: dict[str, Any]

    def url(self, system: str) -> str:
        return str(self.endpoints["systems"][system]["url"])

    def control(self, path: str) -> None:
        answer = httpx.post(f"{self.endpoints['control']}{path}", timeout=10)
        assert answer.status_code == 200, answer.text

    def shown(self, system: str, source_id: str) -> dict[str, Any]:
        """The case's status as the source system shows it, on its own REST."""
        answer = httpx.get(f"{self.url(system)}/cases/{source_id}/status", timeout=10)
        return dict(answer.json()) if answer.status_code == 200 else {}

    def rows(self, system: str) -> list[dict[str, Any]]:
        data = self.sandbox.systems[system]
        return data.streams[data.spec.mappings[0].stream]


@pytest.fixture(scope="module")
def city(demo_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    runner = CityThread()
    sandbox = Sandbox(
        tmp_path_factory.mktemp("loop") / "sb", demo_dir, clock=SimClock(speed=60), live=False
    )
    started = time.perf_counter()
    endpoints = runner.run(sandbox.start(), timeout=180)
    print(f"sandbox up in {time.perf_counter() - started:.1f} s")
    try:
        yield City(sandbox, runner, endpoints)
    finally:
        runner.run(sandbox.stop())
        runner.close()


@dataclass
class Hub:
    app: Starlette
    http: TestClient
    store: RecordStore
    city: City
    operator: str

    def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(self.operator)
        )
        body = dict(answer.json())
        assert not body.get("errors"), body
        return dict(body["data"])

    def sync(self, system: str) -> None:
        """A sync run of the system's connector, as `cityhub sync` runs it."""

        async def run() -> None:
            connector = build_connector(system, self.city.endpoints["systems"][system])
            try:
                engine = SyncEngine(self.store, RecordValidator(binhai_area()))
                report = await engine.sync(connector)
                assert report.status == "ok", report.error
            finally:
                await connector.close()

        asyncio.run(run())

    def case(self, key: str) -> dict[str, Any]:
        data = self.gql(
            "query($id: ID!) { serviceCase(id: $id) { status statusLabel "
            "history { action fromStatus toStatus note } } }",
            id=key,
        )
        return dict(data["serviceCase"])

    def queue(self, system: str) -> dict[str, Any]:
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(connector_state).where(connector_state.c.connector == state_name(system))
            ).first()
        return dict(row._mapping) if row is not None else {}


@contextlib.contextmanager
def _running(city: City, folder: Path) -> Iterator[Hub]:
    """A hub over the store in ``folder``, its write-back worker retrying in a test's time."""
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    store.migrate()
    settings = load_settings(
        data_dir=folder, sources=city.sandbox.endpoints_file, sync_interval_s=0
    )
    app = create_app(settings, store=store, apps=[citizen_service.APP])
    worker: WriteBack = app.state.write_back
    worker.first_s, worker.max_s, worker.poll_s = 0.2, 1.0, 0.2
    with TestClient(app) as http:
        yield Hub(app, http, store, city, person_token(http, app, "olga", "operator", "graph:read"))


def _synced(hub: Hub, *systems: str) -> None:
    for system in ("grid-management", *systems):  # the duty catalog, then the cases
        started = time.perf_counter()
        hub.sync(system)
        print(f"{system} synced in {time.perf_counter() - started:.1f} s")


@pytest.fixture(scope="module")
def hub(city: City, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    with _running(city, tmp_path_factory.mktemp("loop-hub")) as h:
        _synced(h, *SYSTEMS)
        yield h


def _handling(city: City, system: str, skip: int) -> tuple[str, str]:
    """(key, source id) of a case the system has in hand (处置中), the ``skip``-th of them."""
    mapping = city.sandbox.systems[system].spec.mappings[0]
    status = mapping.native_names.get("status", "status")
    found = [r for r in city.rows(system) if r.get(status) == "处置中"][skip]
    return str(found[mapping.key]), str(found[mapping.source_id])


def _events(city: City, system: str, source_id: str) -> list[dict[str, Any]]:
    mapping = city.sandbox.systems[system].spec.mappings[0]
    return [r for r in city.rows(system) if str(r[mapping.source_id]) == source_id]


def _wait(what: str, check: Callable[[], bool], deadline_s: float = WAIT_S) -> None:
    until = time.monotonic() + deadline_s
    while not check():
        assert time.monotonic() < until, f"not within {deadline_s:g} s: {what}"
        time.sleep(0.1)


def _resolve(hub: Hub, key: str) -> dict[str, Any]:
    data = hub.gql(
        'mutation($id: ID!) { resolveCase(caseId: $id, result: "已修复") { status } }', id=key
    )
    return dict(data["resolveCase"])


def _their_news(city: City, system: str, source_id: str) -> str:
    """The source's own staff change the case (their status, the content, the update time):
    a webhook system as a new event on its stream, a REST system in its row."""
    data = city.sandbox.systems[system]
    mapping = data.spec.mappings[0]
    names = mapping.native_names
    row = next(r for r in reversed(city.rows(system)) if str(r[mapping.source_id]) == source_id)
    changed = dict(row)
    content = f"{row[names.get('content', 'content')]}（市民再次来电催办）"
    changed[names.get("status", "status")] = "已回访"
    changed[names.get("content", "content")] = content
    changed[mapping.updated_at or ""] = city.sandbox.clock.now().replace(microsecond=0).isoformat()
    if data.spec.protocol == "webhook":
        city.rows(system).append(changed)
    else:
        row.update(changed)
    return content


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_hub_step_survives_the_next_sync_and_the_source_shows_it(hub: Hub, system: str) -> None:
    city = hub.city
    key, source_id = _handling(city, system, 0)
    events = len(_events(city, system, source_id))
    assert _resolve(hub, key)["status"] == "RESOLVED"

    # the source is told, in its own words, and shows it on its own REST
    _wait(f"{system} shows 已办结", lambda: city.shown(system, source_id).get("status") == "已办结")

    # the next sync brings the source's echo of it: the hub's status and history stand
    hub.sync(system)
    case = hub.case(key)
    assert case["status"] == "RESOLVED" and case["statusLabel"] == "已办结"
    assert [e["action"] for e in case["history"]] == ["resolve"]
    if city.sandbox.systems[system].spec.protocol == "webhook":  # told once: one new event
        assert len(_events(city, system, source_id)) == events + 1

    # the source's own news: taken in, told in the history, the hub's status kept
    content = _their_news(city, system, source_id)
    hub.sync(system)
    case = hub.case(key)
    assert case["status"] == "RESOLVED"
    assert [e["action"] for e in case["history"]] == ["resolve", SOURCE_UPDATE]
    news = case["history"][-1]
    assert news["fromStatus"] == news["toStatus"] == "resolved"
    assert "已回访" in news["note"] and "content" in news["note"]
    record = hub.store.get("ServiceCase", key)
    assert record is not None and record.attrs["content"] == content
    assert record.attrs["source_facts"]["status"] == fact("已回访")

    # and the hub's loop goes on from there
    data = hub.gql("mutation($id: ID!) { returnVisitCase(caseId: $id) { status } }", id=key)
    assert data["returnVisitCase"]["status"] == "VISITED"
    _wait(f"{system} shows 已回访", lambda: city.shown(system, source_id).get("status") == "已回访")


@pytest.mark.parametrize("system", SYSTEMS)
def test_a_write_back_waits_out_a_source_that_is_down(hub: Hub, system: str) -> None:
    city = hub.city
    key, source_id = _handling(city, system, 1)
    before = city.shown(system, source_id)["status"]
    city.control(f"/admin/systems/{system}/down")
    try:
        assert _resolve(hub, key)["status"] == "RESOLVED"

        def retried() -> bool:
            change = (hub.queue(system).get("cursor") or {}).get("pending", {}).get(source_id)
            return change is not None and change["attempts"] >= 2

        _wait(f"the write-back to {system} retried", retried)
        queue = hub.queue(system)
        assert queue["status"] == "down" and key in queue["last_error"]
        with hub.store.engine.connect() as conn:
            errors = list(
                conn.execute(
                    select(sync_runs.c.error).where(
                        sync_runs.c.connector == system, sync_runs.c.status == "down"
                    )
                ).scalars()
            )
        assert any(f"write-back of {key}" in e for e in errors), errors
        # operators see it among the sources' status
        listed = hub.gql("{ sourceSystems { system status lastError } }")["sourceSystems"]
        entry = next(s for s in listed if s["system"] == state_name(system))
        assert entry["status"] == "down" and key in entry["lastError"]
    finally:
        city.control(f"/admin/systems/{system}/up")

    assert before != "已办结"
    _wait(f"{system} shows 已办结", lambda: city.shown(system, source_id).get("status") == "已办结")
    _wait("the queue is empty", lambda: hub.queue(system)["cursor"]["pending"] == {})
    assert hub.queue(system)["status"] == "ok"


def test_a_restart_resumes_the_write_back(city: City, tmp_path: Path) -> None:
    """The queue is in the store: a hub stopped with a change still to tell tells it when it
    runs again (its worker gave the lease up on the way out; the next one takes it at once)."""
    system = "district-mailbox"
    key, source_id = _handling(city, system, 2)
    try:
        with _running(city, tmp_path) as first:
            _synced(first, system)
            city.control(f"/admin/systems/{system}/down")
            assert _resolve(first, key)["status"] == "RESOLVED"
            _wait("a failed attempt", lambda: first.queue(system)["status"] == "down")
        assert source_id in first.queue(system)["cursor"]["pending"]  # stopped, still to tell
    finally:
        city.control(f"/admin/systems/{system}/up")
    assert city.shown(system, source_id)["status"] == "处置中"
    with _running(city, tmp_path) as second:
        _wait(f"{system} shows 已办结", lambda: city.shown(system, source_id)["status"] == "已办结")
        _wait("the queue is empty", lambda: second.queue(system)["cursor"]["pending"] == {})
