"""Smart finance end to end on the demo city: the smoke index of the 2,701 quasi-financial firms
through GraphQL with real tokens — every firm scored, the contributions checked against the
plain-Python reference (an oracle, not the compiled kernel), the raw dimensions against the
derivation the finance services document, the level bands at their exact boundaries, the
watch list and its history across rescoring runs after a firm's data changes, trends, the
``smoke.jump`` alarm (stored and delivered to an ``alarms`` subscriber), statistics, the
policies (partners, aggregate-only partners) and bad input.

The tests change firms' data, so they run on a copy of the demo city's store (the session's
``demo_store``), not on the store other modules read.
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from starlette.applications import Starlette
from starlette.testclient import TestClient
from websockets import Subprotocol

from core_ext.reference.risk import smoke_index as reference_smoke_index
from core_ext.risk import SMOKE_DIMENSIONS, SmokeIndexConfig
from hub.apps.finance.services import MIN_CLIENTS, NEWS_REACH
from hub.store import RecordStore
from schema.record import Record
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.live_server import served
from tests.policy_helpers import publish_approved

BANDS = SmokeIndexConfig().bands  # (40, 60, 80): the seed's "above 40" and two more
LEVELS = ("NORMAL", "WATCHED", "WARNING", "ALERT")
TYPES = {  # the seed: 2,701 firms of 7 types (the simulated registry's split)
    "leasing": 1300,
    "factoring": 520,
    "private_fund": 480,
    "small_loan": 150,
    "pawn": 120,
    "guarantee": 110,
    "trading_venue": 21,
}
FIRM = """
  firmKey firmName firmType firmTypeName street park gridCell score level watched run scoredAt
  explanation { dimension rawValue weight contribution }
  trend { run at score level }
  watchHistory { enteredAt enteredRun enteredScore leftAt leftRun leftScore }
"""
ONE = "query($k: ID!) { smokeIndex(firmKey: $k) { " + FIRM + " } }"
ALL = (
    "query($after: String, $level: SmokeLevel, $type: String) { "
    "smokeIndexes(first: 500, after: $after, level: $level, firmType: $type) { totalCount "
    "pageInfo { hasNextPage endCursor } edges { cursor node { " + FIRM + " } } } }"
)
WATCH = (
    "query($after: String, $level: SmokeLevel, $first: Int! = 500) { "
    "watchList(first: $first, after: $after, level: $level) { totalCount "
    "pageInfo { hasNextPage endCursor } "
    "edges { node { firmKey score level watched "
    "watchHistory { enteredAt enteredRun enteredScore leftAt } } } } }"
)
STATS = """{ smokeIndexStats { run scoredAt firms watched
  byLevel { level firms } byType { firmType firmTypeName firms watched }
  byStreet { name firms watched } byPark { name firms watched } } }"""
RESCORE = """mutation($j: Float) { rescoreSmokeIndex(jumpPoints: $j) { run scoredAt actor firms
  watched enteredWatchList leftWatchList jumpPoints
  jumps { firmKey firmName previousScore score } } }"""


@pytest.fixture(scope="module")
def city(
    demo_store: RecordStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Starlette, TestClient, RecordStore]]:
    """A hub over a copy of the demo city (SQLite's online backup of the session's store)."""
    from hub.app import create_app
    from hub.config import load_settings

    folder: Path = tmp_path_factory.mktemp("finance")
    source = demo_store.engine.url.database
    assert source, "the demo store is a SQLite file"
    with sqlite3.connect(source) as src, sqlite3.connect(folder / "hub.db") as dst:
        src.backup(dst)
    store = RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")
    app = create_app(load_settings(data_dir=folder), store=store)
    with TestClient(app) as http:
        yield app, http, store
    store.close()


@pytest.fixture(scope="module")
def operator(city: tuple[Starlette, TestClient, RecordStore]) -> str:
    app, http, _ = city
    return person_token(http, app, "fin-olga", "operator", "graph:read")


@pytest.fixture(scope="module")
def first_read(city: tuple[Starlette, TestClient, RecordStore], operator: str) -> float:
    """The first read of a fresh hub scores every firm once: how long it took (seconds)."""
    _, http, _ = city
    started = time.perf_counter()
    stats = gql(http, operator, STATS)["smokeIndexStats"]
    assert stats["run"] is not None
    return time.perf_counter() - started


def token(app: Starlette, http: TestClient, name: str, **options: Any) -> str:
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", **options)
    return fetch_token(http, client_id, secret)


def answer(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    response = http.post(
        "/graphql", json={"query": query, "variables": variables}, headers=bearer(tok)
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def gql(http: TestClient, tok: str, query: str, **variables: Any) -> dict[str, Any]:
    body = answer(http, tok, query, **variables)
    assert "errors" not in body, body
    return dict(body["data"])


def error(http: TestClient, tok: str, query: str, **variables: Any) -> str:
    body = answer(http, tok, query, **variables)
    assert body.get("errors"), body
    return str(body["errors"][0]["message"])


def every_firm(http: TestClient, tok: str, **variables: Any) -> tuple[int, list[dict[str, Any]]]:
    """All pages of ``smokeIndexes``: (totalCount, nodes in order)."""
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = gql(http, tok, ALL, after=after, **variables)["smokeIndexes"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return int(page["totalCount"]), nodes
        after = page["pageInfo"]["endCursor"]


def watch_list(http: TestClient, tok: str, level: str | None = None) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = gql(http, tok, WATCH, after=after, level=level)["watchList"]
        nodes += [e["node"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            assert page["totalCount"] == len(nodes)
            return nodes
        after = page["pageInfo"]["endCursor"]


def expected_level(score: float) -> str:
    return LEVELS[sum(1 for b in BANDS if score > b)]


def documented_raw(a: dict[str, Any]) -> list[float]:
    """The five raw values of a firm with no linked reports, complaints or opinion items, as
    the finance services' documentation derives them from the FinanceFirm record."""
    op, comp, social, marketing = a["operating"], a["compliance"], a["social"], a["marketing"]
    checks = [
        comp["missed_reports_12m"] > 0 or not op["report_submitted"],
        comp["regulatory_penalties_12m"] > 0,
        comp["abnormal_operation_listed"],
        comp["address_unreachable"],
        comp["operating_outside_registered_area"],
        op["above_rate_cap"],
        comp["executive_changes_12m"] >= 2,
        op["outstanding_balance_10k_cny"] <= 0 and a["employees"] < 3,
    ]
    return [
        sum(bool(c) for c in checks) / 8,
        social["online_mentions_30d"] + NEWS_REACH * social["negative_news_12m"],
        op["advertised_return_rate_pct"] or 0.0,
        1000 * social["complaints_12m"] / max(op["customers"], MIN_CLIENTS),
        marketing["risk_keyword_hits_30d"],
    ]


