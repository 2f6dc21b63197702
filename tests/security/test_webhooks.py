"""Hostile tests of the webhook receiver (issue 13 item 4): ``POST /webhooks/{system}`` reads
no more than its limit of a body, checks the signature on a digest fed as the body streams
in, and takes a signed delivery once — a replay inside the window is refused, in every
worker (the ids are in the store).

The app is called as ASGI with a ``receive`` that counts the chunks it hands over, so "not
read whole" is measured, not assumed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from starlette.applications import Starlette
from starlette.testclient import TestClient

from connectors.transports.webhook import MAX_BODY_BYTES, sign
from hub.app import create_app
from hub.config import load_settings
from hub.ingest.tables import webhook_deliveries
from hub.store import RecordStore
from tests.hub.city import small_city

SYSTEM = "service-hotline"  # a push-mode system (signed webhooks)
SECRET = "hotline-webhook-secret"
PATH = f"/webhooks/{SYSTEM}"
MiB = 1024 * 1024


@dataclass
class Receiver:
    app: Starlette
    http: TestClient
    store: RecordStore
    settings: Any
    url: str


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Receiver]:
    folder: Path = tmp_path_factory.mktemp("webhooks")
    endpoints = folder / "endpoints.json"
    # the source's URL is never called: a push needs only its secret
    system = {"url": "http://127.0.0.1:9", "secret": SECRET}
    endpoints.write_text(json.dumps({"systems": {SYSTEM: system}}))
    url = f"sqlite:///{folder / 'hub.db'}"
    store = RecordStore.from_url(url)
    store.migrate()
    store.upsert(small_city())
    settings = load_settings(data_dir=folder, sources=endpoints)
    app = create_app(settings, store=store)
    with TestClient(app) as http:
        yield Receiver(app, http, store, settings, url)


def delivery(delivery_id: str, case_key: str) -> bytes:
    event = {
        "eventType": "upsert", "caseKey": case_key, "workOrderNo": case_key,
        "channel": "hotline", "content": "新港路路灯不亮", "lng": 117.70, "lat": 39.02,
        "reportedAt": "2026-11-25T08:00:00+08:00", "updatedAt": "2026-11-25T08:00:00+08:00",
    }  # fmt: skip
    body = {"delivery": delivery_id, "sequence": 1, "events": [event], "final": True}
    return json.dumps(body, ensure_ascii=False).encode()


def stored(hub: Receiver, key: str) -> int:
    with hub.store.engine.connect() as conn:
        found = conn.execute(text("SELECT count(*) FROM records WHERE key = :k"), {"k": key})
        return int(found.scalar_one())


async def _post(
    app: Starlette, headers: dict[str, str], chunks: Iterable[bytes]
) -> tuple[int, int, dict[str, Any]]:
    """POST the chunks to the app as ASGI: (status, chunks the app read, JSON answer)."""
    source = iter(chunks)
    read = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = next(source, None)
        if chunk is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        read += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    answer: dict[str, Any] = {}
    body = bytearray()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer["status"] = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": PATH, "raw_path": PATH.encode(), "root_path": "",
        "query_string": b"", "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 40000),
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
    }  # fmt: skip
    await app(scope, receive, send)
    return answer["status"], read, json.loads(body or b"{}")


def post_chunks(
    hub: Receiver, headers: dict[str, str], chunks: Iterable[bytes]
) -> tuple[int, int, dict[str, Any]]:
    return asyncio.run(_post(hub.app, headers, chunks))


# -- size -------------------------------------------------------------------------------


def test_an_oversized_body_is_refused_before_it_is_read_whole(hub: Receiver) -> None:
    """Attack: a 100 MB body posted to the webhook endpoint, which read every byte into
    memory before checking the signature (507 → 626 MiB). A declared Content-Length over
    the limit is refused with 413 before a byte is read; a chunked body with no length is
    refused as soon as it passes the limit; an unsigned one is refused on its headers."""
    chunk = b"x" * MiB
    signed = sign(SECRET, b"whatever", None)  # signed headers, fresh timestamp

    declared = signed | {"Content-Length": str(100 * MiB)}
    status, read, answer = post_chunks(hub, declared, (chunk for _ in range(100)))
    assert (status, read) == (413, 0)
    assert "at most" in answer["error"]

    status, read, answer = post_chunks(hub, signed, (chunk for _ in range(100)))
    assert status == 413
    assert read <= MAX_BODY_BYTES // MiB + 1  # stopped at the limit, not at 100 MiB

    unsigned = {"Content-Type": "application/json"}
    status, read, _ = post_chunks(hub, unsigned, (chunk for _ in range(100)))
    assert (status, read) == (401, 0)


def test_the_signature_is_checked_on_the_streamed_body(hub: Receiver) -> None:
    """Attack: a forged delivery (wrong secret), and a genuine one whose body was altered
    in transit, sent in chunks. The digest fed chunk by chunk refuses both with 401 and
    nothing is stored; the genuine body in chunks is taken. (The signature was checked
    before this change too, on the whole body.)"""
    body = delivery("sig-1", "RX-SEC-SIG")
    pieces = [body[i : i + 16] for i in range(0, len(body), 16)]
    forged = post_chunks(hub, sign("not-the-secret", body), pieces)
    altered = post_chunks(hub, sign(SECRET, body), [*pieces[:-1], pieces[-1] + b" "])
    assert forged[0] == 401 and altered[0] == 401
    assert altered[2]["error"] == "signature mismatch"
    assert stored(hub, "RX-SEC-SIG") == 0
    taken = post_chunks(hub, sign(SECRET, body), pieces)
    assert taken[0] == 202, taken
    assert stored(hub, "RX-SEC-SIG") == 1


# -- replays ----------------------------------------------------------------------------


def test_a_replayed_delivery_is_refused_in_every_worker(hub: Receiver) -> None:
    """Attack: a signed delivery captured on the wire and posted again inside the five-minute
    window — as it was (same headers), and re-sent with a fresh timestamp the way a sender's
    retry looks — to this worker and to another worker over the same store. Each replay gets
    409 and takes nothing; a fresh delivery is still taken."""
    body = delivery("replay-1", "RX-SEC-REPLAY")
    headers = sign(SECRET, body)
    first = hub.http.post(PATH, content=body, headers=headers)
    assert first.status_code == 202, first.text
    runs = _runs(hub)

    again = hub.http.post(PATH, content=body, headers=headers)
    assert again.status_code == 409
    assert "taken already" in again.json()["error"]
    resent = hub.http.post(PATH, content=body, headers=sign(SECRET, body, None))
    assert resent.status_code == 409
    other_worker = create_app(hub.settings, store=RecordStore.from_url(hub.url))
    with TestClient(other_worker) as http:
        elsewhere = http.post(PATH, content=body, headers=headers)
    assert elsewhere.status_code == 409
    assert _runs(hub) == runs  # no replay became a run

    fresh = delivery("replay-2", "RX-SEC-FRESH")
    taken = hub.http.post(PATH, content=fresh, headers=sign(SECRET, fresh))
    assert taken.status_code == 202, taken.text
    assert stored(hub, "RX-SEC-FRESH") == 1 and _runs(hub) == runs + 1


def test_a_delivery_without_an_id_cannot_be_replayed_either(hub: Receiver) -> None:
    """Attack: the replay of a signed delivery that carries no ``delivery`` id (a sender
    that never numbers them). The signature itself names it: the copy gets 409."""
    body = json.dumps({"events": [], "final": True}).encode()
    headers = sign(SECRET, body)
    assert hub.http.post(PATH, content=body, headers=headers).status_code == 202
    assert hub.http.post(PATH, content=body, headers=headers).status_code == 409


def test_delivery_ids_are_kept_for_the_window_only(hub: Receiver) -> None:
    """Attack on the store: a sender (or an attacker with a valid secret) pushing deliveries
    for days grows the replay table without end. Ids older than the window (twice the
    timestamp tolerance, after which the timestamp is refused anyway) are pruned."""
    old = datetime.now(UTC) - timedelta(hours=1)
    with hub.store.engine.begin() as conn:
        conn.execute(
            insert(webhook_deliveries).values(system=SYSTEM, delivery_id="old-1", seen_at=old)
        )
    body = delivery("prune-1", "RX-SEC-PRUNE")
    assert hub.http.post(PATH, content=body, headers=sign(SECRET, body)).status_code == 202
    with hub.store.engine.connect() as conn:
        ids = set(conn.execute(select(webhook_deliveries.c.delivery_id)).scalars())
    assert "old-1" not in ids and "prune-1" in ids


def _runs(hub: Receiver) -> int:
    with hub.store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM sync_runs WHERE connector = :c"), {"c": SYSTEM}
        )
        return int(found.scalar_one())


async def test_a_delivery_that_could_not_be_taken_may_be_sent_again() -> None:
    """Guard (nothing lost): the replay check must not turn a failed delivery into a lost
    one. A delivery the hub could not store (503) is forgotten, so the sender's retry of
    the same signed delivery is taken, once."""
    from connectors.transports.webhook import DeliveryError, receiver_app

    taken: list[dict[str, Any]] = []

    async def take(system: str, got: dict[str, Any]) -> None:
        if not taken and not getattr(take, "failed", False):
            take.failed = True  # type: ignore[attr-defined]
            raise DeliveryError("store unavailable", 503)
        taken.append(got)

    body = delivery("retry-1", "RX-SEC-RETRY")
    headers = sign("k", body)
    with TestClient(receiver_app({SYSTEM: "k"}, take)) as http:
        statuses = [http.post(PATH, content=body, headers=headers).status_code for _ in range(3)]
    assert statuses == [503, 202, 409]
    assert len(taken) == 1


async def test_a_fast_source_waits_for_the_sync_instead_of_piling_up() -> None:
    """Attack (on memory): a source pushes its whole backlog at once while the sync is still
    storing the first page, and the sync's loopback receiver queued every delivery. It now
    holds a few (PENDING_DELIVERIES); the source's POSTs wait for the sync, and every
    delivery still arrives, in order."""
    import httpx
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from connectors.mapping import KindMapping
    from connectors.transports.localserver import LocalServer
    from connectors.transports.webhook import PENDING_DELIVERIES, WebhookTransport

    answered = 0
    pushing: list[asyncio.Task[None]] = []

    async def push(callback: str) -> None:
        nonlocal answered
        async with httpx.AsyncClient(timeout=30) as client:
            for n in range(1, 31):
                events = [{"id": f"T-{n}", "pad": "x" * 10_000}]
                body = json.dumps(
                    {"delivery": f"d-{n}", "sequence": n, "events": events, "final": n == 30}
                ).encode()
                await client.post(callback, content=body, headers=sign("k", body))
                answered += 1

    async def subscribe(request: Request) -> JSONResponse:
        pushing.append(asyncio.create_task(push((await request.json())["callback"])))
        return JSONResponse({"id": "s1"}, status_code=201)

    async def unsubscribe(request: Request) -> Response:
        return Response(status_code=204)

    source = Starlette(
        routes=[
            Route("/subscriptions", subscribe, methods=["POST"]),
            Route("/subscriptions/{sub}", unsubscribe, methods=["DELETE"]),
        ]
    )
    mapping = KindMapping(kind="Thing", stream="things", key="id", source_id="id", fields={})
    async with LocalServer(source) as server:
        transport = WebhookTransport(server.url, "k", system="hotline", timeout_s=10)
        pages = transport.pull(mapping, None)
        first = await anext(pages)
        await asyncio.sleep(1.0)  # the sync is busy storing its first page
        assert answered <= PENDING_DELIVERIES + 2, answered
        rest = [page async for page in pages]
        await transport.close()
    assert [first.cursor, *(p.cursor for p in rest)] == list(range(1, 31))
    assert answered == 30
