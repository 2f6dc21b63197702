"""What an exact ``totalCount`` costs a search under a row filter, against the same search
through the same app code with policy enforcement and audit off.

A city of ``CASES`` service cases on two streets, every one matching 路灯; 20 hits asked for:

* partner — reads every case (no row filter, every field): the index's hits and total stand,
  only titles and snippets are scrubbed (``PolicedSearchSource``'s direct path);
* department — a department shown its own street's cases (a row filter on the street): every
  match is checked in chunks of 2,000, on the facets the index keeps beside each document, and
  the page's 20 rows are read from the store, so the total counts exactly its half.

Run: ``python -m bench --only search`` (``--quick`` for fewer requests and cases).
"""

from __future__ import annotations

import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.policy_overhead import _app, _figures, _record, print_table

STREETS = ("东区街道", "西区街道")
SEARCH = """{ search(query: "路灯", first: 20) { totalCount
  edges { node { kind key title snippet score } } } }"""
DEPARTMENT = f"""name = "bench-east"
subject = "client:bench-east"
clearance = "sensitive"
principals = {{ "client:bench-east" = {{ street = "{STREETS[0]}" }} }}
[types.ServiceCase]
fields = ["*"]
row_filter = "record.street == principal.street"
"""


def _cases(n: int) -> list[Any]:
    when = datetime(2026, 6, 1, tzinfo=UTC).isoformat()
    out = []
    for i in range(n):
        street = STREETS[i % 2]
        attrs = {
            "title": f"{street}路灯不亮",
            "content": f"{street}第{i}号路灯坏了，晚上很黑，电话13812345678",
            "category_name": "市政设施",
            "street": street,
            "address": f"{street}测试路{i}号",
            "channel": "随手拍",
            "reported_at": when,
        }
        out.append(_record("ServiceCase", f"CASE-{i:05d}", "cityhub", attrs, 117.7))
    return out


def _build(folder: Path, cases: int) -> Any:
    from hub.config import load_settings
    from hub.graph import open_graph
    from hub.indexing import rebuild
    from hub.search import open_search
    from hub.store import RecordStore

    store = RecordStore.from_url(f"sqlite:///{folder / 'bench.db'}")
    store.migrate()
    store.upsert(_cases(cases))
    settings = load_settings(data_dir=folder)
    graph, search = open_graph(settings.graph_store_url), open_search(settings.search_store_url)
    rebuild(store, graph, search, secret=settings.effective_secret())
    graph.close()
    search.close()
    return store


def run(quick: bool = False) -> tuple[int, dict[str, dict[str, float]]]:
    from tests.auth_helpers import fetch_token, register_client
    from tests.policy_helpers import publish_approved

    requests, cases = (20, 1000) if quick else (100, 4000)
    times: dict[str, dict[str, list[float]]] = {
        who: {"on": [], "off": []} for who in ("partner", "department")
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = _build(folder, cases)
        with (
            _app(folder, store, enforce=True) as (on_app, on),
            _app(folder, store, enforce=False) as (_, off),
        ):
            workflow = on_app.state.policy_workflow
            draft = workflow.draft(DEPARTMENT, author="user:bench", reason="bench")
            publish_approved(workflow, draft.name, draft.version, author="user:bench",
                             reason="bench")  # fmt: skip
            headers = {}
            for who, options in (
                ("partner", {"rate_per_minute": 10**9}),
                ("department", {"client_id": "bench-east", "rate_per_minute": 10**9}),
            ):
                client_id, secret = register_client(on_app, f"bench-{who}", **options)
                headers[who] = {"Authorization": f"Bearer {fetch_token(on, client_id, secret)}"}
                # warm up, and check what each is answered
                mine = on.post("/graphql", json={"query": SEARCH}, headers=headers[who]).json()
                whole = off.post("/graphql", json={"query": SEARCH}, headers=headers[who]).json()
                total = mine["data"]["search"]["totalCount"]
                assert total == (cases if who == "partner" else cases // 2), mine
                assert whole["data"]["search"]["totalCount"] == cases
                assert len(mine["data"]["search"]["edges"]) == 20
            for _ in range(requests):
                for who, sides in times.items():
                    for side, http in (("on", on), ("off", off)):
                        start = time.perf_counter()
                        answer = http.post("/graphql", json={"query": SEARCH}, headers=headers[who])
                        sides[side].append(time.perf_counter() - start)
                        assert answer.status_code == 200
        store.close()
    return cases, {who: _figures(sides, requests) for who, sides in times.items()}


def main(quick: bool = False) -> int:
    cases, results = run(quick)
    requests = int(next(iter(results.values()))["requests"])
    print(f"search under the policy: 20 of {cases} matching cases ({requests} requests each)")
    print_table("caller", results)
    return 0
