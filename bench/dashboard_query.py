"""The ops centre's dashboard query under 200 concurrent clients: latency (p50 / p99) and
throughput of the hub served by uvicorn with real tokens, policies and audit on, against a
plain strawberry app serving the same data shape from memory, under the same load, in one run.

The query is the one-map dashboard's status refresh (hub/web/src/map.ts, main.ts): the open /
overdue counts per grid cell that colour the map and fill the KPI tiles (``serviceCaseStats``)
and the alarm feed's recent alarms (``alarms(last: 50)``), in one document. The hub holds
Binhai's grid (743 cells), inspectors and duty catalogue, a few thousand service cases filed
through the citizen-service centre's own intake (a few days' worth; some overdue, some merged
as duplicates) and the alarms the hazchem app raised from tank readings ingested through the
live bus. Eight operators (two with ``--quick``) sign in through the real authorization-code
+ PKCE flow; the 200 clients (one ``httpx.AsyncClient`` each, over 127.0.0.1) share their
tokens.

The baseline: a minimal strawberry schema on Starlette (the same field names and nesting) that
keeps the same cases and alarms in memory and computes the counts per request — no store, no
auth, no policy, no audit. Its answers are checked against the hub's.

Two loads, each for a bounded time with a bounded number of requests, on both servers:

* **paced**: every client refreshes every 10 s (200 open dashboards; the map polls its live
  layer every 10 s), about 20 requests/s offered;
* **saturated**: every client sends its next request as soon as the last one is answered.

Both servers run in a child process each (uvicorn, one worker), stopping by themselves.
Run: ``python -m bench --only dashboard`` (``--quick``: shorter loads, fewer cases).
Target: dashboard query p99 < 50 ms under the paced load; a full run that misses it exits 1
(``--quick`` exits 1 only on errors or answers that disagree).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NewType, cast

import numpy as np
import strawberry

TARGET_P99_MS = 50.0
CLIENTS = 200
OPERATORS = 8  # quick: 2
REFRESH_S = 10.0  # the map's polling period (hub/web/src/map.ts, pollSeconds: 10)
ALARM_FIELDS = "id kind severity subjectType subjectKey message at value gridCell geometry source"
QUERY = (
    "{ serviceCaseStats { total merged sla { openOnTime openOverdue } byGridCell { key open "
    "overdue } } alarms(last: 50) { totalCount edges { node { " + ALARM_FIELDS + " } } } }"
)
DESCRIPTIONS = (
    "小区门口井盖丢了",
    "路灯不亮已经三天",
    "半夜施工噪音扰民",
    "马路上有个大坑",
    "楼下烧烤店油烟太大",
    "路边垃圾满溢",
    "燃气管道泄漏有煤气味",
    "共享单车乱停放",
    "河里有很多漂浮物",
    "有人在楼道里飞线充电",
)
CHANNEL_KEYS = ("hotline", "grid", "snap", "mailbox", "zero_distance")
DESK = "bench-ops-desk"
REDIRECT = "http://127.0.0.1:9999/callback"
DATA_ENV = "CITYHUB_BENCH_DASHBOARD_DATA"


# ---------------------------------------------------------------------------------------------
# The plain strawberry baseline (served in a child process: bench._serve imports this module)


GeoJSON = strawberry.scalar(NewType("GeoJSON", object), serialize=lambda v: v)
_PLAIN: dict[str, Any] = {"cases": [], "alarms": [], "open": frozenset()}


@strawberry.type
class CaseBucket:
    key: str
    open: int
    overdue: int


@strawberry.type
class SlaStats:
    open_on_time: int
    open_overdue: int


@strawberry.type
class CaseStats:
    total: int
    merged: int
    sla: SlaStats
    by_grid_cell: list[CaseBucket]


@strawberry.type
class Alarm:
    id: strawberry.ID
    kind: str
    severity: str
    subject_type: str
    subject_key: str
    message: str
    at: datetime
    value: float | None
    grid_cell: str | None
    geometry: GeoJSON | None  # type: ignore[valid-type]
    source: str


@strawberry.type
class AlarmEdge:
    node: Alarm


@strawberry.type
class AlarmConnection:
    total_count: int
    edges: list[AlarmEdge]


@strawberry.type
class Query:
    @strawberry.field
    def service_case_stats(self) -> CaseStats:
        now = datetime.now(UTC)
        open_states = _PLAIN["open"]
        buckets: dict[str, list[int]] = {}
        merged = on_time = late = 0
        for cell, status, due in _PLAIN["cases"]:
            if status == "merged":
                merged += 1
                continue
            b = buckets.setdefault(cell, [0, 0, 0])
            over = now > due
            b[0] += 1
            b[1] += status in open_states
            b[2] += over
            if status in open_states:
                late += over
                on_time += not over
        ordered = sorted(buckets.items(), key=lambda kv: (-kv[1][0], kv[0]))
        return CaseStats(
            total=len(_PLAIN["cases"]) - merged,
            merged=merged,
            sla=SlaStats(open_on_time=on_time, open_overdue=late),
            by_grid_cell=[CaseBucket(key=k, open=b[1], overdue=b[2]) for k, b in ordered],
        )

    @strawberry.field
    def alarms(self, last: int | None = None) -> AlarmConnection:
        every = _PLAIN["alarms"]
        page = every[-last:] if last else every
        nodes = [Alarm(**{**a, "at": datetime.fromisoformat(a["at"])}) for a in page]
        return AlarmConnection(total_count=len(every), edges=[AlarmEdge(node=n) for n in nodes])


def baseline_app() -> Any:
    """Starlette + strawberry, the dashboard query's shape, data from memory (the JSON file
    named by CITYHUB_BENCH_DASHBOARD_DATA), no auth, no policy, no audit."""
    from starlette.applications import Starlette
    from starlette.routing import Route
    from strawberry.asgi import GraphQL

    data = json.loads(Path(os.environ[DATA_ENV]).read_text(encoding="utf-8"))
    _PLAIN["cases"] = [
        (c["grid_cell"], c["status"], datetime.fromisoformat(c["due_at"])) for c in data["cases"]
    ]
    _PLAIN["alarms"] = data["alarms"]
    _PLAIN["open"] = frozenset(data["open"])
    schema = strawberry.Schema(query=Query)
    return Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])


# ---------------------------------------------------------------------------------------------
# The demo city with cases and alarms


def _city(folder: Path, cases: int) -> tuple[Any, Path, dict[str, Any]]:
    from bench._city import generate_city, load_kinds, tank_level_sensors
    from hub.store import RecordStore

    city = generate_city()
    data = folder / "hub"
    data.mkdir()
    store = RecordStore.from_url(f"sqlite:///{data / 'cityhub.db'}")
    store.migrate()
    kinds = ("GridCell", "Street", "Inspector", "DutyCategory", "DutySubCategory", "Tank", "Sensor")
    counts: dict[str, Any] = load_kinds(store, city, kinds, keep=tank_level_sensors)
    counts["ServiceCase"] = _file_cases(store, cases)
    counts["Alarm"] = _raise_alarms(store)
    return store, data, counts


def _file_cases(store: Any, count: int) -> int:
    """Cases filed through the centre's own intake over the last three days."""
    from hub.apps.citizen_service.services import CitizenServiceCentre, Intake
    from hub.cases import Caller

    centre = CitizenServiceCentre(store)
    index = centre.grid.index
    x0, y0, x1, y1 = index.bounds
    rng = random.Random(2019)
    now = datetime.now(UTC)
    filed = 0
    while filed < count:
        lon, lat = rng.uniform(x0, x1), rng.uniform(y0, y1)
        if index.locate(lon, lat) < 0:
            continue
        intake = Intake(
            channel=rng.choice(CHANNEL_KEYS),
            description=rng.choice(DESCRIPTIONS),
            lon=lon,
            lat=lat,
            reported_at=now - timedelta(hours=rng.uniform(0, 72)),
        )
        centre.file(intake, Caller("bench", ("operator",)))
        filed += 1
    return filed