def rescore(http: TestClient, tok: str, jump: float | None = None) -> dict[str, Any]:
    return dict(gql(http, tok, RESCORE, j=jump)["rescoreSmokeIndex"])


# ----------------------------------------------------------------------------------------------
# Every firm scored, checked against the oracles


def test_every_firm_is_scored_in_range_with_its_explanation(
    city: tuple[Starlette, TestClient, RecordStore], operator: str, first_read: float
) -> None:
    _, http, store = city
    firm_keys = {r.key for r in store.page("FinanceFirm", limit=10_000)}
    assert len(firm_keys) == store.count("FinanceFirm") == 2701 == sum(TYPES.values())
    assert first_read < 30, f"scoring 2,701 firms on the first read took {first_read:.1f} s"
    total, nodes = every_firm(http, operator)
    assert total == len(nodes) == 2701
    assert {n["firmKey"] for n in nodes} == firm_keys
    assert Counter(n["firmType"] for n in nodes) == TYPES
    scores = [n["score"] for n in nodes]
    assert scores == sorted(scores, reverse=True)  # riskiest first
    assert len({n["run"] for n in nodes}) == 1  # one run scored them all
    for n in nodes:
        assert 0.0 <= n["score"] <= 100.0
        assert n["level"] == expected_level(n["score"]), n
        assert n["watched"] == (n["score"] > BANDS[0]), n
        dims = n["explanation"]
        assert [d["dimension"] for d in dims] == list(SMOKE_DIMENSIONS)
        assert math.fsum(d["weight"] for d in dims) == pytest.approx(1.0)
        assert math.fsum(d["contribution"] for d in dims) == pytest.approx(n["score"], abs=1e-5)
        for d in dims:  # no dimension gives more than its share of 100
            assert -1e-9 <= d["contribution"] <= 100 * d["weight"] + 1e-9
        assert n["trend"][-1]["run"] == n["run"] and n["trend"][-1]["score"] == n["score"]
    # the scores spread: not all alike, some firms watched, most not
    assert len({round(s, 3) for s in scores}) > 1000
    watched = sum(n["watched"] for n in nodes)
    assert 0 < watched < 2701 // 4


