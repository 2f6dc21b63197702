"""Optimistic concurrency: every workflow object carries a version, a step names the version it
acts on, and a stale one is refused with CONFLICT — so of two workers' conflicting steps on one
case exactly one wins and no step is lost (before: 9 of 50 cross-worker pairs were both
acknowledged and one update lost).

The store (SQLite and PostgreSQL): every write bumps the version, a conditional write refuses a
stale version whole. Two hub instances on one store, each with its own engine (two workers):
2 x 100 concurrent conflicting steps on the same cases, with and without a named version."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.testclient import TestClient

import hub.apps.citizen_service as citizen_service
import hub.apps.enterprise_services as enterprise_services
import hub.apps.gov_services as gov_services
import hub.apps.live as live
from hub import feed
from hub.app import create_app
from hub.config import load_settings
from hub.store import RecordStore
from hub.store.errors import VersionConflict
from schema.record import Record
from tests.auth_helpers import bearer, person_token

NOW = datetime.now(UTC).replace(microsecond=0)
CASES = 100
GRID_CHANNEL = "网格员上报"  # a grid inspector's own report: dispatched without a visit
DEPARTMENT = "区城市管理委员会"


def _record(kind: str, key: str, attrs: dict[str, Any], **extra: Any) -> Record:
    return Record(
        kind=kind,
        key=key,
        source_system="cityhub",
        source_id=key,
        fetched_at=NOW,
        attrs=attrs,
        **extra,
    )


def _case(i: int, channel: str = GRID_CHANNEL, **attrs: Any) -> Record:
    at = NOW - timedelta(hours=1)
    return _record(
        "ServiceCase",
        f"CASE-V-{i:04d}",
        {
            "channel": channel,
            "title": f"井盖缺失 {i}",
            "content": "人行道井盖缺失",
            "category": "C01",
            "grid_cell": "BH-T-000",
            "street": "测试街道",
            "reported_at": at.isoformat(),
            "due_at": (at + timedelta(hours=72)).isoformat(),
            "handling_department": DEPARTMENT,
            "loop_status": "filed",
            "status": "已立案",
            "history": [{"at": at.isoformat(), "actor": "t", "action": "file", "to": "filed"}],
            **attrs,
        },
        geometry={"type": "Point", "coordinates": [117.705, 39.005]},
        datum="GCJ-02",
    )


def _application(i: int) -> Record:
    return _record(
        "ServiceApplication",
        f"APP-V-{i:04d}",
        {
            "item": "SI-V-1",
            "item_name": "食品经营许可",
            "department": "区行政审批局",
            "channel": "滨海掌上行",
            "submitted_at": NOW.isoformat(),
            "materials": [],
            "materials_uploaded": [],
            "materials_missing": [],
            "workflow_status": "submitted",
            "status": "已提交",
            "history": [],
        },
    )


def _city() -> list[Record]:
    item = _record(
        "ServiceItem",
        "SI-V-1",
        {"item_code": "V-1", "name": "食品经营许可", "department": "区行政审批局",
         "materials": [], "promised_time_limit_days": 10, "online_level": "全程网办"},
    )  # fmt: skip
    requests = [
        _case(500 + i, channel="双万双服企业服务平台", request_type="融资需求", firm="ENT-1")
        for i in range(3)
    ]
    return [item, *(_case(i) for i in range(CASES)), *requests,
            *(_application(i) for i in range(3))]  # fmt: skip


# -- the store --------------------------------------------------------------------------


def test_every_write_bumps_the_version(store: RecordStore) -> None:
    case = _case(1)
    store.upsert([case])
    first = store.get("ServiceCase", case.key)
    assert first is not None and first.version == 1
    store.upsert([case.model_copy(update={"attrs": {**case.attrs, "title": "again"}})])
    again = store.get("ServiceCase", case.key)
    assert again is not None and again.version == 2 and again.attrs["title"] == "again"
    assert store.page("ServiceCase")[0].version == 2
    assert store.get_many("ServiceCase", [case.key])[case.key].version == 2


def test_a_stale_version_is_refused_whole(store: RecordStore) -> None:
    a, b = _case(1), _case(2)
    store.upsert([a, b])
    read_a, read_b = store.get("ServiceCase", a.key), store.get("ServiceCase", b.key)
    assert read_a is not None and read_b is not None
    start = feed.head(store.engine)

    def titled(r: Record, title: str) -> Record:
        return r.model_copy(update={"attrs": {**r.attrs, "title": title}})

    (written,) = store.write_versioned(
        [titled(read_a, "first")], events=[{"topic": "case.step", "key": a.key, "op": "test"}]
    )
    assert written.version == 2
    stored = store.get("ServiceCase", a.key)
    assert stored is not None and stored.version == 2 and stored.attrs["title"] == "first"
    entries = feed.read_after(store.engine, start)
    assert [(e.topic, e.key) for e in entries] == [("record", a.key), ("case.step", a.key)]

    # a second writer that read version 1 too: refused, and b (same transaction) not written
    with pytest.raises(VersionConflict) as refused:
        store.write_versioned([titled(read_b, "lost?"), titled(read_a, "lost?")])
    assert (refused.value.expected, refused.value.stored) == (1, 2)
    assert refused.value.extensions["code"] == "CONFLICT"
    after_a, after_b = store.get("ServiceCase", a.key), store.get("ServiceCase", b.key)
    assert after_a is not None and after_a.attrs["title"] == "first" and after_a.version == 2
    assert after_b is not None and after_b.attrs["title"] == b.attrs["title"]
    assert after_b.version == 1
    assert len(feed.read_after(store.engine, start)) == 2  # nothing of the refused write

    # a new record (no version) only where the key is free
    with pytest.raises(VersionConflict):
        store.write_versioned([a])
    (new,) = store.write_versioned([_case(3)])
    assert new.version == 1 and store.count("ServiceCase") == 3


def test_racing_writers_on_two_engines_one_wins_each(store: RecordStore, store_url: str) -> None:
    cases = [_case(i) for i in range(50)]
    store.upsert(cases)
    other = RecordStore.from_url(store_url)
    try:
        read = [store.get("ServiceCase", c.key) for c in cases]
        start = threading.Barrier(8)

        def write(args: tuple[RecordStore, Record, str]) -> str:
            target, record, who = args
            try:
                target.write_versioned(
                    [record.model_copy(update={"attrs": {**record.attrs, "by": who}})]
                )
            except VersionConflict:
                return "conflict"
            return who

        work = []
        for r in read:
            assert r is not None
            work += [(store, r, "a"), (other, r, "b")]
        with ThreadPoolExecutor(8, initializer=start.wait) as pool:
            outcomes = list(pool.map(write, work))
        for i, r in enumerate(read):
            pair = outcomes[2 * i : 2 * i + 2]
            assert sorted(pair).count("conflict") == 1, (r and r.key, pair)
            stored = store.get("ServiceCase", cases[i].key)
            assert stored is not None and stored.version == 2
            assert stored.attrs["by"] == next(x for x in pair if x != "conflict")
    finally:
        other.close()


# -- two hub workers on one store -------------------------------------------------------


@dataclass
class Worker:
    app: Starlette
    http: TestClient

    def gql(self, token: str, query: str, **variables: Any) -> dict[str, Any]:
        answer = self.http.post(
            "/graphql", json={"query": query, "variables": variables}, headers=bearer(token)
        )
        return dict(answer.json())


@pytest.fixture
def workers(store_url: str, tmp_path: Path) -> Iterator[tuple[Worker, Worker, str]]:
    """Two hub instances over one store, each with its own engine (as two processes have),
    and an operator's token both accept."""
    settings = load_settings(data_dir=tmp_path)
    first = RecordStore.from_url(store_url)
    first.migrate()
    first.upsert(_city())
    second = RecordStore.from_url(store_url)
    apps = [live.APP, citizen_service.APP, gov_services.APP, enterprise_services.APP]
    a = create_app(settings, store=first, apps=apps)
    b = create_app(settings, store=second, apps=apps)
    try:
        with TestClient(a) as http_a, TestClient(b) as http_b:
            token = person_token(http_a, a, "ops-versions", "operator", "graph:read")
            yield Worker(a, http_a), Worker(b, http_b), token
    finally:
        first.close()
        second.close()