def _raise_alarms(store: Any) -> int:
    """Tank readings through the live bus and the hazchem app: the alarms they raise, kept."""
    from bench.telemetry_ingest import LevelStream
    from hub.apps.hazchem.services import HazchemServices
    from hub.fanout import open_broadcast
    from hub.live import LiveBus

    # the stream goes on from the demo city's last readings (May 2026): no window behind
    bus = LiveBus(open_broadcast(""), store, max_behind_s=0)
    hazchem = HazchemServices(store)
    hazchem.register_tanks(bus)
    watch = hazchem.tanks
    keys = sorted(watch.specs)
    last = {k: lr for k in keys if (lr := watch.monitor.last_reading(k)) is not None}
    limits = {k: s.limits for k, s in watch.specs.items()}
    heights = {k: s.level_height_m for k, s in watch.specs.items()}
    stream = LevelStream(keys, limits, heights, last, seed=7)

    async def run() -> int:
        raised = 0
        for batch in stream.batches(len(keys) * 4, 6_000):
            raised += len((await bus.ingest(batch)).alarms)
        return raised

    return asyncio.run(run())


# ---------------------------------------------------------------------------------------------
# Load


async def _load(
    base: str, tokens: list[str], seconds: float, paced: bool, max_requests: int
) -> dict[str, Any]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    body = json.dumps({"query": QUERY}).encode()
    clients = []
    for i in range(CLIENTS):  # opened before the clock starts
        headers = {"Content-Type": "application/json"}
        if tokens:
            headers["Authorization"] = f"Bearer {tokens[i % len(tokens)]}"
            headers["Cityhub-Purpose"] = "ops-centre dashboard"
        clients.append(httpx.AsyncClient(base_url=base, headers=headers, timeout=60))
    start = time.perf_counter()
    deadline = start + seconds
    sent = 0

    async def client(i: int) -> None:
        nonlocal sent
        rng = random.Random(i)
        http = clients[i]
        if paced:  # the dashboards opened at different moments
            await asyncio.sleep(
                min(rng.uniform(0, REFRESH_S), max(0.0, deadline - time.perf_counter()))
            )
        while time.perf_counter() < deadline and sent < max_requests:
            sent += 1
            t0 = time.perf_counter()
            try:
                answer = await http.post("/graphql", content=body)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)
                continue
            took = time.perf_counter() - t0
            if answer.status_code != 200 or "errors" in answer.json():
                errors.append(f"{answer.status_code} {answer.text[:200]}")
            else:
                latencies.append(took)
            if paced:  # the next refresh, unless the run is over by then
                pause = max(0.0, REFRESH_S - took) * rng.uniform(0.9, 1.1)
                await asyncio.sleep(min(pause, max(0.0, deadline - time.perf_counter())))

    try:
        await asyncio.gather(*(client(i) for i in range(CLIENTS)))
    finally:
        wall = time.perf_counter() - start
        for http in clients:
            await http.aclose()
    ms = np.asarray(latencies) * 1000 if latencies else np.asarray([np.nan])
    return {
        "requests": len(latencies),
        "errors": errors if latencies else [*errors, "no request answered"],
        "wall": wall,
        "throughput": len(latencies) / wall if latencies else np.nan,
        "p50": float(np.percentile(ms, 50)),
        "p99": float(np.percentile(ms, 99)),
    }


