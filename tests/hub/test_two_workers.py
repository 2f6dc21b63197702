"""Two hub workers on one store, for real: two `cityhub serve` processes on two ports over one
SQLite file, and over one PostgreSQL database with Redis as the fan-out. What one worker
acknowledged, the other serves: a reading within 1 s, a case step at the next request; of two
conflicting steps on a case, one sent to each worker, exactly one wins and none is lost; after
200 concurrent filings over both, each lists exactly the store's count."""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hub.auth.accounts import AccountStore
from hub.store import RecordStore
from tests.auth_helpers import bearer
from tests.conftest import _postgres_database
from tests.hub.hub_process import HubProcess, client_token, hub_env, operator_token
from tests.hub.test_device_state import HISTORY, LEVEL, TANKS, iso, tank_city
from tests.hub.test_versions import CASES, _case
from tests.security.small_hub import duty_catalog

REDIS_URL = os.environ.get("CITYHUB_TEST_REDIS_URL", "")
FILINGS = 200

CASE = """query($id: ID!) { serviceCase(id: $id) {
  status version history { action fromStatus toStatus actor } } }"""
DISPATCH = """mutation($id: ID!, $v: Int) {
  dispatchCase(caseId: $id, expectedVersion: $v) { status version } }"""
START = """mutation($id: ID!, $v: Int) {
  startHandlingCase(caseId: $id, expectedVersion: $v) { status version } }"""
FILE = """mutation($input: FileCaseInput!) { fileCase(input: $input) { id status } }"""
COUNT = "{ serviceCases(first: 0) { totalCount } }"


