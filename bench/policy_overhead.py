"""Request latency of typical queries with policy enforcement and audit on, against the same
queries through the same app code with both off.

Four queries, each on its own line with its ratio:

* grid cells — 100 cells with their inspectors (name and phone: personal, masked by the
  partner policy);
* entity360 — a firm as the knowledge graph knows it: its facts (the registry and finance
  records, 30 complaints and 10 enforcement cases that concern it, attributes policed by each
  fact's type), its relations with their other ends, and its 1-hop neighbourhood (under the
  policy: every entity and relation checked through its records, ``hub.policy.graph``);
* entity360 -ends — the same without the relations' other ends: the plain graph reads those
  one by one where the policed one reads them in one batch, so this line is the policy's own
  cost;
* search — 20 hits for 融资租赁 with each hit's entity.

Both apps run in-process (Starlette TestClient over ASGI) on one SQLite store (120 cells,
200 firms, their complaints and cases, 40 residents), its graph and search index built once,
with a real partner token; requests alternate between the two so both see the same machine.
Run: ``python -m bench --only policy`` (``--quick`` for fewer requests).
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

GRID = """{ gridCells(first: 100) { totalCount edges { node { code name street areaKm2
  inspector { name phone onDuty duties } } } } }"""
ENTITY = """query($id: String!) { entity360(id: $id) { id type label resolvedBy
  sources { system kind key method attrs }
  relations(first: 100) { rel direction source { kind key } other { id type label } }
  neighbourhood(hops: 1, limit: 200) {
    entities { id type label } edges { from rel to source { kind key } } } } }"""
ENTITY_FLAT = ENTITY.replace("other { id type label }", "")
SEARCH = """{ search(query: "融资租赁", first: 20) { totalCount
  edges { node { kind key title snippet score entity { id type label } } } } }"""
FIRMS = 200
COMPLAINTS, CASES, RESIDENTS = 30, 10, 40


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


def _record(kind: str, key: str, system: str, attrs: dict[str, Any], x: float) -> Any:
    from schema.record import Record

    return Record(
        kind=kind,
        key=key,
        source_system=system,
        source_id=key,
        fetched_at=datetime(2026, 6, 1, tzinfo=UTC),
        attrs=attrs,
        geometry={"type": "Point", "coordinates": [x, 39.0]},
        datum="GCJ-02",
    )


def _graph_city() -> list[Any]:
    """Firms of one line of business (the first with its finance record, the complaints and
    enforcement cases that concern it), and the residents of its grid cell (BH-B-0000)."""
    from schema.uscc import make_uscc

    out = []
    street, cell = "基准街道", "BH-B-0000"
    featured, firm_code = "天津银昊融资租赁有限公司", make_uscc("9", "1", "120116", "MA000000")
    for i in range(FIRMS):
        code = make_uscc("9", "1", "120116", f"MA{i:06d}")
        name = featured if i == 0 else f"天津滨海{i:03d}号融资租赁有限公司"
        attrs = {"name": name, "uscc": code, "street": street, "grid_cell": f"BH-B-{i % 120:04d}"}
        attrs |= {
            "address": f"{street}{i}号",
            "industry": "融资租赁",
            "legal_representative": "王建国",
        }
        out.append(_record("Enterprise", f"ENT-{i:04d}", "market-registry", attrs, 117.7 + i / 1e4))
        if i == 0:
            out.append(_record("FinanceFirm", "FIN-0000", "finance-registry", attrs, 117.7))
    for n in range(COMPLAINTS):
        attrs = {"respondent_name": featured, "complainant": "诸葛春华", "category": "虚假宣传"}
        attrs |= {"complainant_phone": "13811112222", "street": street, "grid_cell": cell}
        out.append(_record("Complaint", f"CMP-{n:04d}", "complaints", attrs, 117.7))
    for n in range(CASES):
        attrs = {"party_name": featured, "party_uscc": firm_code, "violation": "虚假宣传"}
        attrs |= {"street": street, "grid_cell": cell}
        out.append(_record("EnforcementCase", f"LE-{n:04d}", "law-enforcement", attrs, 117.7))
    for n in range(RESIDENTS):
        attrs = {
            "name": "欧阳明华",
            "phone": "13812345678",
            "resident_id": f"12011619900101{n:04d}",
        }
        attrs |= {"street": street, "grid_cell": cell}
        out.append(_record("Citizen", f"CIT-{n:04d}", "population", attrs, 117.7))
    return out


def _build(folder: Path) -> Any:
    """The store with both cities, its knowledge graph and search index built once."""
    from hub.config import load_settings
    from hub.graph import open_graph
    from hub.indexing import rebuild
    from hub.search import open_search
    from hub.store import RecordStore

    store = RecordStore.from_url(f"sqlite:///{folder / 'bench.db'}")
    store.migrate()
    store.upsert(_city(120) + _graph_city())
    settings = load_settings(data_dir=folder)
    graph, search = open_graph(settings.graph_store_url), open_search(settings.search_store_url)
    rebuild(store, graph, search, secret=settings.effective_secret())
    graph.close()
    search.close()
    return store


def _check(name: str, on: dict[str, Any], off: dict[str, Any]) -> None:
    """Both apps answer the partner the same rows (it may read every row: only masks differ)."""
    assert "errors" not in on and "errors" not in off, (on, off)
    if name == "grid cells":
        cells = on["data"]["gridCells"]["edges"]
        assert len(cells) == len(off["data"]["gridCells"]["edges"]) == 100
        assert cells[0]["node"]["inspector"]["phone"] == "138****5678", cells[0]
    elif name.startswith("entity360"):
        firm, whole = on["data"]["entity360"], off["data"]["entity360"]
        assert len(firm["sources"]) == len(whole["sources"]) == 2 + COMPLAINTS + CASES
        assert len(firm["relations"]) == len(whole["relations"]) > COMPLAINTS + CASES
        hood = firm["neighbourhood"]["entities"]
        assert len(hood) == len(whole["neighbourhood"]["entities"]) == 2 + COMPLAINTS + CASES
    else:
        hits = on["data"]["search"]["edges"]
        assert len(hits) == len(off["data"]["search"]["edges"]) == 20
        assert all(h["node"]["entity"]["type"] == "Firm" for h in hits)


def run(quick: bool = False) -> dict[str, dict[str, float]]:
    from tests.auth_helpers import fetch_token, register_client

    requests = 30 if quick else 200
    queries = {
        "grid cells": {"query": GRID},
        "entity360": {"query": ENTITY, "variables": {"id": "Enterprise:ENT-0000"}},
        "entity360 -ends": {"query": ENTITY_FLAT, "variables": {"id": "Enterprise:ENT-0000"}},
        "search": {"query": SEARCH},
    }
    times: dict[str, dict[str, list[float]]] = {q: {"on": [], "off": []} for q in queries}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = _build(folder)
        with (
            _app(folder, store, enforce=True) as (on_app, on),
            _app(folder, store, enforce=False) as (_, off),
        ):
            client_id, secret = register_client(on_app, "bench-partner", rate_per_minute=10**9)
            token = fetch_token(on, client_id, secret)
            headers = {"Authorization": f"Bearer {token}", "Cityhub-Purpose": "benchmark"}
            for name, body in queries.items():  # warm up, and check both answer the same
                answers = [h.post("/graphql", json=body, headers=headers).json() for h in (on, off)]
                _check(name, *answers)
            for _ in range(requests):
                for name, body in queries.items():
                    for side, http in (("on", on), ("off", off)):
                        start = time.perf_counter()
                        response = http.post("/graphql", json=body, headers=headers)
                        times[name][side].append(time.perf_counter() - start)
                        assert response.status_code == 200
        store.close()
    return {name: _figures(sides, requests) for name, sides in times.items()}


def _figures(sides: dict[str, list[float]], requests: int) -> dict[str, float]:
    on_ms = statistics.median(sides["on"]) * 1000
    off_ms = statistics.median(sides["off"]) * 1000
    return {
        "requests": float(requests),
        "on_ms": on_ms,
        "off_ms": off_ms,
        "on_p90_ms": statistics.quantiles(sides["on"], n=10)[-1] * 1000,
        "off_p90_ms": statistics.quantiles(sides["off"], n=10)[-1] * 1000,
        "ratio": on_ms / off_ms,
    }


def print_table(first: str, results: dict[str, dict[str, float]]) -> None:
    """One line per row of ``results`` (``_figures``): policy on and off, and their ratio."""
    print(f"  {first:<16}  on: median    p90   off: median    p90   ratio (on/off)")
    for name, r in results.items():
        on, off = r["on_ms"], r["off_ms"]
        print(
            f"  {name:<16} {on:9.1f} ms {r['on_p90_ms']:6.1f}  {off:9.1f} ms {r['off_p90_ms']:6.1f}"
            f"   {r['ratio']:.2f}x (+{on - off:.1f} ms)"
        )


def main(quick: bool = False) -> int:
    results = run(quick)
    requests = int(next(iter(results.values()))["requests"])
    print(f"policy enforcement + audit overhead (in-process, partner token, {requests} each)")
    print_table("query", results)
    return 0
