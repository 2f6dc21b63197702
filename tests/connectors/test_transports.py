"""Each transport against a real server on loopback (or a real folder / database)."""

from __future__ import annotations

import csv
import json
import os
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.errors import SourceUnavailable
from connectors.mapping import KindMapping
from connectors.transports.base import Page
from connectors.transports.filedrop import FileDropTransport
from connectors.transports.localserver import LocalServer
from connectors.transports.mqtt import MqttTransport
from connectors.transports.rest import RestTransport
from connectors.transports.sql import SqlTransport
from connectors.transports.webhook import WebhookTransport, receiver_app, sign, verify

ROWS = [{"id": f"R-{i:03d}", "name": f"第{i}号", "upd": f"2026-05-{1 + i % 28:02d}T08:00:00+08:00"}
        for i in range(250)]  # fmt: skip
M = KindMapping(kind="Thing", stream="things", key="id", source_id="id",
                fields={"name": "name"}, updated_at="upd")  # fmt: skip


async def collect(pages: Any) -> tuple[list[dict[str, Any]], Any]:
    rows: list[dict[str, Any]] = []
    cursor = None
    page: Page
    async for page in pages:
        rows.extend(page.rows)
        cursor = page.cursor
    return rows, cursor


def rest_source(state: dict[str, Any]) -> Starlette:
    def filtered(request: Request) -> list[dict[str, Any]]:
        since = request.query_params.get("updated_since")
        rows = sorted(ROWS, key=lambda r: r["upd"])
        return [r for r in rows if not since or r["upd"] >= since]

    async def page(request: Request) -> JSONResponse:
        if state.get("down"):
            return JSONResponse({}, status_code=503)
        q = request.query_params
        size, number = int(q["page_size"]), int(q["page"])
        rows = filtered(request)
        return JSONResponse({"data": {"list": rows[(number - 1) * size : number * size]}})

    async def nxt(request: Request) -> JSONResponse:
        q = request.query_params
        start, size = int(q.get("cursor", 0)), int(q["limit"])
        rows = filtered(request)
        more = start + size < len(rows)
        link = f"/next?cursor={start + size}&limit={size}" if more else None
        return JSONResponse({"results": rows[start : start + size], "next": link})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/things", page), Route("/next", nxt), Route("/health", health)])


async def test_rest_pages_next_links_incremental_and_down() -> None:
    state: dict[str, Any] = {}
    async with LocalServer(rest_source(state)) as server:
        paged = RestTransport(server.url, pagination="page", items="data.list", page_size=100)
        await paged.check()
        rows, cursor = await collect(paged.pull(M, None))
        assert len(rows) == 250 and cursor == max(r["upd"] for r in ROWS)
        again, _ = await collect(paged.pull(M, cursor))
        # only the newest day, re-read because of the overlap window (upserts absorb it)
        assert 0 < len(again) < 20
        linked = RestTransport(server.url, pagination="next", items="results", page_size=40)
        nxt = KindMapping(kind="Thing", stream="next", key="id", source_id="id", fields={})
        rows, _ = await collect(linked.pull(nxt, None))
        assert [r["id"] for r in rows] == [r["id"] for r in sorted(ROWS, key=lambda r: r["upd"])]
        state["down"] = True
        with pytest.raises(SourceUnavailable, match="HTTP 503"):
            await collect(paged.pull(M, None))
        await paged.close()
        await linked.close()
    gone = RestTransport(server.url, retries=0)
    with pytest.raises(SourceUnavailable):
        await gone.check()
    await gone.close()


def _sql_table(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text('DROP TABLE IF EXISTS "things"'))
        conn.execute(text('CREATE TABLE "things" (id TEXT, name TEXT, upd TEXT)'))
        conn.execute(text('INSERT INTO "things" VALUES (:id, :name, :upd)'), ROWS)
    engine.dispose()


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
async def test_sql_incremental_pull(backend: str, tmp_path: Path) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'source.db'}"
    else:
        url = os.environ.get("CITYHUB_TEST_POSTGRES_URL", "")
        if not url:
            pytest.skip("CITYHUB_TEST_POSTGRES_URL is unset")
    _sql_table(url)
    source = SqlTransport(url, page_size=100)
    await source.check()
    rows, cursor = await collect(source.pull(M, None))
    assert len(rows) == 250 and cursor == "2026-05-28T08:00:00+08:00"
    again, _ = await collect(source.pull(M, cursor))
    assert {r["upd"] for r in again} == {cursor}
    await source.close()
    missing = SqlTransport(f"sqlite:///file:{tmp_path / 'nope.db'}?mode=ro&uri=true")
    with pytest.raises(SourceUnavailable):
        await missing.check()
    await missing.close()


