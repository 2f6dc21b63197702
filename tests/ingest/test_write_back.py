"""The write-back worker on both stores, against a source system's status callback served over
real HTTP: what it sends (signed with the system's key, the status in the source's words, the
step's public note — never the staff's note or the reporter's phone), how a source that is
down is retried and put on record, and the queue kept in the store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.binhai import build_connector
from connectors.transports.localserver import LocalServer
from connectors.transports.webhook import verify
from hub.cases import CASE
from hub.config import load_settings
from hub.ingest.sources import SourceSystems
from hub.ingest.sync import SyncEngine
from hub.ingest.tables import connector_state, sync_runs
from hub.ingest.write_back import WriteBack, state_name
from hub.store import RecordStore

SECRET = "hotline-key"
T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
ROW = {
    "caseKey": "CASE-HL-W1",
    "workOrderNo": "HL-W1",
    "channel": "12345便民服务热线",
    "content": "红旗路119号附近井盖缺失",
    "reporter": "毛琴丽",
    "reporterPhone": "17156746817",
    "reportedAt": T0.isoformat(),
    "status": "处置中",
    "lng": 117.521847,
    "lat": 38.723213,
    "updatedAt": T0.isoformat(),
}


class Hotline:
    """The hotline's status callback: answers 503 while ``down``, else checks the signature
    and keeps what it was told."""

    def __init__(self) -> None:
        self.down = False
        self.told: list[dict[str, Any]] = []
        self.server = LocalServer(
            Starlette(routes=[Route("/cases/{id}/status", self.take, methods=["POST"])])
        )

    async def take(self, request: Request) -> JSONResponse:
        if self.down:
            return JSONResponse({"error": "service unavailable"}, status_code=503)
        body = await request.body()
        verify(SECRET, request.headers, body)  # a bad signature fails the request
        self.told.append({"id": request.path_params["id"], **json.loads(body)})
        return JSONResponse({"ok": True})


@pytest.fixture
async def hotline() -> AsyncIterator[Hotline]:
    source = Hotline()
    await source.server.start()
    yield source
    await source.server.stop()


def _queue(store: RecordStore) -> dict[str, Any]:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(connector_state).where(
                connector_state.c.connector == state_name("service-hotline")
            )
        ).first()
    assert row is not None
    return dict(row._mapping)


async def test_a_step_is_told_and_a_source_down_is_retried(
    store: RecordStore, hotline: Hotline, tmp_path: Path
) -> None:
    endpoints = {"systems": {"service-hotline": {"url": hotline.server.url, "secret": SECRET}}}
    (tmp_path / "endpoints.json").write_text(json.dumps(endpoints))
    sources = SourceSystems(
        load_settings(data_dir=tmp_path, sources=tmp_path / "endpoints.json"), store
    )
    worker = WriteBack(store, sources, first_s=0.0, attempts=3)
    connector = build_connector("service-hotline", endpoints["systems"]["service-hotline"])
    assert (await SyncEngine(store).push(connector, [ROW])).status == "ok"
    assert await worker.step() == 0  # the queue starts at the feed's head

    # the hub resolves the case (the desk's step: its feed entry in the write's transaction)
    record = store.get("ServiceCase", "CASE-HL-W1")
    assert record is not None
    move = CASE.move(record, CASE.step("resolve"), record.version)
    move.note = "已回复市民 17156746817"  # the staff's note
    CASE.apply(move, "user:olga", T0 + timedelta(hours=1))
    changed = CASE.changed(move, T0 + timedelta(hours=1))
    CASE.write(store, [changed], events=[CASE.feed_entry(move, {"case_id": changed.key})])

    hotline.down = True
    for attempt in (1, 2):
        assert await worker.step() == 0
        queue = _queue(store)
        assert (
            queue["status"] == "down" and queue["cursor"]["pending"]["HL-W1"]["attempts"] == attempt
        )
        assert "CASE-HL-W1" in queue["last_error"] and "503" in queue["last_error"]
    with store.engine.connect() as conn:
        errors = list(
            conn.execute(select(sync_runs.c.error).where(sync_runs.c.status == "down")).scalars()
        )
    assert len(errors) == 2 and all("write-back of CASE-HL-W1" in e for e in errors)

    hotline.down = False
    # a new worker (a restart) resumes the queue the store holds
    again = WriteBack(store, sources, first_s=0.0, attempts=3)
    assert await again.step() == 1
    assert hotline.told == [
        {
            "id": "HL-W1",
            "status": "已办结",
            "at": (T0 + timedelta(hours=1)).isoformat(),
            "note": "已处置完毕",
        }
    ]
    assert "17156746817" not in json.dumps(hotline.told, ensure_ascii=False)
    assert _queue(store)["status"] == "ok" and _queue(store)["cursor"]["pending"] == {}
    assert await again.step() == 0  # told once

    # a step that leaves the state as it is (a duplicate merged into the case) tells nothing
    case = store.get("ServiceCase", "CASE-HL-W1")
    assert case is not None
    merge = CASE.move(case, CASE.by_name["merge"], case.version)
    CASE.apply(merge, "user:olga", T0 + timedelta(hours=2))
    merged = CASE.changed(merge, T0 + timedelta(hours=2))
    CASE.write(store, [merged], events=[CASE.feed_entry(merge, {"case_id": merged.key})])
    assert await again.step() == 0 and len(hotline.told) == 1
