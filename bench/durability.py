"""Durability under kill -9: a bounded stream of case filings and tank readings from 10
clients against one ``cityhub serve``, the hub killed with SIGKILL mid-stream and started
again, three times; then every acknowledged write must be in the store, and none twice.

Each client files cases (GraphQL ``fileCase`` with an ``idempotencyKey``) and posts batches
of readings (``POST /telemetry``, each reading with its ``readingId``), one request at a
time. A request that got no answer (the connection refused or cut while the hub is down, a
5xx, ``IDEMPOTENCY_IN_PROGRESS``) is sent again with the same keys until it is answered: what
a careful client does. A write is acknowledged when its answer says so.

Counted per period (the writes acknowledged before the first kill, between two kills, after
the last): acknowledged, stored, lost (acknowledged, not stored) and duplicates (stored more
than once), and the requests that were retried across a kill. ``tests/hub/test_durability.py``
runs a short stream on SQLite and PostgreSQL; ``python -m bench --only durability`` a longer
one (``--quick``: the test's size) on SQLite, and on ``CITYHUB_BENCH_STORE_URL`` (an empty
PostgreSQL database) too when set. The PostgreSQL test launcher runs with ``fsync=off``:
fine for process kills, which is what this is, not for a machine's crash.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from hub.auth.accounts import AccountStore
from hub.store import RecordStore
from hub.store.tables import DeviceReadingRow
from schema.record import Record
from tests.auth_helpers import bearer
from tests.hub.hub_process import HubProcess, client_token, hub_env, operator_token
from tests.hub.test_device_state import tank_city
from tests.security.small_hub import duty_catalog

CLIENTS = 10
BATCH = 5  # readings per POST /telemetry
RETRY_S = 0.1
GIVE_UP_S = 120.0  # a write still unanswered after this is reported, not retried for good
FILE = "mutation($input: FileCaseInput!) { fileCase(input: $input) { id } }"
# answers that mean "not done, send it again"
AGAIN = {"IDEMPOTENCY_IN_PROGRESS", "STORE_UNAVAILABLE"}


@dataclass
class Write:
    what: str  # "case" or "readings"
    key: str  # the idempotency key (a case) or the batch's reading-id prefix
    period: int = -1  # kills before it was acknowledged (-1: never acknowledged)
    tries: int = 0
    waited: float = 0.0  # first try to acknowledgment, s


@dataclass
class Period:
    acknowledged: int = 0
    stored: int = 0
    lost: int = 0
    duplicates: int = 0
    retried: int = 0  # of those acknowledged, sent more than once
    longest: float = 0.0  # the longest wait for an acknowledgment, s


@dataclass
class Result:
    periods: list[Period]
    unanswered: list[Write]
    errors: list[str]
    seconds: float
    downtime: list[float] = field(default_factory=list)  # kill to ready again, s

    def total(self, name: str) -> int:
        return sum(int(getattr(p, name)) for p in self.periods)

    def lines(self, unit: str) -> list[str]:
        out = [
            f"  {'period':<16} {'acknowledged':>12} {'stored':>7} {'lost':>5} "
            f"{'duplicates':>10} {'retried':>8} {'longest s':>9}   ({unit})"
        ]
        for n, p in enumerate(self.periods):
            name = "before kill 1" if n == 0 else f"after kill {n}"
            out.append(
                f"  {name:<16} {p.acknowledged:>12} {p.stored:>7} {p.lost:>5} "
                f"{p.duplicates:>10} {p.retried:>8} {p.longest:>9.1f}"
            )
        return out


class Stream:
    """The clients' writes and what each got, against one hub."""

    def __init__(self, hub: HubProcess, operator: str, device: str, items: int) -> None:
        self.hub, self.operator, self.device, self.items = hub, operator, device, items
        self.run = uuid.uuid4().hex[:8]
        self.period = 0  # kills so far
        self.writes: list[Write] = []
        self.errors: list[str] = []
        self.acknowledged = 0
        self.lock = threading.Lock()

    def _send(self, write: Write, request: Callable[[httpx.Client], str | None]) -> None:
        """Send until answered; ``request`` returns None when acknowledged, "again" to retry
        or the error that refused the write."""
        began = time.monotonic()
        deadline = began + GIVE_UP_S
        with httpx.Client(timeout=30) as http:
            while time.monotonic() < deadline:
                write.tries += 1
                try:
                    outcome = request(http)
                except httpx.TransportError:  # the hub is down, or went down mid-request
                    outcome = "again"
                except ValueError as exc:  # an answer that is not the JSON asked for
                    outcome = f"unreadable answer: {exc}"
                if outcome is None:
                    with self.lock:
                        write.period = self.period
                        write.waited = time.monotonic() - began
                        self.acknowledged += 1
                    return
                if outcome != "again":
                    with self.lock:
                        self.errors.append(f"{write.what} {write.key}: {outcome}")
                    return
                time.sleep(RETRY_S)

    def file_case(self, write: Write, n: int) -> None:
        # 108 m apart along a row, rows 178 m apart, neighbours of different duties and
        # every round of 240 of other duties again: no filing merges into another
        col, row, round_ = n % 40, (n // 40) % 6, n // 240
        intake = {
            "channel": "GRID",
            "description": f"井盖缺失 {write.key}",
            "lon": 117.7006 + col * 0.00125,
            "lat": 39.0006 + row * 0.0016,
            "category": f"C{(2 * round_ + col % 2) % 12 + 1:02d}",
            "idempotencyKey": write.key,
        }

        def request(http: httpx.Client) -> str | None:
            answer = http.post(
                f"{self.hub.base}/graphql",
                json={"query": FILE, "variables": {"input": intake}},
                headers=bearer(self.operator),
            )
            if answer.status_code >= 500:
                return "again"
            body: dict[str, Any] = answer.json()
            if body.get("errors"):
                code = body["errors"][0].get("extensions", {}).get("code")
                return "again" if code in AGAIN else str(body["errors"][0])
            return None

        self._send(write, request)

    def post_readings(self, write: Write, tank: str, at: float) -> None:
        readings = [
            {
                "kind": "tank.level",
                "id": tank,
                "at": at + i,
                "value": 3.0 + (i % 4),
                "readingId": f"{write.key}-{i}",
            }
            for i in range(BATCH)
        ]

        def request(http: httpx.Client) -> str | None:
            answer = http.post(
                f"{self.hub.base}/telemetry",
                json={"readings": readings},
                headers=bearer(self.device),
            )
            if answer.status_code >= 500:
                return "again"
            body: dict[str, Any] = answer.json()
            if answer.status_code != 200 or body["accepted"] != BATCH:  # retried ones too
                return f"{answer.status_code} {body}"
            return None

        self._send(write, request)

    def client(self, c: int) -> None:
        tank = tank_of(c)
        # each client's readings on a tank of its own, 10 s per batch, in the past
        start = time.time() - 86_400 + c * 7_200
        for j in range(self.items):
            if j % 2 == 0:
                write = Write("case", f"{self.run}-{c}-{j}")
                with self.lock:
                    self.writes.append(write)
                self.file_case(write, c * self.items + j)
            else:
                write = Write("readings", f"{self.run}-{c}-{j}")
                with self.lock:
                    self.writes.append(write)
                self.post_readings(write, tank, start + j * 10)


def tank_of(client: int) -> str:
    return f"DT-{client:02d}"


def city() -> list[Record]:
    """The small test city with its tanks, a tank (and its level sensor) per client, and the
    duty catalog (filings are classified by it)."""
    out = tank_city()
    tank, sensor = (r for r in out if r.key in ("TK-00", "TK-00-L"))
    for c in range(CLIENTS):
        key = tank_of(c)
        out.append(tank.model_copy(update={"key": key, "source_id": key}))
        out.append(sensor.model_copy(update={"key": f"{key}-L", "source_id": f"{key}-L"}))
    return [*out, *duty_catalog()]


def prepare(store_url: str) -> tuple[str, str]:
    """The city in a new store; a tank gateway: (client id, secret)."""
    store = RecordStore.from_url(store_url)
    try:
        store.migrate()
        store.upsert(city())
        gateway, secret = AccountStore(store.engine).create_client(
            f"gateway-{uuid.uuid4().hex[:6]}", scopes=["telemetry:write"], devices=["*"]
        )
    finally:
        store.close()
    assert secret is not None
    return gateway.client_id, secret


def count(writes: list[Write], run: str, store_url: str, kills: int) -> list[Period]:
    """What the store holds of each write (keys prefixed ``run``), per period."""
    store = RecordStore.from_url(store_url)
    try:
        cases = Counter(
            str(r.attrs.get("content", "")).removeprefix("井盖缺失 ")
            for r in store.scan("ServiceCase")
        )
        with store.engine.connect() as conn:
            rows = conn.execute(
                select(DeviceReadingRow.idempotency_key, func.count())
                .where(DeviceReadingRow.idempotency_key.like(f"{run}-%"))
                .group_by(DeviceReadingRow.idempotency_key)
            )
            readings = {str(k): int(n) for k, n in rows}
    finally:
        store.close()
    periods = [Period() for _ in range(kills + 1)]
    for w in writes:
        if w.period < 0:
            continue
        p = periods[w.period]
        # a case is one row; a batch is BATCH readings, each stored once
        held = (
            [cases.get(w.key, 0)]
            if w.what == "case"
            else [readings.get(f"{w.key}-{i}", 0) for i in range(BATCH)]
        )
        p.acknowledged += 1
        p.stored += all(h >= 1 for h in held)
        p.lost += any(h == 0 for h in held)
        p.duplicates += any(h > 1 for h in held)
        p.retried += w.tries > 1
        p.longest = max(p.longest, w.waited)
    return periods


def run(
    store_url: str, folder: Path, *, items: int, kills: int = 3, fanout: str = ""
) -> tuple[Result, Result]:
    """The stream over one hub killed ``kills`` times: (the cases, the reading batches)."""
    gateway, secret = prepare(store_url)
    hub = HubProcess(hub_env(store_url, folder, fanout), folder / "hub.log")
    hub.start()
    try:
        store = RecordStore.from_url(store_url)
        try:
            operator = operator_token(hub.base, store, f"ops-{uuid.uuid4().hex[:6]}")
        finally:
            store.close()
        stream = Stream(hub, operator, client_token(hub.base, gateway, secret), items)
        began = time.monotonic()
        clients = [threading.Thread(target=stream.client, args=(c,)) for c in range(CLIENTS)]
        for t in clients:
            t.start()
        downtime: list[float] = []
        total = CLIENTS * items
        for k in range(kills):
            # mid-stream: after a share of the writes is acknowledged, with the rest in flight
            while stream.acknowledged < total * (k + 1) // (kills + 1):
                if not any(t.is_alive() for t in clients):
                    break
                time.sleep(0.01)
            killed = time.monotonic()
            hub.kill()
            with stream.lock:
                stream.period += 1
            hub.start()
            downtime.append(time.monotonic() - killed)
        for t in clients:
            t.join(GIVE_UP_S + 60)
        seconds = time.monotonic() - began
    finally:
        hub.stop()
    out = []
    for what in ("case", "readings"):
        writes = [w for w in stream.writes if w.what == what]
        out.append(
            Result(
                count(writes, stream.run, store_url, kills),
                [w for w in writes if w.period < 0],
                [e for e in stream.errors if e.startswith(what)],
                seconds,
                downtime,
            )
        )
    return out[0], out[1]


def report(label: str, cases: Result, batches: Result) -> bool:
    """Print the counts; True when nothing acknowledged was lost or stored twice."""
    print(
        f"{label}: {CLIENTS} clients, {cases.seconds:.0f} s, the hub killed "
        f"{len(cases.downtime)} times (down {', '.join(f'{d:.1f}' for d in cases.downtime)} s)"
    )
    for line in cases.lines("case filings"):
        print(line)
    for line in batches.lines(f"batches of {BATCH} readings"):
        print(line)
    bad = 0
    for r in (cases, batches):
        bad += r.total("lost") + r.total("duplicates") + len(r.unanswered) + len(r.errors)
        for e in r.errors[:5]:
            print(f"  !! refused: {e}")
        if r.unanswered:
            print(f"  !! {len(r.unanswered)} writes never answered")
    print(
        f"  lost {cases.total('lost') + batches.total('lost')}, "
        f"duplicated {cases.total('duplicates') + batches.total('duplicates')}"
    )
    return bad == 0


def main(quick: bool = False) -> int:
    items = 30 if quick else 200
    status = 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases, batches = run(f"sqlite:///{folder / 'hub.db'}", folder, items=items)
        status |= not report("durability, SQLite", cases, batches)
        url = os.environ.get("CITYHUB_BENCH_STORE_URL", "")
        redis = os.environ.get("CITYHUB_TEST_REDIS_URL", "")
        if url:
            pg = folder / "pg"
            pg.mkdir()
            fanout = f"{redis}?prefix=bench_{uuid.uuid4().hex[:6]}" if redis else ""
            cases, batches = run(url, pg, items=items, fanout=fanout)
            status |= not report("durability, PostgreSQL (fsync=off)", cases, batches)
    return int(status)


if __name__ == "__main__":
    raise SystemExit(main())