async def test_file_drop_reads_csv_xlsx_geojson_once(tmp_path: Path) -> None:
    from openpyxl import Workbook

    drop = tmp_path / "drop"
    drop.mkdir()
    with (drop / "things_a.csv").open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.DictWriter(f, ["id", "name", "upd"])
        writer.writeheader()
        writer.writerows(ROWS[:10])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["id", "name", "upd"])
    for r in ROWS[10:15]:
        sheet.append([r["id"], r["name"], r["upd"]])
    book.save(drop / "things_b.xlsx")
    (drop / "things_c.csv.part").write_text("id\nhalf-written\n", encoding="utf-8")
    source = FileDropTransport(drop)
    mapping = KindMapping(kind="Thing", stream="things_*", key="id", source_id="id", fields={})
    rows, cursor = await collect(source.pull(mapping, None))
    assert [r["id"] for r in rows] == [r["id"] for r in ROWS[:15]]
    assert set(cursor) == {"things_a.csv", "things_b.xlsx"}
    assert (await collect(source.pull(mapping, cursor)))[0] == []
    feature = {"type": "Feature", "properties": {"id": "P-1"},
               "geometry": {"type": "Point", "coordinates": [117.7, 39.0]}}  # fmt: skip
    (drop / "things_d.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]}), encoding="utf-8"
    )
    rows, _ = await collect(source.pull(mapping, cursor))
    assert rows[0]["id"] == "P-1" and rows[0]["geometry"]["type"] == "Point"
    with pytest.raises(SourceUnavailable, match="does not exist"):
        await FileDropTransport(tmp_path / "unmounted").check()


def test_webhook_signatures() -> None:
    body = b'{"events": []}'
    headers = sign("s3cret", body, timestamp=1_800_000_000)
    verify("s3cret", headers, body, now=1_800_000_010)
    from connectors.transports.webhook import SignatureError

    for secret, data, now in (("wrong", body, 1_800_000_010), ("s3cret", b"{}", 1_800_000_010),
                              ("s3cret", body, 1_800_001_000)):  # fmt: skip
        with pytest.raises(SignatureError):
            verify(secret, headers, data, now=now)


async def test_webhook_receiver_refuses_bad_signatures_over_http() -> None:
    got: list[dict[str, Any]] = []

    async def take(system: str, delivery: dict[str, Any]) -> None:
        got.append(delivery)

    async with LocalServer(receiver_app({"hotline": "k"}, take)) as server:
        body = json.dumps({"events": [{"id": 1}], "final": True}).encode()
        url = f"{server.url}/webhooks/hotline"
        async with httpx.AsyncClient() as client:
            good = await client.post(url, content=body, headers=sign("k", body))
            forged = await client.post(url, content=body, headers=sign("not-k", body))
            unsigned = await client.post(url, content=body)
    assert (good.status_code, forged.status_code, unsigned.status_code) == (202, 401, 401)
    assert len(got) == 1


async def test_webhook_subscription_delivers_backlog_since_cursor() -> None:
    from connectors.binhai.spec import ConnectorSpec
    from simcity.sandbox.dataset import SystemData
    from simcity.sandbox.protocols import webhook_sender_app

    mapping = KindMapping(kind="Thing", stream="things", key="id", source_id="id", fields={})
    data = SystemData(ConnectorSpec("hotline", "webhook", (mapping,)), {"things": ROWS})
    async with LocalServer(webhook_sender_app(data, "k", lambda: False, batch=100)) as server:
        transport = WebhookTransport(server.url, "k", system="hotline", timeout_s=10)
        await transport.check()
        rows, cursor = await collect(transport.pull(mapping, None))
        assert len(rows) == 250 and cursor == 250
        ROWS.append({"id": "R-new", "name": "新", "upd": "2026-05-31T00:00:00+08:00"})
        try:
            rows, cursor = await collect(transport.pull(mapping, cursor))
        finally:
            ROWS.pop()
        assert [r["id"] for r in rows] == ["R-new"] and cursor == 251
        # a transport with the wrong secret gets nothing: its receiver refuses the deliveries
        wrong = WebhookTransport(server.url, "forged", system="hotline", timeout_s=1)
        with pytest.raises(SourceUnavailable, match="no delivery"):
            await collect(wrong.pull(mapping, None))
        await transport.close()
        await wrong.close()


