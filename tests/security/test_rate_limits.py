"""Issue 13 item 5: rate limits per person, not per client, with truthful headers; Open311
filings and photo uploads limited per principal."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.auth.principal import Principal
from hub.auth.ratelimit import RateLimiter
from tests.apps.citizen_app.test_citizen_app import png
from tests.auth.conftest import Hub
from tests.auth_helpers import bearer, fetch_token, person_token, register_client
from tests.fanout.test_fanout_conformance import BACKENDS, backend_url
from tests.security.small_hub import LAT, LON, small_hub

QUERY = {"query": "{ __typename }"}
PER_MINUTE = 20  # people and clients alike, here (a client may have its own)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    folder: Path = tmp_path_factory.mktemp("rates")
    with small_hub(
        folder, rate_per_minute=str(PER_MINUTE), person_rate_per_minute=str(PER_MINUTE)
    ) as h:
        yield h


def _client(hub: Hub, name: str, per_minute: int = 1000) -> dict[str, str]:
    client_id, secret = register_client(hub.app, name, rate_per_minute=per_minute)
    return bearer(fetch_token(hub.http, client_id, secret))


def test_a_viewer_spending_their_bucket_leaves_the_operator_served(hub: Hub) -> None:
    """Attack: one ops-centre viewer floods /graphql through the shared public client (a
    viewer spent its 600/min in 2.4 s and locked the operator out). Each person has a bucket
    of their own: the viewer is refused, the operator on the same client is still served."""
    viewer = bearer(person_token(hub.http, hub.app, "vera", "partner-viewer", "graph:read"))
    operator = bearer(person_token(hub.http, hub.app, "otto", "operator", "graph:read"))
    codes = [hub.http.post("/graphql", json=QUERY, headers=viewer).status_code for _ in range(25)]
    assert codes == [200] * PER_MINUTE + [429] * 5
    served = hub.http.post("/graphql", json=QUERY, headers=operator)
    assert served.status_code == 200, served.text
    assert served.headers["ratelimit-remaining"] == str(PER_MINUTE - 1)
    refused = hub.http.post("/graphql", json=QUERY, headers=viewer)
    assert refused.status_code == 429 and "your own" in refused.json()["errors"][0]["message"]


def test_rate_headers_tell_the_truth_on_answers_and_refusals(hub: Hub) -> None:
    """Attack on the contract: a client told ``Retry-After: 60`` whatever the window, and
    given no ``RateLimit-*`` headers, cannot pace itself. Every answer carries the limit, what
    is left and when a slot frees; a refusal's Retry-After is the real rest of the window."""
    headers = _client(hub, "pacer", per_minute=3)
    first_at = time.time()
    first = hub.http.post("/graphql", json=QUERY, headers=headers)
    assert first.status_code == 200
    assert (first.headers["ratelimit-limit"], first.headers["ratelimit-remaining"]) == ("3", "2")
    assert 59 <= int(first.headers["ratelimit-reset"]) <= 60
    time.sleep(2.2)
    left = [
        hub.http.post("/graphql", json=QUERY, headers=headers).headers["ratelimit-remaining"]
        for _ in range(2)
    ]
    assert left == ["1", "0"]
    refused = hub.http.post("/graphql", json=QUERY, headers=headers)
    assert refused.status_code == 429
    expected = math.ceil(first_at + 60 - time.time())
    retry = int(refused.headers["retry-after"])
    assert abs(retry - expected) <= 1 and retry <= 58, (retry, expected)
    assert refused.headers["ratelimit-remaining"] == "0"
    assert refused.headers["ratelimit-reset"] == refused.headers["retry-after"]


def test_the_41st_open311_filing_is_refused(hub: Hub) -> None:
    """Attack: 40 Open311 filings in a row all went through (a flood of fake cases). Filings
    are limited per principal (20 an hour by default): the rest get 429 with Retry-After, in
    the spec's error format, and another principal still files."""
    spammer = _client(hub, "spam-app")
    form = {"service_code": "C08-02", "lat": str(LAT), "long": str(LON), "description": "路灯坏"}
    answers = [
        hub.http.post("/open311/v2/requests.json", data=form, headers=spammer) for _ in range(41)
    ]
    codes = [a.status_code for a in answers]
    assert codes == [201] * 20 + [429] * 21, codes
    last = answers[-1]
    assert 3590 <= int(last.headers["retry-after"]) <= 3600
    assert last.json()[0]["code"] == 429 and "filings" in last.json()[0]["description"]
    assert answers[0].headers["ratelimit-limit"] == "20"
    other = hub.http.post("/open311/v2/requests.json", data=form, headers=_client(hub, "civic"))
    assert other.status_code == 201, other.text


def test_the_31st_photo_upload_is_refused(hub: Hub) -> None:
    """Attack: 30 photo uploads in a row went through (filling the photo folder). Uploads are
    limited per principal (20 an hour by default), refused with 429 before the body is read;
    another principal still uploads."""
    uploader = _client(hub, "photo-spammer")
    image = {"Content-Type": "image/png"}
    codes = [
        hub.http.post(
            "/citizen-app/v1/photos", content=png(4, 3, (i, 9, 9)), headers=uploader | image
        ).status_code
        for i in range(31)
    ]
    assert codes == [201] * 20 + [429] * 11, codes
    refused = hub.http.post("/citizen-app/v1/photos", content=png(), headers=uploader | image)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 3000
    assert "photos" in refused.json()["description"]
    other = hub.http.post(
        "/citizen-app/v1/photos", content=png(), headers=_client(hub, "phone") | image
    )
    assert other.status_code == 201, other.text


def _person(name: str) -> Principal:
    when = datetime.now(UTC)
    return Principal(name, "ops-centre", "person", ("operator",), frozenset(), "j", when)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_every_worker_counts_in_the_same_personal_bucket(backend: str) -> None:
    """Attack: spreading a flood over the hub's workers (each with its own counters) to get
    the limit once per worker. Workers share each person's bucket (Redis between processes),
    and one person's flood leaves another's bucket whole."""
    url = backend_url(backend)
    first = RateLimiter(url, person_rate_per_minute=4)
    second = first if backend == "memory" else RateLimiter(url, person_rate_per_minute=4)
    try:
        flood = [await worker.hit(_person("vera")) for worker in (first, second) * 3]
        assert [d.allowed for d in flood] == [True] * 4 + [False] * 2
        assert [d.remaining for d in flood] == [3, 2, 1, 0, 0, 0]
        assert 59 <= flood[-1].reset_s <= 60
        other = await second.hit(_person("otto"))
        assert other.allowed and other.remaining == 3
    finally:
        await first.close()
        if second is not first:
            await second.close()
