"""Request latency of a typical query with policy enforcement and audit on, against the same
query through the same app code with both off.

The query: 100 grid cells with their inspectors (name and phone: personal, masked by the
partner policy). Both apps run in-process (Starlette TestClient over ASGI) on one SQLite store
of 120 cells, with a real partner token; requests alternate between the two so both see the
same machine. Run: ``python -m bench --only policy`` (``--quick`` for fewer requests).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

QUERY = """{ gridCells(first: 100) { totalCount edges { node { code name street areaKm2
  inspector { name phone onDuty duties } } } } }"""


def _city(n: int) -> list[Any]:
    from schema.record import Record

    when = datetime(2026, 6, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        code = f"BH-B-{i:04d}"
        point = {"type": "Point", "coordinates": [117.7 + i * 0.001, 39.0]}
        out.append(
            Record(
                kind="GridCell",
                key=code,
                source_system="grid-management",
                source_id=f"g{i}",
                fetched_at=when,
                attrs={
                    "code": code,
                    "name": f"基准街道第{i + 1}网格",
                    "street": "基准街道",
                    "area_km2": 1.5,
                    "population": 1000 + i,
                    "inspector": f"INS-B-{i:04d}",
                },
                geometry=point,
                datum="GCJ-02",
            )
        )
        out.append(
            Record(
                kind="Inspector",
                key=f"INS-B-{i:04d}",
                source_system="grid-management",
                source_id=f"i{i}",
                fetched_at=when,
                attrs={
                    "name": "欧阳明华",
                    "phone": "13812345678",
                    "grid_cell": code,
                    "duty_categories": ["C01"],
                    "on_duty": True,
                },
                geometry=point,
                datum="GCJ-02",
            )
        )
    return out


@contextmanager
def _app(folder: Path, store: Any, *, enforce: bool) -> Iterator[Any]:
    from starlette.testclient import TestClient

    from hub.app import create_app
    from hub.audit.extension import AuditExtension
    from hub.auth.service import AuthService
    from hub.config import load_settings

    settings = load_settings(data_dir=folder)
    if enforce:
        app = create_app(settings, store=store)
    else:  # the same app without the audit extension and without policy enforcement
        original = AuthService.schema_extensions

        def without_audit(self: AuthService) -> list[Any]:
            return [f for f in original(self) if not isinstance(f(), AuditExtension)]

        with mock.patch.object(AuthService, "schema_extensions", without_audit):
            app = create_app(settings, store=store, enforce_policies=False)
    with TestClient(app) as http:
        yield app, http


def run(quick: bool = False) -> dict[str, float]:
    from hub.store import RecordStore
    from tests.auth_helpers import fetch_token, register_client

    requests = 30 if quick else 200
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = RecordStore.from_url(f"sqlite:///{folder / 'bench.db'}")
        store.migrate()
        store.upsert(_city(120))
        with (
            _app(folder, store, enforce=True) as (on_app, on),
            _app(folder, store, enforce=False) as (_, off),
        ):
            client_id, secret = register_client(on_app, "bench-partner", rate_per_minute=10**9)
            token = fetch_token(on, client_id, secret)
            headers = {"Authorization": f"Bearer {token}", "Cityhub-Purpose": "benchmark"}
            body = {"query": QUERY}
            times: dict[str, list[float]] = {"on": [], "off": []}
            for http in (on, off):  # warm up, and check both answer the same rows
                data = http.post("/graphql", json=body, headers=headers).json()
                assert "errors" not in data, data
                assert len(data["data"]["gridCells"]["edges"]) == 100
            masked = on.post("/graphql", json=body, headers=headers).json()
            assert masked["data"]["gridCells"]["edges"][0]["node"]["inspector"]["phone"] == (
                "138****5678"
            ), masked
            for _ in range(requests):
                for name, http in (("on", on), ("off", off)):
                    start = time.perf_counter()
                    response = http.post("/graphql", json=body, headers=headers)
                    times[name].append(time.perf_counter() - start)
                    assert response.status_code == 200
        store.close()
    on_ms = statistics.median(times["on"]) * 1000
    off_ms = statistics.median(times["off"]) * 1000
    return {
        "requests": float(requests),
        "on_ms": on_ms,
        "off_ms": off_ms,
        "on_p90_ms": statistics.quantiles(times["on"], n=10)[-1] * 1000,
        "off_p90_ms": statistics.quantiles(times["off"], n=10)[-1] * 1000,
        "ratio": on_ms / off_ms,
    }


def main(quick: bool = False) -> int:
    result = run(quick)
    print("policy enforcement + audit overhead (100 grid cells with inspectors, in-process)")
    on, off = result["on_ms"], result["off_ms"]
    print(f"  requests per side      {int(result['requests'])}")
    print(f"  enforcement+audit on   median {on:.1f} ms  p90 {result['on_p90_ms']:.1f} ms")
    print(f"  enforcement+audit off  median {off:.1f} ms  p90 {result['off_p90_ms']:.1f} ms")
    print(f"  overhead ratio         {result['ratio']:.2f}x (+{on - off:.1f} ms per request)")
    return 0