async def test_graphql_relay_pages() -> None:
    from connectors.binhai import SPEC_BY_ID
    from connectors.transports.graphql import GraphQLTransport
    from simcity.sandbox.dataset import SystemData
    from simcity.sandbox.protocols import graphql_app

    spec = SPEC_BY_ID["economic-stats"]
    rows = [{"id": f"ECO-{i}", "recordNo": f"TJ{i}", "subjectType": "firm", "subjectName": "甲",
             "creditCode": None, "park": None, "period": "2025", "revenue": 1.5, "taxPaid": 0.1,
             "output": 1.0, "employees": 3, "industry": "租赁",
             "updatedAt": f"2026-04-{1 + i % 20:02d}T00:00:00+08:00"}
            for i in range(120)]  # fmt: skip
    data = SystemData(spec, {"statistics": rows})
    async with LocalServer(graphql_app(data, lambda: False)) as server:
        transport = GraphQLTransport(f"{server.url}/graphql", page_size=50)
        await transport.check()
        got, cursor = await collect(transport.pull(spec.mappings[0], None))
        assert len(got) == 120 and cursor == "2026-04-20T00:00:00+08:00"
        await transport.close()


@pytest.fixture(params=["own", "mosquitto"])
async def mqtt_url(request: pytest.FixtureRequest) -> Any:
    if request.param == "mosquitto":
        url = os.environ.get("CITYHUB_TEST_MQTT_URL", "")
        if not url:
            pytest.skip("CITYHUB_TEST_MQTT_URL is unset (scripts/mosquitto.sh starts Mosquitto)")
        yield url
        return
    from simcity.sandbox.broker import MqttBroker

    broker = await MqttBroker().start()
    yield broker.url
    await broker.stop()


async def test_mqtt_retained_state_count_and_status(mqtt_url: str) -> None:
    import aiomqtt

    from connectors.transports.mqtt import broker_address

    host, port = broker_address(mqtt_url)
    prefix = f"test/{uuid.uuid4().hex[:8]}"
    status = f"{prefix}/$status"
    mapping = KindMapping(kind="Thing", stream=f"{prefix}/state/#", key="id", source_id="id",
                          fields={}, updated_at="upd")  # fmt: skip
    transport = MqttTransport(mqtt_url, status_topic=status, quiet_s=3)
    with pytest.raises(SourceUnavailable, match="no status"):
        await transport.check()
    will = aiomqtt.Will(status, b"offline", qos=1, retain=True)
    async with aiomqtt.Client(host, port, will=will) as client:
        for row in ROWS:
            await client.publish(f"{prefix}/state/{row['id']}", json.dumps(row), retain=True)
        await client.publish(f"{prefix}/state/$count", json.dumps({"count": len(ROWS)}),
                             qos=1, retain=True)  # fmt: skip
        await client.publish(status, b"online", qos=1, retain=True)
        await transport.check()
        rows, cursor = await collect(transport.pull(mapping, None))
        assert sorted(r["id"] for r in rows) == sorted(r["id"] for r in ROWS)
        assert rows[0]["__topic"].startswith(f"{prefix}/state/")
        assert cursor == max(r["upd"] for r in ROWS)
        await client.publish(status, b"offline", qos=1, retain=True)
    with pytest.raises(SourceUnavailable, match="offline"):
        await transport.check()
    async with aiomqtt.Client(host, port) as client:  # tidy the retained topics
        for row in ROWS:
            await client.publish(f"{prefix}/state/{row['id']}", b"", retain=True)
        await client.publish(f"{prefix}/state/$count", b"", retain=True)
        await client.publish(status, b"", retain=True)