DISPATCH = """mutation($id: ID!, $v: Int) {
  dispatchCase(caseId: $id, expectedVersion: $v) { id status version }
}"""
START = """mutation($id: ID!, $v: Int) {
  startHandlingCase(caseId: $id, expectedVersion: $v) { id status version }
}"""
CASE = "query($id: ID!) { serviceCase(id: $id) { status version } }"


def _outcome(answer: dict[str, Any]) -> str:
    if not answer.get("errors"):
        return "ok"
    return str(answer["errors"][0].get("extensions", {}).get("code") or "refused")


def _race(
    a: Worker, b: Worker, token: str, query: str, version: int | None
) -> dict[str, list[str]]:
    """Each case stepped by both workers at once (2 x CASES requests, 16 at a time):
    the outcomes per case."""

    def step(job: tuple[Worker, str]) -> tuple[str, str]:
        worker, key = job
        return key, _outcome(worker.gql(token, query, id=key, v=version))

    jobs = [(w, f"CASE-V-{i:04d}") for i in range(CASES) for w in (a, b)]
    found: dict[str, list[str]] = {}
    with ThreadPoolExecutor(16) as pool:
        for key, outcome in pool.map(step, jobs):
            found.setdefault(key, []).append(outcome)
    return found


def test_two_workers_racing_steps_one_wins_the_rest_conflict(
    workers: tuple[Worker, Worker, str],
) -> None:
    a, b, token = workers
    store: RecordStore = a.app.state.store

    # the version the board shows, named by both workers' dispatches: one wins, one CONFLICT
    shown = a.gql(token, CASE, id="CASE-V-0000")["data"]["serviceCase"]
    assert shown == {"status": "FILED", "version": 1}
    found = _race(a, b, token, DISPATCH, version=1)
    tally = Counter(o for pair in found.values() for o in pair)
    print(f"\nnamed version: {dict(tally)}")
    for key, pair in found.items():
        assert sorted(pair) == ["CONFLICT", "ok"], (key, pair)
    # without a version: the conditional write still lets only one through; the other is
    # refused as a conflict (raced) or as a step the case can no longer take (came after)
    found = _race(a, b, token, START, version=None)
    tally = Counter(o for pair in found.values() for o in pair)
    print(f"no version named: {dict(tally)}")
    for key, pair in found.items():
        assert pair.count("ok") == 1, (key, pair)

    # histories consistent: every acknowledged step is there once, nothing lost
    for i in range(CASES):
        stored = store.get("ServiceCase", f"CASE-V-{i:04d}")
        assert stored is not None
        steps = [e["action"] for e in stored.attrs["history"]]
        assert steps == ["file", "dispatch", "start_handling"], (stored.key, steps)
        assert stored.version == 3 and stored.attrs["loop_status"] == "handling"
    # both workers serve the same version
    seen = {w.gql(token, CASE, id="CASE-V-0042")["data"]["serviceCase"]["version"] for w in (a, b)}
    assert seen == {3}


