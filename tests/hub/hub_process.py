"""`cityhub serve` in a process of its own on a free loopback port, over a store the test
prepared: for several workers on one store, and for a hub killed (SIGKILL) and started again
on the same port. Its output goes to a file, shown when it fails to start."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import httpx
from starlette.applications import Starlette

from hub.store import RecordStore
from tests.auth_helpers import person_token
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[2]


def hub_env(store_url: str, data_dir: Path, fanout_url: str = "") -> dict[str, str]:
    """One deployment's configuration: every worker started with it shares the store, the
    signing key (tokens from one are good on the others) and the fan-out."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYHUB_")}
    env |= {
        "CITYHUB_DATA_DIR": str(data_dir),
        "CITYHUB_DATABASE_URL": store_url,
        "CITYHUB_SECRET_KEY": secrets.token_urlsafe(48),
        # the deployment's one public address (its load balancer's), not each worker's port
        "CITYHUB_AUTH_ISSUER": "http://127.0.0.1",
        "CITYHUB_LOG_LEVEL": "warning",
        "CITYHUB_TELEMETRY_MAX_BEHIND_S": "0",
        # the tests send hundreds of requests a second as one person or client: not a test
        # of the rate limits (tests/auth has those)
        "CITYHUB_AUTH_PERSON_RATE_PER_MINUTE": "1000000",
        "CITYHUB_AUTH_RATE_PER_MINUTE": "1000000",  # the tests' readings may be of any age
        "PYTHONPATH": str(ROOT),
    }
    if fanout_url:
        env["CITYHUB_FANOUT_URL"] = fanout_url
    return env


class HubProcess:
    """One hub worker: ``start()``, ``kill()`` (SIGKILL, no goodbye), ``start()`` again on
    the same port, ``stop()``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub", "serve", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        tail = self.log.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"{self.base} did not become ready:\n{tail}")

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)


def client_token(base: str, client_id: str, secret: str) -> str:
    """A client's token from a running hub's token endpoint (client credentials)."""
    answer = httpx.post(
        f"{base}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret),
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def operator_token(base: str, store: RecordStore, username: str) -> str:
    """An operator's token through a running hub's sign-in page (authorization code + PKCE);
    the user is created in ``store`` on first use."""
    hub = cast(Starlette, SimpleNamespace(state=SimpleNamespace(store=store)))
    with httpx.Client(base_url=base, timeout=30) as http:
        return person_token(http, hub, username, "operator", "graph:read")
