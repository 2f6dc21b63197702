"""Issue 14: a source that trickles one byte every few seconds (under any read timeout) made
`cityhub sync` hang forever and held up every other system's scheduled sync; a run killed
mid-way stayed "running" for good. Real HTTP servers on 127.0.0.1, a real store, a real
process killed with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from connectors.connector import Connector
from connectors.descriptor import SystemDescriptor
from connectors.mapping import KindMapping
from connectors.transports.rest import RestTransport
from hub.ingest import SyncEngine
from hub.ingest.sync import ABANDONED
from hub.ingest.tables import sync_lease, sync_runs
from hub.store import RecordStore

ROWS = [{"id": f"R-{i}", "name": f"站点 {i}"} for i in range(3)]
TRICKLE_S = 0.3  # between two bytes of a trickled body (the field report: 4 s)


class _Source(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    trickle = False


class _Handler(socketserver.BaseRequestHandler):
    """HTTP/1.1 by hand: /health answers at once; /items answers at once, or — on a
    trickling source — sends its headers and then one byte of the body at a time."""

    def handle(self) -> None:
        conn: socket.socket = self.request
        try:
            while True:
                request = b""
                while b"\r\n\r\n" not in request:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    request += chunk
                path = request.split(b" ", 2)[1].decode()
                items = path.startswith("/items")
                body = json.dumps({"items": ROWS if items else [], "status": "ok"}).encode()
                head = (
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    f"Content-Length: {len(body)}\r\n\r\n"
                ).encode()
                conn.sendall(head)
                if items and self.server.trickle:  # type: ignore[attr-defined]
                    for byte in body:
                        conn.sendall(bytes([byte]))
                        time.sleep(TRICKLE_S)
                else:
                    conn.sendall(body)
        except OSError:
            return


@pytest.fixture
def sources() -> Iterator[dict[str, str]]:
    """Two real sources on 127.0.0.1: one that answers, one that trickles."""
    servers = {}
    for name in ("fast", "slow"):
        server = _Source(("127.0.0.1", 0), _Handler)
        server.trickle = name == "slow"
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {n: f"http://127.0.0.1:{s.server_address[1]}" for n, s in servers.items()}
    for server in servers.values():
        server.shutdown()
        server.server_close()


def connector(system: str, base_url: str) -> Connector:
    descriptor = SystemDescriptor(
        id=system,
        name_zh=system,
        name_en=system,
        department="测试",
        sector="智慧城市",
        classification="internal",
        protocol="rest",
    )
    mapping = KindMapping(
        kind="Station", stream="items", key="id", source_id="id", fields={"name": "name"}
    )
    # a read timeout far longer than one byte's wait: only a deadline can stop the trickle
    return Connector(descriptor, RestTransport(base_url, timeout=10.0), (mapping,))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RecordStore]:
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'hub.db'}")
    store.migrate()
    yield store
    store.close()


def test_a_trickling_source_fails_by_its_deadline_and_holds_up_no_other(
    store: RecordStore, sources: dict[str, str]
) -> None:
    """A page that trickles in a byte every 0.3 s (each read well within httpx's 10 s
    timeout) is cut at the call's 1.5 s deadline: that run is ``down`` saying so, the
    healthy source's run is ``ok`` long before (runs go side by side, each under its own
    deadlines), and the pass lasts about one deadline, not the trickle's ~15 s."""
    engine = SyncEngine(store, call_timeout_s=1.5)
    slow, fast = (
        connector("slow-source", sources["slow"]),
        connector("fast-source", sources["fast"]),
    )
    finished: dict[str, float] = {}
    start = time.monotonic()

    def done(report: object) -> None:
        finished[report.connector] = time.monotonic() - start  # type: ignore[attr-defined]

    async def run() -> list[object]:
        try:
            return list(await engine.sync_all([slow, fast], done=done))
        finally:
            await slow.close()
            await fast.close()

    reports = {r.connector: r for r in asyncio.run(run())}  # type: ignore[attr-defined]
    elapsed = time.monotonic() - start
    fast_report = reports["fast-source"]
    # every row, and the system's own record
    assert fast_report.status == "ok" and fast_report.inserted == len(ROWS) + 1
    assert reports["slow-source"].status == "down"
    assert "1.5 s deadline" in (reports["slow-source"].error or "")
    assert finished["fast-source"] < 1.0 < 1.5 <= finished["slow-source"] < 6, finished
    with store.engine.connect() as conn:
        runs = dict(conn.execute(select(sync_runs.c.connector, sync_runs.c.status)).all())
        leases = conn.execute(select(sync_lease.c.name)).scalars().all()
    assert runs == {"slow-source": "down", "fast-source": "ok"}
    assert not [name for name in leases if name.startswith("run:")]  # released at the end
    print(f"\npass {elapsed:.1f} s; finished at {finished}")


def test_the_run_deadline_bounds_a_run_of_many_slow_pages(
    store: RecordStore, sources: dict[str, str]
) -> None:
    """Each call under its deadline is not enough when a run is long: the run has its own."""
    engine = SyncEngine(store, call_timeout_s=30, run_timeout_s=1.0)
    slow = connector("slow-source", sources["slow"])

    async def run() -> object:
        try:
            return await engine.sync(slow)
        finally:
            await slow.close()

    start = time.monotonic()
    report = asyncio.run(run())
    assert time.monotonic() - start < 4
    assert report.status == "down" and "1 s deadline" in (report.error or "")  # type: ignore[attr-defined]


CHILD = """
import asyncio, sys
from hub.ingest import SyncEngine
from hub.store import RecordStore
from tests.hub.test_sync_deadlines import connector
store = RecordStore.from_url(sys.argv[1])
engine = SyncEngine(store, call_timeout_s=600, run_lease_s=1.0)
print("syncing", flush=True)
asyncio.run(engine.sync(connector("slow-source", sys.argv[2])))
"""


def test_a_run_killed_mid_way_is_marked_failed_at_the_next_run(
    store: RecordStore, sources: dict[str, str]
) -> None:
    """A `cityhub sync` killed with SIGKILL mid-run left its run "running" for good. The run
    held a lease it renewed; once that ran out, the next run (of any system) marks it failed."""
    url = str(store.engine.url)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, sources["slow"]],
        cwd=Path(__file__).parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "syncing"
        deadline = time.monotonic() + 20
        while True:  # the run is in the store and its page is trickling
            with store.engine.connect() as conn:
                running = (
                    conn.execute(select(sync_runs.c.id).where(sync_runs.c.status == "running"))
                    .scalars()
                    .all()
                )
            if running:
                break
            assert time.monotonic() < deadline, "the child never started its run"
            time.sleep(0.1)
        time.sleep(1.5)  # renewed past its first second: the lease is what keeps it alive
        engine = SyncEngine(store)
        assert engine.fail_abandoned() == []  # still running: left alone
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    time.sleep(1.2)  # the killed run's lease runs out
    fast = connector("fast-source", sources["fast"])

    async def run() -> object:
        try:
            return await engine.sync(fast)
        finally:
            await fast.close()

    assert asyncio.run(run()).status == "ok"  # type: ignore[attr-defined]
    with store.engine.connect() as conn:
        killed = conn.execute(select(sync_runs).where(sync_runs.c.id == running[0])).one()
    assert killed.status == "failed" and killed.error == ABANDONED
    assert killed.finished_at is not None