def test_a_stale_version_is_a_conflict_in_every_workflow(
    workers: tuple[Worker, Worker, str],
) -> None:
    a, b, token = workers

    def step(worker: Worker, mutation: str, version: int | None, args: str = "") -> dict[str, Any]:
        v = "" if version is None else f", expectedVersion: {version}"
        field = mutation.split("(")[0]
        answer = worker.gql(token, f"mutation {{ {mutation}{v}{args}) {{ version }} }}")
        return {"version": answer["data"][field]["version"]} if answer.get("data") else answer

    # a service case: the version read on A, a step on B meanwhile, A's step refused
    key = "CASE-V-0007"
    assert a.gql(token, CASE, id=key)["data"]["serviceCase"]["version"] == 1
    assert step(b, f'dispatchCase(caseId: "{key}"', 1) == {"version": 2}
    refused = step(a, f'dispatchCase(caseId: "{key}"', 1)
    error = refused["errors"][0]
    assert error["extensions"] == {"code": "CONFLICT", "version": 2}
    assert "version 2" in error["message"] and "reload" in error["message"]
    # acting on what it now sees goes through
    assert step(a, f'startHandlingCase(caseId: "{key}"', 2) == {"version": 3}

    # a government-service application
    app_key = "APP-V-0001"
    shown = a.gql(token, f'{{ serviceApplication(key: "{app_key}") {{ version }} }}')
    assert shown["data"]["serviceApplication"] == {"version": 1}
    assert step(b, f'acceptApplication(key: "{app_key}"', 1) == {"version": 2}
    refused = step(a, f'startReviewApplication(key: "{app_key}"', 1)
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert step(a, f'startReviewApplication(key: "{app_key}"', 2) == {"version": 3}

    # an enterprise request
    req = "CASE-V-0501"
    shown = a.gql(token, f'{{ enterpriseRequest(key: "{req}") {{ version }} }}')
    assert shown["data"]["enterpriseRequest"] == {"version": 1}
    assert step(b, f'assignEnterpriseRequest(key: "{req}"', 1) == {"version": 2}
    refused = step(a, f'assignEnterpriseRequest(key: "{req}"', 1)
    assert refused["errors"][0]["extensions"]["code"] == "CONFLICT"
    assert step(a, f'startEnterpriseRequest(key: "{req}"', 2) == {"version": 3}
    # the steps are on the feed, each under its workflow's topic
    topics = {(e.topic, e.key) for e in feed.read_after(a.app.state.store.engine, 0)}
    assert {("case.step", key), ("application.step", app_key), ("request.step", req)} <= topics