@dataclass
class Deployment:
    a: HubProcess
    b: HubProcess
    store: RecordStore  # the test's own view of the store
    operator: str  # an operator's token (taken on A, good on both)
    device: str  # a tank gateway's token (telemetry:write)

    def gql(self, worker: HubProcess, query: str, **variables: Any) -> dict[str, Any]:
        answer = httpx.post(
            f"{worker.base}/graphql",
            json={"query": query, "variables": variables},
            headers=bearer(self.operator),
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    def data(self, worker: HubProcess, query: str, **variables: Any) -> dict[str, Any]:
        body = self.gql(worker, query, **variables)
        assert "errors" not in body, body
        return dict(body["data"])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    folder = tmp_path_factory.mktemp(f"two-workers-{request.param}")
    with contextlib.ExitStack() as stack:
        url, fanout = f"sqlite:///{folder / 'hub.db'}", ""
        if request.param == "postgresql":
            if not REDIS_URL:
                if os.environ.get("CI"):
                    pytest.fail("CITYHUB_TEST_REDIS_URL is unset: run it with scripts/test.sh")
                pytest.skip("CITYHUB_TEST_REDIS_URL is unset (scripts/test.sh starts Redis)")
            url = stack.enter_context(contextlib.contextmanager(_postgres_database)())
            fanout = f"{REDIS_URL}?prefix=t_{uuid.uuid4().hex[:12]}"
        store = RecordStore.from_url(url)
        stack.callback(store.close)
        store.migrate()
        store.upsert([*tank_city(), *duty_catalog(), *(_case(i) for i in range(CASES + 1))])
        gateway, secret = AccountStore(store.engine).create_client(
            "tank-gateway", scopes=["telemetry:write"], devices=["*"]
        )
        assert secret is not None
        env = hub_env(url, folder, fanout)
        a, b = (HubProcess(env, folder / f"{name}.log") for name in ("a", "b"))
        for worker in (a, b):
            stack.callback(worker.stop)
            worker.start()
        yield Deployment(
            a,
            b,
            store,
            operator=operator_token(a.base, store, "ops-two-workers"),
            device=client_token(b.base, gateway.client_id, secret),
        )


def test_a_reading_posted_to_one_worker_is_served_by_the_other_within_a_second(
    deployment: Deployment,
) -> None:
    d = deployment
    tank, t0 = TANKS[0], time.time() - 120
    readings = [
        {"kind": "tank.level", "id": tank, "at": t0 + i * 30, "value": v, "readingId": f"r-{i}"}
        for i, v in enumerate((4.0, 5.5, 6.25))
    ]
    posted = httpx.post(
        f"{d.a.base}/telemetry", json={"readings": readings}, headers=bearer(d.device), timeout=30
    )
    acknowledged = time.monotonic()
    assert posted.status_code == 200 and posted.json()["accepted"] == 3, posted.text
    while True:  # poll B, never a fixed sleep; timed to the request that B served it at
        sent = time.monotonic() - acknowledged
        on_b = d.data(d.b, LEVEL, key=tank)
        if on_b["hazchemTank"]["level"]["valueM"] == 6.25:
            break
        assert sent < 1.0, on_b
    assert sent < 1.0
    print(f"\nB served the reading at a request sent {sent * 1000:.0f} ms after A acknowledged it")
    assert d.data(d.a, LEVEL, key=tank) == on_b  # alike: time, percent, alarms
    window = {"key": tank, "from": iso(t0 - 60), "to": iso(t0 + 120), "every": 60}
    history = d.data(d.a, HISTORY, **window)
    assert sum(x["count"] for x in history["hazchemTank"]["history"]) == 3
    assert d.data(d.b, HISTORY, **window) == history


def test_a_case_step_on_one_worker_is_seen_by_the_other_at_once(deployment: Deployment) -> None:
    d = deployment
    key = f"CASE-V-{CASES:04d}"  # a case of its own, outside the race's
    assert d.data(d.b, CASE, id=key)["serviceCase"]["version"] == 1
    stepped = d.data(d.a, DISPATCH, id=key, v=1)["dispatchCase"]
    assert stepped == {"status": "DISPATCHED", "version": 2}
    on_b = d.data(d.b, CASE, id=key)["serviceCase"]  # the very next request
    assert (on_b["status"], on_b["version"]) == ("DISPATCHED", 2)
    assert [e["action"] for e in on_b["history"]] == ["file", "dispatch"]
    assert d.data(d.a, CASE, id=key)["serviceCase"] == on_b


def _outcome(body: dict[str, Any]) -> str:
    if not body.get("errors"):
        return "ok"
    return str(body["errors"][0].get("extensions", {}).get("code") or body["errors"][0])


def test_conflicting_steps_over_both_workers_one_wins_each_case_none_lost(
    deployment: Deployment,
) -> None:
    """2 x 100 dispatches at once, one per case to each worker, each naming the version its
    worker showed: exactly one per case is acknowledged, the other is CONFLICT; the loser
    then acts on what it sees, and every case's history holds both steps once."""
    d = deployment
    keys = [f"CASE-V-{i:04d}" for i in range(CASES)]
    jobs = [(w, k) for k in keys for w in (d.a, d.b)]

    def read(job: tuple[HubProcess, str]) -> int:
        worker, key = job
        return int(d.data(worker, CASE, id=key)["serviceCase"]["version"])

    def dispatch(job: tuple[HubProcess, str, int]) -> tuple[HubProcess, str, str]:
        worker, key, version = job
        return worker, key, _outcome(d.gql(worker, DISPATCH, id=key, v=version))

    with ThreadPoolExecutor(16) as pool:
        shown = list(pool.map(read, jobs))
        assert set(shown) == {1}
        outcomes = list(
            pool.map(dispatch, [(w, k, v) for (w, k), v in zip(jobs, shown, strict=True)])
        )
    per_case: dict[str, list[str]] = {}
    for _, key, outcome in outcomes:
        per_case.setdefault(key, []).append(outcome)
    print(f"\n{dict(Counter(o for _, _, o in outcomes))}")
    assert all(sorted(o) == ["CONFLICT", "ok"] for o in per_case.values()), per_case
    wins = Counter("A" if w is d.a else "B" for w, _, o in outcomes if o == "ok")
    print(f"won on {dict(wins)}")

    # each loser reads its own worker again and acts on that version: it goes through
    losers = [(w, k) for w, k, o in outcomes if o == "CONFLICT"]
    with ThreadPoolExecutor(16) as pool:
        again = list(pool.map(lambda job: _outcome(d.gql(job[0], START, id=job[1], v=2)), losers))
    assert again == ["ok"] * CASES
    for key in keys:
        stored = d.store.get("ServiceCase", key)
        assert stored is not None and stored.version == 3
        assert [e["action"] for e in stored.attrs["history"]] == [
            "file",
            "dispatch",
            "start_handling",
        ], key
    sample = keys[::17]
    assert [d.data(d.a, CASE, id=k) for k in sample] == [d.data(d.b, CASE, id=k) for k in sample]


def test_concurrent_filings_over_both_workers_each_lists_the_stores_count(
    deployment: Deployment,
) -> None:
    d = deployment
    run = uuid.uuid4().hex[:8]

    def file(i: int) -> str:
        worker = (d.a, d.b)[i % 2]
        case = {
            "channel": "GRID",
            "description": f"路灯不亮 {run}-{i}",
            # points 200 m apart, neighbours of different duties: no filing merges into another
            "lon": 117.7005 + (i % 20) * 0.0024,
            "lat": 39.0005 + (i // 20) * 0.0009,
            "category": f"C{i % 12 + 1:02d}",
            "idempotencyKey": f"{run}-{i}",
        }
        return str(d.data(worker, FILE, input=case)["fileCase"]["id"])

    with ThreadPoolExecutor(16) as pool:
        filed = list(pool.map(file, range(FILINGS)))
    assert len(set(filed)) == FILINGS
    stored = d.store.count("ServiceCase")
    assert {r.key for r in d.store.scan("ServiceCase")} >= set(filed)
    deadline = time.monotonic() + 10.0  # the lists follow the feed: caught up well before
    while True:
        listed = [d.data(w, COUNT)["serviceCases"]["totalCount"] for w in (d.a, d.b)]
        if listed == [stored, stored] or time.monotonic() > deadline:
            break
    print(f"\nstore {stored} cases; A lists {listed[0]}, B lists {listed[1]}")
    assert listed == [stored, stored]