def test_scores_match_the_reference_and_the_documented_raw_values(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    """The compiled kernel's contributions against core_ext.reference's plain loops, for every
    firm; and the raw values against the documented derivation from the registry record."""
    _, http, store = city
    _, nodes = every_firm(http, operator)
    raw = [[d["rawValue"] for d in n["explanation"]] for n in nodes]
    ref_scores, ref_levels, ref_contrib = reference_smoke_index(raw, SmokeIndexConfig())
    for n, score, level, contrib in zip(nodes, ref_scores, ref_levels, ref_contrib, strict=True):
        assert n["score"] == pytest.approx(score, abs=1e-6), n["firmKey"]
        assert n["level"] == LEVELS[level]
        got = [d["contribution"] for d in n["explanation"]]
        assert got == pytest.approx(contrib, abs=1e-9), n["firmKey"]
    # the demo city has no reports, complaints or opinion items: the registry alone counts
    assert store.count("Complaint") == store.count("FinanceReport") == 0
    sample = nodes[:25] + nodes[1000:1025] + nodes[-25:]  # riskiest, middling, safest
    records = store.get_many("FinanceFirm", [n["firmKey"] for n in sample])
    for n in sample:
        firm = records[n["firmKey"]]
        assert n["firmName"] == firm.attrs["name"] and n["street"] == firm.attrs["street"]
        got = [d["rawValue"] for d in n["explanation"]]
        assert got == pytest.approx(documented_raw(firm.attrs)), n["firmKey"]


def test_one_complaint_against_a_small_client_base_does_not_saturate(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    """The documented purpose of the client floor: one complaint alone does not max out the
    complaint-rate dimension (it did with a floor of 100 clients: 1 / 100 = 10 per 1,000)."""
    _, http, store = city
    _, nodes = every_firm(http, operator)
    records = store.get_many("FinanceFirm", [n["firmKey"] for n in nodes])
    complaint_max = 100 * SmokeIndexConfig().weights[3]
    singles = [
        n
        for n in nodes
        if records[n["firmKey"]].attrs["social"]["complaints_12m"] == 1
        and records[n["firmKey"]].attrs["operating"]["customers"] <= 100
    ]
    assert len(singles) > 100
    for n in singles:
        contribution = n["explanation"][3]["contribution"]
        assert 0 < contribution < complaint_max / 2, n
    saturated = sum(n["explanation"][3]["contribution"] >= complaint_max - 1e-9 for n in nodes)
    assert saturated < 2701 // 5  # the dimension tells firms apart


# ----------------------------------------------------------------------------------------------
# Watch list and statistics


def test_the_watch_list_is_every_firm_above_40_riskiest_first(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    _, http, _ = city
    _, nodes = every_firm(http, operator)
    above = {n["firmKey"] for n in nodes if n["score"] > BANDS[0]}
    listed = watch_list(http, operator)
    assert {n["firmKey"] for n in listed} == above and len(listed) == len(above)
    assert [n["score"] for n in listed] == sorted((n["score"] for n in listed), reverse=True)
    for n in listed:
        assert n["watched"] and n["level"] != "NORMAL"
        # on the list now: an open period, entered above the first band
        assert n["watchHistory"] and n["watchHistory"][-1]["leftAt"] is None
        assert n["watchHistory"][-1]["enteredScore"] > BANDS[0]
    for level in ("WATCHED", "WARNING", "ALERT"):
        only = watch_list(http, operator, level)
        assert {n["firmKey"] for n in only} == {
            n["firmKey"] for n in nodes if n["level"] == level and n["watched"]
        }
    # paging: two at a time walks the same list
    page = gql(http, operator, WATCH, first=2)["watchList"]
    nxt = gql(http, operator, WATCH, first=2, after=page["pageInfo"]["endCursor"])["watchList"]
    walked = [e["node"]["firmKey"] for e in page["edges"] + nxt["edges"]]
    assert walked == [n["firmKey"] for n in listed[:4]]


def test_statistics_add_up(city: tuple[Starlette, TestClient, RecordStore], operator: str) -> None:
    _, http, _ = city
    stats = gql(http, operator, STATS)["smokeIndexStats"]
    _, nodes = every_firm(http, operator)
    assert stats["firms"] == len(nodes) == 2701
    assert stats["run"] == nodes[0]["run"]
    by_level = {c["level"]: c["firms"] for c in stats["byLevel"]}
    assert list(by_level) == list(LEVELS)
    assert by_level == {lv: sum(n["level"] == lv for n in nodes) for lv in LEVELS}
    assert sum(by_level.values()) == stats["firms"]
    assert stats["watched"] == sum(by_level[lv] for lv in LEVELS[1:])
    assert stats["watched"] == sum(n["watched"] for n in nodes)
    by_type = {c["firmType"]: (c["firms"], c["watched"]) for c in stats["byType"]}
    assert {t: f for t, (f, _) in by_type.items()} == TYPES
    assert sum(w for _, w in by_type.values()) == stats["watched"]
    for t, (_, w) in by_type.items():
        assert w == sum(n["watched"] for n in nodes if n["firmType"] == t)
    names = {c["firmType"]: c["firmTypeName"] for c in stats["byType"]}
    assert names["leasing"] == "融资租赁" and names["pawn"] == "典当"
    # every firm has a street; the parks hold the firms that have one
    assert sum(c["firms"] for c in stats["byStreet"]) == stats["firms"]
    assert sum(c["watched"] for c in stats["byStreet"]) == stats["watched"]
    assert sum(c["firms"] for c in stats["byPark"]) == sum(1 for n in nodes if n["park"])
    assert sum(c["watched"] for c in stats["byPark"]) == sum(
        1 for n in nodes if n["park"] and n["watched"]
    )
    street = stats["byStreet"][0]
    assert street["firms"] == sum(n["street"] == street["name"] for n in nodes)
    # one type on its own
    total, pawns = every_firm(http, operator, type="pawn")
    assert total == len(pawns) == TYPES["pawn"] and {n["firmType"] for n in pawns} == {"pawn"}


# ----------------------------------------------------------------------------------------------
# A firm's data changes: bands at the boundaries, watch-list history, trend, jumps

# A registry record whose raw values are exact: every compliance check failed (1.0 -> 25
# points), complaints far above 10 per 1,000 clients (-> 15 points), nothing else: 40.0.
BASE_FIRM: dict[str, Any] = {
    "employees": 0,
    "operating": {
        "customers": 0,
        "outstanding_balance_10k_cny": 0.0,
        "report_submitted": False,
        "above_rate_cap": True,
        "advertised_return_rate_pct": None,
    },
    "compliance": {
        "missed_reports_12m": 2,
        "regulatory_penalties_12m": 1,
        "abnormal_operation_listed": True,
        "address_unreachable": True,
        "operating_outside_registered_area": True,
        "executive_changes_12m": 3,
    },
    "social": {"complaints_12m": 200, "negative_news_12m": 0, "online_mentions_30d": 0},
    "marketing": {"risk_keyword_hits_30d": 0},
}


def change_firm(store: RecordStore, key: str, **changes: Any) -> None:
    """The registry sends a changed record of firm ``key``: BASE_FIRM's values, then
    ``changes`` (section.field=value, as ``marketing__risk_keyword_hits_30d=1``)."""
    firm = store.get("FinanceFirm", key)
    assert firm is not None
    attrs = json.loads(json.dumps(firm.attrs))
    for section, values in BASE_FIRM.items():
        if isinstance(values, dict):
            attrs[section].update(values)
        else:
            attrs[section] = values
    for name, value in changes.items():
        section, _, field = name.partition("__")
        if field:
            attrs[section][field] = value
        else:
            attrs[section] = value
    fetched = datetime.now(UTC)
    store.upsert([firm.model_copy(update={"attrs": attrs, "fetched_at": fetched})])


@pytest.fixture(scope="module")
def calm_firm(city: tuple[Starlette, TestClient, RecordStore], operator: str) -> Iterator[str]:
    """A firm at level NORMAL, far from the first band, whose record the tests change; its
    original record is put back afterwards."""
    _, http, store = city
    _, nodes = every_firm(http, operator, type="leasing")
    chosen = next(n for n in nodes if 5 < n["score"] < 20 and not n["watchHistory"])
    original = store.get("FinanceFirm", chosen["firmKey"])
    assert original is not None
    yield chosen["firmKey"]
    store.upsert([original.model_copy(update={"fetched_at": datetime.now(UTC)})])


def test_bands_at_their_boundaries_history_trend_and_jumps(
    city: tuple[Starlette, TestClient, RecordStore], operator: str, calm_firm: str
) -> None:
    _, http, store = city
    key = calm_firm
    before = gql(http, operator, ONE, k=key)["smokeIndex"]
    others = {
        n["firmKey"]: n["score"] for n in every_firm(http, operator)[1] if n["firmKey"] != key
    }
    steps: list[tuple[dict[str, Any], float, str]] = [
        ({}, 40.0, "NORMAL"),  # exactly 40: not above it
        ({"marketing__risk_keyword_hits_30d": 1}, 40 + 20 * math.log(2) / math.log(101), "WATCHED"),
        ({"marketing__risk_keyword_hits_30d": 100}, 60.0, "WATCHED"),  # exactly 60
        ({"marketing__risk_keyword_hits_30d": 100, "operating__advertised_return_rate_pct": 25.2},
         80.0, "WARNING"),  # exactly 80: 25 * (25.2 - 6) / 24 = 20 more
        ({"marketing__risk_keyword_hits_30d": 100, "operating__advertised_return_rate_pct": 30.0},
         85.0, "ALERT"),
        ({}, 40.0, "NORMAL"),  # back to 40: off the list
        ({"marketing__risk_keyword_hits_30d": 100}, 60.0, "WATCHED"),  # on it again
    ]  # fmt: skip
    runs: list[dict[str, Any]] = []
    previous = before["score"]
    for changes, score, level in steps:
        change_firm(store, key, **changes)
        run = rescore(http, operator)
        runs.append(run)
        node = gql(http, operator, ONE, k=key)["smokeIndex"]
        assert node["run"] == run["run"]
        assert node["score"] == pytest.approx(score, abs=1e-6), (changes, node)
        assert node["level"] == level and node["watched"] == (level != "NORMAL")
        assert node["level"] == expected_level(node["score"])
        raw = {d["dimension"]: d["rawValue"] for d in node["explanation"]}
        assert raw["compliance_deviation"] == 1.0 and raw["complaint_rate"] >= 10
        # what the run reports: only this firm changed, so only it can enter, leave or jump
        was_on = previous > BANDS[0]
        assert run["enteredWatchList"] == int(node["watched"] and not was_on)
        assert run["leftWatchList"] == int(was_on and not node["watched"])
        jumped = score - previous >= 15
        assert [j["firmKey"] for j in run["jumps"]] == ([key] if jumped else [])
        if jumped:
            assert run["jumps"][0]["previousScore"] == pytest.approx(previous, abs=1e-6)
            assert run["jumps"][0]["score"] == pytest.approx(score, abs=1e-6)
        previous = score
    assert all("fin-olga" in r["actor"] for r in runs)
    node = gql(http, operator, ONE, k=key)["smokeIndex"]
    # trend: one point per run, oldest first, the run ids the mutations returned
    trend = node["trend"]
    assert [p["run"] for p in trend][-len(runs) - 1 :] == [before["run"]] + [r["run"] for r in runs]
    assert [p["score"] for p in trend][-len(steps) :] == pytest.approx([s for _, s, _ in steps])
    assert [p["level"] for p in trend][-len(steps) :] == [lv for _, _, lv in steps]
    times = [datetime.fromisoformat(p["at"]) for p in trend]
    assert times == sorted(times)
    # history: entered at the 40.004 run, left at the second 40.0 run, entered again
    history = node["watchHistory"]
    assert len(history) == 2
    first, second = history
    assert first["enteredRun"] == runs[1]["run"] and first["leftRun"] == runs[5]["run"]
    assert first["enteredScore"] == pytest.approx(steps[1][1])
    assert first["leftScore"] == pytest.approx(40.0)
    assert datetime.fromisoformat(first["enteredAt"]) < datetime.fromisoformat(first["leftAt"])
    assert second["enteredRun"] == runs[6]["run"] and second["leftAt"] is None
    assert second["enteredScore"] == pytest.approx(60.0)
    # jumps (15 points or more): the calm score -> 40, 40.004 -> 60, 60 -> 80 and 40 -> 60
    # again; not 40 -> 40.004, 80 -> 85 or the falls
    jumped_runs = [r["run"] for r in runs if r["jumps"]]
    assert jumped_runs == [runs[i]["run"] for i in (0, 2, 3, 6)]
    alarms = gql(http, operator, "{ alarms(last: 100) { edges { node { kind severity "
                 "subjectType subjectKey value message } } } }")["alarms"]["edges"]  # fmt: skip
    smoke = [a["node"] for a in alarms if a["node"]["kind"] == "smoke.jump"]
    assert [(a["subjectKey"], a["subjectType"]) for a in smoke] == [(key, "FinanceFirm")] * 4
    assert [a["value"] for a in smoke] == pytest.approx([40.0, 60.0, 80.0, 60.0])
    # severity by the level reached: normal and watched warn, warning alarms, alert critical
    assert [a["severity"] for a in smoke] == ["warning", "warning", "alarm", "warning"]
    assert node["firmName"] in smoke[0]["message"]
    # nobody else moved
    now = {n["firmKey"]: n["score"] for n in every_firm(http, operator)[1] if n["firmKey"] != key}
    assert now == others
    # a lower threshold is the caller's choice: a 5-point rise is then a jump
    change_firm(store, key, marketing__risk_keyword_hits_30d=100,
                operating__advertised_return_rate_pct=6 + 24 * 0.2)  # fmt: skip
    small = rescore(http, operator, 4.0)
    assert small["jumpPoints"] == 4.0
    assert [(j["firmKey"], round(j["score"] - j["previousScore"], 6)) for j in small["jumps"]] == [
        (key, 5.0)
    ]


def test_a_linked_complaint_raises_the_complaint_rate_and_keyword_hits(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    """Complaint rows from the complaints system, naming a firm by credit code or by its exact
    name: counted when they outnumber the registry's count; a risk word in one counts too."""
    _, http, store = city
    _, nodes = every_firm(http, operator, type="factoring")
    firms = store.get_many("FinanceFirm", [n["firmKey"] for n in nodes])
    key = next(
        n["firmKey"]
        for n in reversed(nodes)  # a calm one: no complaints in the registry
        if firms[n["firmKey"]].attrs["social"]["complaints_12m"] == 0
        and firms[n["firmKey"]].attrs["operating"]["customers"] < MIN_CLIENTS
    )
    firm = firms[key].attrs
    before = {
        d["dimension"]: d for d in gql(http, operator, ONE, k=key)["smokeIndex"]["explanation"]
    }
    assert before["complaint_rate"]["rawValue"] == 0.0
    now = datetime.now(UTC)
    complaints = [
        Record(
            kind="Complaint",
            key=f"CMP-FIN-TEST-{i}",
            source_system="complaints",
            source_id=f"TEST{i}",
            fetched_at=now - timedelta(days=i),
            attrs={
                "respondent_name": firm["name"],
                "respondent_uscc": firm["uscc"] if i % 2 == 0 else None,
                "category": "非法集资",
                "content": "业务员承诺保本保息，到期不兑付" if i == 0 else "合同纠纷，拒不退款",
            },
        )
        for i in range(3)
    ]
    store.upsert(complaints)
    rescore(http, operator)
    after = {
        d["dimension"]: d for d in gql(http, operator, ONE, k=key)["smokeIndex"]["explanation"]
    }
    assert after["complaint_rate"]["rawValue"] == pytest.approx(1000 * 3 / MIN_CLIENTS)
    assert after["complaint_rate"]["contribution"] > before["complaint_rate"]["contribution"]
    hits = before["risk_keyword_hits"]["rawValue"]
    assert after["risk_keyword_hits"]["rawValue"] == hits + 1  # one complaint carries a word
    for d in ("compliance_deviation", "social_propagation", "inducement"):
        assert after[d]["rawValue"] == before[d]["rawValue"]


# ----------------------------------------------------------------------------------------------
# The jump alarm reaches a subscriber


async def _subscribe_and_jump(
    base: str, operator: str, store: RecordStore, key: str
) -> dict[str, Any]:
    url = base.replace("http://", "ws://") + "/graphql"
    query = (
        'subscription { alarms(kinds: ["smoke"]) { kind severity subjectType subjectKey value } }'
    )
    async with (
        websockets.connect(url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws,
        httpx.AsyncClient(base_url=base, timeout=60) as http,
    ):
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {operator}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"type": "subscribe", "id": "s", "payload": {"query": query}}))
        for _ in range(10):
            # down to 40 (no alarm), then up to 60: a 20-point jump
            for hits in (0, 100):
                change_firm(store, key, marketing__risk_keyword_hits_30d=hits)
                posted = await http.post(
                    "/graphql", json={"query": RESCORE}, headers=bearer(operator)
                )
                assert posted.status_code == 200 and "errors" not in posted.json(), posted.text
            try:
                message = json.loads(await asyncio.wait_for(ws.recv(), 2.0))
            except TimeoutError:
                continue  # the subscription was not listening yet
            await ws.send(json.dumps({"type": "complete", "id": "s"}))
            return dict(message)
    raise AssertionError("no smoke.jump alarm reached the subscriber")


def test_a_jump_alarm_reaches_an_alarms_subscriber(
    city: tuple[Starlette, TestClient, RecordStore], operator: str, calm_firm: str
) -> None:
    app, _, store = city
    with served(app) as base:
        message = asyncio.run(_subscribe_and_jump(base, operator, store, calm_firm))
    assert message["type"] == "next", message
    alarm = message["payload"]["data"]["alarms"]
    assert alarm == {
        "kind": "smoke.jump",
        "severity": "warning",  # level WATCHED
        "subjectType": "FinanceFirm",
        "subjectKey": calm_firm,
        "value": pytest.approx(60.0),
    }


# ----------------------------------------------------------------------------------------------
# Policies


def test_a_partner_sees_the_scores_and_no_personal_data(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    app, http, _ = city
    partner = token(app, http, "fin-partner", role="partner")
    mine = watch_list(http, partner)
    assert [n["firmKey"] for n in mine] == [n["firmKey"] for n in watch_list(http, operator)]
    key = mine[0]["firmKey"]
    assert gql(http, partner, ONE, k=key) == gql(http, operator, ONE, k=key)
    # the finance types expose no personal field (firms are legal persons; no legal
    # representative's name or phone is served): every field declares a lower class
    from hub.apps.finance import types

    for gql_type in (
        types.SmokeIndexType,
        types.SmokeDimension,
        types.SmokeTrendPoint,
        types.WatchPeriod,
        types.SmokeIndexStats,
        types.SmokeJump,
    ):
        for f in gql_type.__strawberry_definition__.fields:  # type: ignore[attr-defined]
            assert f.metadata.get("classification") in ("public", "internal"), (gql_type, f)


def test_an_aggregate_only_partner_gets_counts_and_no_rows(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    """policies/demo-partner.toml: every type but the grid's is counts only."""
    from hub.auth.accounts import AccountStore
    from hub.cli.auth import DEMO_PARTNER

    app, http, _ = city
    client_id, secret = DEMO_PARTNER
    if AccountStore(app.state.store.engine).client(client_id) is None:
        register_client(app, client_id, client_id=client_id, secret=secret, role="partner")
    demo = fetch_token(http, client_id, secret)
    ops_stats = gql(http, operator, STATS)["smokeIndexStats"]
    counted = gql(http, demo, STATS)["smokeIndexStats"]
    # counts only: the same figures, but no group (nor a group's watched firms) below the
    # policy's k = 5, nor one that would give such a group away (policies/README.md)
    assert counted["firms"] == ops_stats["firms"] and counted["watched"] == ops_stats["watched"]
    small = 0
    for name in ("byStreet", "byPark"):
        exact = {g["name"]: g for g in ops_stats[name]}
        shown = {g["name"]: g for g in counted[name]}
        assert set(shown) <= set(exact)
        for key, group in shown.items():
            assert group["firms"] >= 5 and group["firms"] == exact[key]["firms"]
            assert group["watched"] in (None, exact[key]["watched"])
        for key, group in exact.items():
            if 0 < group["watched"] < 5:  # a street's 1-4 watched firms are never told
                small += 1
                assert shown.get(key, {}).get("watched") is None
    assert small
    page = gql(http, demo, WATCH)["watchList"]
    assert page["totalCount"] == ops_stats["watched"] > 0
    assert page["edges"] == []
    assert page["pageInfo"] == {"hasNextPage": False, "endCursor": None}
    everything = gql(http, demo, ALL)["smokeIndexes"]
    assert everything["totalCount"] == 2701 and everything["edges"] == []
    key = watch_list(http, operator)[0]["firmKey"]
    assert gql(http, demo, ONE, k=key) == {"smokeIndex": None}


def own_policy(app: Starlette, http: TestClient, name: str, rules: str) -> str:
    """A client governed by a policy of its own (published by a steward): its token."""
    client_id, secret = register_client(app, f"{name}-{time.monotonic_ns()}", role="partner")
    source = (
        f'name = "{name}-{time.monotonic_ns()}"\nsubject = "client:{client_id}"\n'
        f'clearance = "internal"\n'
        f'principals = {{ "client:{client_id}" = {{ street = "{STREET}" }} }}\n'
        f'{rules}\n[types."*"]\nfields = ["*"]\n'
    )
    workflow = app.state.policy_workflow
    draft = workflow.draft(source, author="user:fin-steward", reason="finance test")
    publish_approved(
        workflow, draft.name, draft.version, author="user:fin-steward", reason="finance test"
    )
    return fetch_token(http, client_id, secret)


STREET = "新港街道"


def test_a_steward_s_row_filter_and_counts_only_on_the_smoke_index_type(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    """A policy names the type as the schema does (SmokeIndex): its row filter hides the other
    streets' firms from every read and count; counts-only leaves counts and no rows."""
    app, http, _ = city
    street_app = own_policy(
        app,
        http,
        "fin-street",
        '[types.SmokeIndex]\nfields = ["*"]\nrow_filter = "record.street == principal.street"',
    )
    _, nodes = every_firm(http, operator)
    here = [n for n in nodes if n["street"] == STREET]
    elsewhere = next(n for n in nodes if n["street"] != STREET)
    assert 0 < len(here) < len(nodes)
    stats = gql(http, street_app, STATS)["smokeIndexStats"]
    assert stats["firms"] == len(here)
    assert stats["watched"] == sum(n["watched"] for n in here)
    assert [c["name"] for c in stats["byStreet"]] == [STREET]
    total, mine = every_firm(http, street_app)
    assert total == len(here) and [n["firmKey"] for n in mine] == [n["firmKey"] for n in here]
    listed = watch_list(http, street_app)
    assert {n["firmKey"] for n in listed} == {n["firmKey"] for n in here if n["watched"]}
    assert gql(http, street_app, ONE, k=elsewhere["firmKey"]) == {"smokeIndex": None}
    assert gql(http, street_app, ONE, k=here[0]["firmKey"])["smokeIndex"] == here[0]

    counts_only = own_policy(app, http, "fin-counts", "[types.SmokeIndex]\naggregate_only = true")
    page = gql(http, counts_only, WATCH)["watchList"]
    assert page["edges"] == [] and page["totalCount"] == sum(n["watched"] for n in nodes)
    assert gql(http, counts_only, ONE, k=here[0]["firmKey"]) == {"smokeIndex": None}
    assert gql(http, counts_only, STATS)["smokeIndexStats"]["firms"] == 2701


# ----------------------------------------------------------------------------------------------
# Bad input


def test_bad_input_gets_a_clear_error(
    city: tuple[Starlette, TestClient, RecordStore], operator: str
) -> None:
    app, http, _ = city
    department = token(app, http, "fin-dept", role="department")
    assert "no quasi-financial firm" in error(http, operator, ONE, k="FIN-9999999")
    assert "no quasi-financial firm" in error(http, operator, ONE, k="")
    assert "between 0 and 1000" in error(http, operator, WATCH, first=-1)
    assert "between 0 and 1000" in error(http, operator, WATCH, first=5000)
    assert "level is 1..3" in error(http, operator, WATCH, level="NORMAL")
    assert "invalid cursor" in error(http, operator, WATCH, after="not-a-cursor")
    off_list = every_firm(http, operator, level="NORMAL")[1][0]
    from schema.connection import encode_cursor

    assert "start again" in error(http, operator, WATCH, after=encode_cursor(off_list["firmKey"]))
    assert "unknown firm type 'bank'" in error(http, operator, ALL, type="bank")
    assert "SmokeLevel" in error(http, operator, WATCH, level="RED")  # not an enum value
    # the department's policy names no rescoring (the seeds give it to operators only)
    assert "rescore on SmokeIndex is not yours" in error(http, department, RESCORE)
    assert "positive" in error(http, operator, RESCORE, j=0.0)
    assert "positive" in error(http, operator, RESCORE, j=-5.0)
    # no token: no data
    anonymous = http.post("/graphql", json={"query": STATS})
    assert anonymous.status_code == 401 or "errors" in anonymous.json()
