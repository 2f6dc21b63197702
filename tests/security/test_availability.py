"""Availability of the GraphQL endpoint (step 9, items 1 and 2): documents and arguments that
make the hub work far more than their size suggests are refused before that work, and what is
allowed never holds the event loop long enough to keep ``/healthz`` waiting."""

from __future__ import annotations

import base64
import io
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from graphql import parse
from PIL import Image

from hub.auth.document_shape import ShapeLimits, expanded_selections, shape_problem
from hub.auth.field_costs import FIELD_COSTS
from hub.auth.limits import estimate_cost
from hub.graphql_schema import build_schema
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, register_client
from tests.live_server import served

FAST_S = 1.0  # generous for a loaded CI machine; the refusals measure in milliseconds
# GraphQL over HTTP: a request error is a 400 for this media type (200 for plain JSON)
GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}


def fragment_bomb(levels: int) -> str:
    """Each fragment spreads the next one twice: 2^levels selections from ~40 bytes a level."""
    lines = ["query Bomb { ...F0 }"]
    lines += [f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)]
    lines.append(f"fragment F{levels} on Query {{ __typename }}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def partner(hub: Hub) -> dict[str, str]:
    client_id, secret = register_client(hub.app, "availability-partner", scopes=["graph:read"])
    return bearer(fetch_token(hub.http, client_id, secret)) | GRAPHQL_RESPONSE


def timed_post(hub: Hub, headers: dict[str, str], body: dict[str, Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    response = hub.http.post("/graphql", json=body, headers=headers)
    return response, time.perf_counter() - started


@pytest.mark.parametrize("levels", [22, 30])
def test_fragment_bomb_is_refused_fast(hub: Hub, partner: dict[str, str], levels: int) -> None:
    """Attack: a ~900-byte fragment bomb (22 levels, 2^22 selections; 30 levels, 2^30) made
    the cost estimator and the depth / alias validators expand every spread on the event loop
    (15 s at 22 levels before this change, doubling with each level)."""
    query = fragment_bomb(levels)
    assert len(query) < 1300
    response, took = timed_post(hub, partner, {"query": query})
    print(f"fragment bomb, {levels} levels ({len(query)} bytes): {took * 1000:.1f} ms")
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "document_limit"
    assert "selections once the document's fragments are expanded" in error["message"]
    assert took < FAST_S


def test_many_fragments_or_spreads_are_refused_before_validation(
    hub: Hub, partner: dict[str, str]
) -> None:
    """Attack: a document of hundreds of fragments or spreads, which graphql-core's validation
    (OverlappingFieldsCanBeMerged compares spread fragments pairwise) walks in super-linear
    time: refused by a linear count first."""
    many = "query { ...F0 } " + " ".join(
        f"fragment F{i} on Query {{ __typename }}" for i in range(40)
    )
    response, took = timed_post(hub, partner, {"query": many})
    assert response.status_code == 400, response.text
    assert "40 fragments in one document; at most 32" in response.json()["errors"][0]["message"]
    spreads = "query { " + "...F " * 200 + "} fragment F on Query { __typename }"
    response, took = timed_post(hub, partner, {"query": spreads})
    assert response.status_code == 400, response.text
    assert "200 fragment spreads" in response.json()["errors"][0]["message"]
    assert took < FAST_S


def test_fragment_cycle_is_refused_by_validation(hub: Hub, partner: dict[str, str]) -> None:
    """Attack: fragments that spread each other in a cycle (the estimator must not loop; the
    standard NoFragmentCycles rule refuses the document)."""
    cycle = (
        "query { ...A } fragment A on Query { __typename ...B } "
        "fragment B on Query { __typename ...A }"
    )
    response, took = timed_post(hub, partner, {"query": cycle})
    assert response.status_code == 400, response.text
    assert "Cannot spread fragment 'A' within itself" in response.text
    assert took < FAST_S


def test_each_fragment_is_costed_once() -> None:
    """Attack: the 2^n bomb under the expansion cap of the shape check, priced by the
    estimator alone: the cost is exact (2^n) and found in time linear in the document, and
    with a budget the count stops as soon as it passes it."""
    document = parse(fragment_bomb(60))
    started = time.perf_counter()
    assert estimate_cost(document, None, {}) == 2**60
    assert 50_000 < estimate_cost(document, None, {}, limit=50_000) <= 2 * 50_000
    assert expanded_selections(document, 10_000) == 10_001
    assert shape_problem(document, ShapeLimits(100, 200, 10_000)) is not None
    assert time.perf_counter() - started < 0.1
    # a fragment reused in a page is scaled, as the estimator always did
    paged = parse(
        "{ gridCells(first: 10) { edges { node { ...C } } } } fragment C on GridCell { code name }"
    )
    assert estimate_cost(paged, None, {}) == 1 + 10 * (1 + 1 + 2)


def test_declared_costs_name_fields_of_the_schema() -> None:
    """Attack: an expensive field renamed or moved, so its declared cost silently falls back
    to 1 point and aliases of it pass the budget again."""
    schema = build_schema(max_depth=12, tracer_provider=None)._schema
    for name in FIELD_COSTS:
        type_name, field = name.split(".")
        owner = schema.get_type(type_name)
        assert owner is not None and field in owner.fields, name


def stats_aliases(count: int) -> str:
    fields = "applications decided averageHours byDepartment { department applications }"
    return "{ " + " ".join(f"s{i}: govServiceStats {{ {fields} }}" for i in range(count)) + " }"


def test_aliases_of_statistics_over_the_budget_are_refused(
    hub: Hub, partner: dict[str, str]
) -> None:
    """Attack: a statistic over whole tables that cost a few points, asked for under many
    aliases (3 aliases of govServiceStats took 23 s): each now costs what it reads, so the
    budget refuses the document before any of it runs."""
    response, took = timed_post(hub, partner, {"query": stats_aliases(11)})
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "cost_limit"
    assert error["extensions"]["cost"] > 50_000
    assert took < FAST_S
    one, _ = timed_post(hub, partner, {"query": stats_aliases(1)})
    assert one.status_code == 200 and "errors" not in one.json(), one.text


SEARCH = "query($q: String!) { search(query: $q, first: 5) { totalCount } }"


def test_oversized_strings_are_refused(hub: Hub, partner: dict[str, str]) -> None:
    """Attack: a 180 KB search string passed as a variable (4-5 s of CPU per alias), and
    long strings in any other argument, literal or nested in an input object."""
    cases: list[tuple[dict[str, Any], str]] = [
        ({"query": SEARCH, "variables": {"q": "路口" * 90 + "x" * 180_000}}, "Query.search.query"),
        ({"query": SEARCH, "variables": {"q": "x" * 257}}, "longer than 256 characters"),
        ({"query": '{ search(query: "%s") { totalCount } }' % ("y" * 300)}, "Query.search.query"),
        ({"query": '{ gridCell(key: "%s") { code } }' % ("k" * 5000)}, "longer than 4096"),
        (
            {
                "query": "query($f: ServiceItemFilterInput) { serviceItems(filter: $f) "
                "{ totalCount } }",
                "variables": {"f": {"text": "t" * 1000}},
            },
            "ServiceItemFilterInput.text is longer than 256",
        ),
    ]
    for body, needle in cases:
        response, took = timed_post(hub, partner, body)
        assert response.status_code == 400, response.text
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "string_limit", error
        assert needle in error["message"]
        assert "路路" not in response.text and "kkk" not in response.text  # never echoed
        assert took < FAST_S
    ok, _ = timed_post(hub, partner, {"query": SEARCH, "variables": {"q": "滨海" * 100}})
    assert ok.status_code == 200 and "errors" not in ok.json(), ok.text


def test_a_photo_may_be_longer_than_the_general_string_cap(
    hub: Hub, partner: dict[str, str]
) -> None:
    """The citizen app's base64 photo is meant to exceed 4 KiB (the body limit and the photo
    checks bound it): the string cap must not refuse it."""
    noise = Image.effect_noise((64, 64), 80).convert("RGB")
    png = io.BytesIO()
    noise.save(png, format="PNG")
    photo = base64.b64encode(png.getvalue()).decode()
    assert len(photo) > 8192
    response = hub.http.post(
        "/graphql",
        json={
            "query": "mutation($p: String!) { uploadSnapPhoto(contentBase64: $p) { bytes } }",
            "variables": {"p": photo},
        },
        headers=partner,
    )
    assert response.status_code == 200, response.text
    assert response.json()["data"]["uploadSnapPhoto"]["bytes"] > 0


TANKS = (
    "{ hazchemTanksInAlarm { key tankNo substance { name } level { valueM at alarms } "
    "limits { highM lowM } site { name } } }"
)
TRUCKS = (
    "{ muckTrucks(first: 100) { edges { node { key plate status position { lon lat } "
    "trajectory(last: 50) { at lon lat } site { name } dump { name } } } } }"
)
SEARCHES = (
    "query($q: String!) { "
    + " ".join(f"s{i}: search(query: $q, first: 20) {{ totalCount }}" for i in range(10))
    + " }"
)


def test_no_request_keeps_healthz_waiting(demo_app: Any) -> None:
    """Attack: fragment bombs, the most expensive requests the budget allows (statistics under
    aliases, the unpaged tanks in alarm, a page of muck trucks with their trajectories), long
    search strings and 180 KB ones, all at once against a real uvicorn serving the demo city,
    while /healthz is asked every 10 ms: the loop must answer it throughout (the issue's target
    is 100 ms; the bound here is generous for a loaded CI machine, the figures are printed)."""
    client_id, secret = register_client(
        demo_app, "availability-ops", role="department", scopes=["graph:read"]
    )
    attacks: list[tuple[str, dict[str, Any], bool]] = [
        ("fragment bomb 22", {"query": fragment_bomb(22)}, False),
        ("fragment bomb 30", {"query": fragment_bomb(30)}, False),
        ("9 x govServiceStats", {"query": stats_aliases(9)}, True),
        ("tanks in alarm", {"query": TANKS}, True),
        ("muck trucks page", {"query": TRUCKS}, True),
        ("10 searches of 256 chars", {"query": SEARCHES, "variables": {"q": "港" * 256}}, True),
        ("180 KB search", {"query": SEARCH, "variables": {"q": "x" * 180_000}}, False),
    ]
    waits: list[float] = []
    took: dict[str, float] = {}
    stop = threading.Event()
    with served(demo_app) as base, httpx.Client(base_url=base, timeout=120) as http:
        token = http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
        ).json()["access_token"]
        headers = bearer(token) | GRAPHQL_RESPONSE

        def ask_health() -> None:
            with httpx.Client(base_url=base, timeout=30) as own:
                while not stop.is_set():
                    started = time.perf_counter()
                    assert own.get("/healthz").status_code == 200
                    waits.append(time.perf_counter() - started)
                    time.sleep(0.01)

        def attack(name: str, body: dict[str, Any], allowed: bool) -> None:
            with httpx.Client(base_url=base, timeout=120, headers=headers) as own:
                for _ in range(2):
                    started = time.perf_counter()
                    response = own.post("/graphql", json=body)
                    took[name] = max(took.get(name, 0.0), time.perf_counter() - started)
                    answer = response.json()
                    if allowed:
                        assert response.status_code == 200 and "errors" not in answer, (
                            name,
                            response.text[:300],
                        )
                    else:
                        assert response.status_code == 400, (name, response.text[:300])

        pinger = threading.Thread(target=ask_health)
        pinger.start()
        time.sleep(0.2)
        try:
            with ThreadPoolExecutor(len(attacks)) as pool:
                for done in [pool.submit(attack, *a) for a in attacks]:
                    done.result()
        finally:
            stop.set()
            pinger.join()
    worst = max(waits)
    ordered = sorted(waits)
    p99 = ordered[int(len(ordered) * 0.99)]
    print(f"\n/healthz: {len(waits)} asked, worst wait {worst * 1000:.0f} ms, p99 {p99 * 1000:.0f}")
    for name, seconds in took.items():
        print(f"  {name}: worst request {seconds * 1000:.0f} ms")
    assert worst < 1.0