def _ask(base: str, tokens: list[str]) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {tokens[0]}"} if tokens else {}
    answer = httpx.post(f"{base}/graphql", json={"query": QUERY}, headers=headers, timeout=60)
    body = answer.json()
    assert answer.status_code == 200 and "errors" not in body, answer.text[:500]
    return dict(body["data"])


def _operator_tokens(base: str, store: Any, operators: int) -> list[str]:
    """Operators signing in through the real authorization-code + PKCE flow."""
    import httpx

    from hub.auth.accounts import AccountStore
    from tests.auth_helpers import PEOPLE_CLIENT, person_token

    accounts = AccountStore(store.engine)
    # the ops desk's public client, with a budget for 200 dashboards (the default is 600/min)
    accounts.create_client(
        PEOPLE_CLIENT,
        client_id=PEOPLE_CLIENT,
        public=True,
        redirect_uris=["http://127.0.0.1:9999/callback"],
        scopes=["graph:read", "graph:introspect", "audit:read", "policy:write"],
        role="department",
        rate_per_minute=10**9,
    )
    app = cast(Any, SimpleNamespace(state=SimpleNamespace(store=store)))
    with httpx.Client(base_url=base, timeout=60) as http:
        return [
            person_token(http, app, f"ops{i}", "operator", "graph:read") for i in range(operators)
        ]


def _baseline_data(store: Any, hub_answer: dict[str, Any]) -> dict[str, Any]:
    from hub.apps.citizen_service.services import CASE_KIND, OPEN, status_of

    cases = [
        {"grid_cell": a["grid_cell"], "status": status_of(a), "due_at": a["due_at"]}
        for a in (r.attrs for r in store.scan(CASE_KIND))
    ]
    alarms = []
    for r in store.scan("Alarm"):
        a = r.attrs
        alarms.append(
            {
                "id": r.key,
                "kind": a["kind"],
                "severity": a["severity"],
                "subject_type": a["subject_type"],
                "subject_key": a["subject_key"],
                "message": a["message"],
                "at": a["at"],
                "value": a.get("value"),
                "grid_cell": a.get("grid_cell"),
                "geometry": r.geometry,
                "source": a.get("source", "telemetry"),
            }
        )
    assert len(alarms) == hub_answer["alarms"]["totalCount"]
    return {"cases": cases, "alarms": alarms, "open": sorted(OPEN)}


def _same(
    hub: dict[str, Any],
    plain: dict[str, Any],
    cases: list[dict[str, Any]],
    span: tuple[float, float],
) -> bool:
    """The two answers agree, once the cases that fell overdue between the hub's answer and
    the baseline's (``span``, epoch seconds) are counted on the hub's side too."""
    h = json.loads(json.dumps(hub["serviceCaseStats"]))
    cells = {b["key"]: b for b in h["byGridCell"]}
    for c in cases:
        due = datetime.fromisoformat(c["due_at"]).timestamp()
        if c["status"] != "merged" and span[0] < due <= span[1]:
            cells[c["grid_cell"]]["overdue"] += 1
            h["sla"]["openOverdue"] += 1
            h["sla"]["openOnTime"] -= 1
    ok = h == plain["serviceCaseStats"]
    ok = ok and hub["alarms"]["totalCount"] == plain["alarms"]["totalCount"]

    def instants(side: dict[str, Any]) -> list[dict[str, Any]]:  # DateTime spellings differ
        return [
            {**e["node"], "at": datetime.fromisoformat(e["node"]["at"]).timestamp()}
            for e in side["alarms"]["edges"]
        ]

    return ok and instants(hub) == instants(plain)


