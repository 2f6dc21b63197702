"""`cityhub serve` for real: uvicorn in a subprocess, queried over TCP on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.graphql_schema import sdl

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def hub_server(demo_dir: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """The hub serving the demo city with two workers, as `scripts/serve.sh` runs it."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env |= {"CITYHUB_DATA_DIR": str(tmp_path), "CITYHUB_LOG_LEVEL": "warning"}
    load = subprocess.run(
        [sys.executable, "-m", "hub", "demo", "load", "--from", str(demo_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert load.returncode == 0, load.stderr
    created = subprocess.run(
        [sys.executable, "-m", "hub", "client", "create", "serve-test", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    server = subprocess.Popen(
        [sys.executable, "-m", "hub", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            time.sleep(0.3)
        else:
            pytest.fail("the hub did not become ready within 60 s")
        token = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(credentials["client_id"], credentials["client_secret"]),
            timeout=10,
        )
        assert token.status_code == 200, token.text
        yield base, token.json()["access_token"]
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_served_hub_returns_all_743_cells(hub_server: tuple[str, str]) -> None:
    base, token = hub_server
    anonymous = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, timeout=10)
    assert anonymous.status_code == 401 and "Bearer" in anonymous.headers["www-authenticate"]
    query = "{ gridCells(first: 1000) { totalCount edges { node { code areaKm2 geometry } } } }"
    for _ in range(4):  # several requests, spread over both workers
        response = httpx.post(
            f"{base}/graphql",
            json={"query": query},
            timeout=30,
            headers={
                "Accept": "application/graphql-response+json",
                "Authorization": f"Bearer {token}",
            },
        )
        assert response.status_code == 200
        cells = response.json()["data"]["gridCells"]
        assert cells["totalCount"] == 743 and len(cells["edges"]) == 743
        assert all(e["node"]["geometry"]["coordinates"] for e in cells["edges"])
    assert httpx.get(f"{base}/healthz").json()["status"] == "ok"


def test_exported_sdl_is_current() -> None:
    exported = (ROOT / "schema" / "schema.graphql").read_text(encoding="utf-8")
    assert exported == sdl() + "\n", "run: cityhub schema export schema/schema.graphql"