def main(quick: bool = False) -> int:
    from bench._serve import served_process

    cases = 300 if quick else 3_000
    paced_s, saturated_s = (5.0, 2.0) if quick else (40.0, 15.0)
    operators = 2 if quick else OPERATORS
    max_requests = 20_000 if quick else 100_000
    load_before = os.getloadavg()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store, data, _ = _city(Path(tmp), cases)
        setup_s = time.perf_counter() - t0
        budget = 120 + 2 * (paced_s + saturated_s)
        # each of the few operators' tokens stands for 25-100 dashboards: no per-person limit
        env = {
            "CITYHUB_DATA_DIR": str(data),
            "CITYHUB_LOG_LEVEL": "warning",
            "CITYHUB_AUTH_PERSON_RATE_PER_MINUTE": str(10**9),
        }
        with served_process("hub.app:create_app", env, max_seconds=budget + 120) as base:
            tokens = _operator_tokens(base, store, operators)
            hub_answer = _ask(base, tokens)
            hub_at = time.time()
            for _ in range(5):
                _ask(base, tokens)
            results["hub paced"] = asyncio.run(_load(base, tokens, paced_s, True, max_requests))
            results["hub saturated"] = asyncio.run(
                _load(base, tokens, saturated_s, False, max_requests)
            )
        plain_file = Path(tmp) / "plain.json"
        plain_data = _baseline_data(store, hub_answer)
        plain_file.write_text(json.dumps(plain_data), encoding="utf-8")
        store.close()
        with served_process(
            "bench.dashboard_query:baseline_app", {DATA_ENV: str(plain_file)}, budget
        ) as base:
            plain_answer = _ask(base, [])
            plain_at = time.time()
            for _ in range(5):
                _ask(base, [])
            results["plain paced"] = asyncio.run(_load(base, [], paced_s, True, max_requests))
            results["plain saturated"] = asyncio.run(
                _load(base, [], saturated_s, False, max_requests)
            )
    same = _same(hub_answer, plain_answer, plain_data["cases"], (hub_at, plain_at))
    load_after = os.getloadavg()

    stats = hub_answer["serviceCaseStats"]
    print(
        f"dashboard query: {CLIENTS} clients ({operators} operators' tokens), serviceCaseStats "
        f"({stats['total']:,} cases + {stats['merged']} merged, {len(stats['byGridCell'])} cells, "
        f"{stats['sla']['openOverdue']} overdue) + alarms(last: 50) of "
        f"{hub_answer['alarms']['totalCount']:,}; load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after (city {setup_s:.1f} s)"
    )
    for mode, what in (("paced", f"every client every {REFRESH_S:.0f} s"),
                       ("saturated", "back to back")):  # fmt: skip
        hub, plain = results[f"hub {mode}"], results[f"plain {mode}"]
        print(f"  {mode} ({what}):")
        for name, r in (("hub (tokens, policies, audit)", hub), ("plain strawberry", plain)):
            print(f"    {name:<30} p50 {r['p50']:7.1f} ms  p99 {r['p99']:7.1f} ms  "
                  f"{r['throughput']:7.1f} req/s  [{r['requests']:,} answered, "
                  f"{len(r['errors'])} errors]")  # fmt: skip
        print(f"    hub / plain: p50 x{hub['p50'] / plain['p50']:.2f}  "
              f"p99 x{hub['p99'] / plain['p99']:.2f}  "
              f"throughput x{hub['throughput'] / plain['throughput']:.2f}")  # fmt: skip
        for name, r in (("hub", hub), ("plain", plain)):
            if r["errors"]:
                print(f"    {name} errors (first): {r['errors'][0]}")
    p99 = results["hub paced"]["p99"]
    met = p99 < TARGET_P99_MS
    print(f"  target p99 < {TARGET_P99_MS:.0f} ms under the paced load: "
          f"{'met' if met else 'missed'} ({p99:.1f} ms)")  # fmt: skip
    print(f"  answers: hub and plain strawberry {'agree' if same else 'DIFFER'}")
    errors = sum(len(r["errors"]) for r in results.values())
    if not same or errors:
        return 1
    return 0 if met or quick else 1


if __name__ == "__main__":
    raise SystemExit(main(quick=True))
