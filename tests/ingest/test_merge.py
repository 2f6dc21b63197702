"""A case the hub has acted on keeps the hub's work through later syncs of it from its source
(the hotline's signed pushes, through the real SyncEngine), on SQLite and PostgreSQL: the
source's news is taken in and told in the history, an echo of the hub's own status is not
news, and a case the hub never touched is replaced by the source's as before."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.binhai import build_connector
from hub import feed
from hub.cases import CASE
from hub.ingest.merge import SOURCE_UPDATE
from hub.ingest.sync import SyncEngine
from hub.store import RecordStore
from hub.store.errors import VersionConflict
from hub.workflow import fact
from schema.record import Record

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def _row(n: int, **changes: Any) -> dict[str, Any]:
    row = {
        "caseKey": f"CASE-HL-T{n}",
        "workOrderNo": f"HL-T{n}",
        "channel": "12345便民服务热线",
        "category": "C08",
        "title": "海滨街道通信设施损坏",
        "content": "红旗路119号附近通信设施损坏，请尽快处理。",
        "reporter": "毛琴丽",
        "reporterPhone": "17156746817",
        "reportedAt": T0.isoformat(),
        "status": "处置中",
        "handlingDepartment": "区城市管理委员会",
        "lng": 117.521847,
        "lat": 38.723213,
        "updatedAt": T0.isoformat(),
    }
    return row | changes


def _push(store: RecordStore, *rows: dict[str, Any]) -> None:
    connector = build_connector("service-hotline", {"url": "http://127.0.0.1:9", "secret": "s"})
    report = asyncio.run(SyncEngine(store).push(connector, list(rows)))
    assert report.status == "ok", report.error


def _resolve(store: RecordStore, key: str) -> Record:
    """The hub's step on the case, as the case desk takes it (the workflow engine)."""
    record = store.get("ServiceCase", key)
    assert record is not None
    move = CASE.move(record, CASE.step("resolve"), record.version)
    move.attrs["result"] = "已更换通信箱体"
    move.note = "已更换通信箱体，联系人 13812345678"  # the staff's note: stays in the hub
    CASE.apply(move, "user:olga", T0 + timedelta(hours=1))
    (done,) = CASE.write(store, [CASE.changed(move, T0 + timedelta(hours=1))])
    return done


def test_a_step_survives_the_next_sync_and_the_sources_news_is_told(store: RecordStore) -> None:
    _push(store, _row(1), _row(2))
    resolved = _resolve(store, "CASE-HL-T1")
    assert resolved.attrs["status"] == "已办结" and "loop_status" in resolved.attrs["hub_attrs"]

    # the hotline's own staff change the case: their status, the content, a later update time
    later = (T0 + timedelta(hours=2)).isoformat()
    content = "红旗路119号附近通信设施损坏，市民再次来电催办。"
    _push(store, _row(1, status="已回访", content=content, updatedAt=later), _row(2, title="新"))
    seq = feed.head(store.engine)

    case = store.get("ServiceCase", "CASE-HL-T1")
    assert case is not None and case.version is not None and resolved.version is not None
    assert case.version > resolved.version  # a new version: a step read before it is stale
    a = case.attrs
    assert CASE.state_of(a) == "resolved" and a["status"] == "已办结"  # the hub's, kept
    assert a["result"] == "已更换通信箱体" and a["content"] == content  # the source's news
    assert a["source_facts"]["status"] == fact("已回访")  # a digest: never served
    assert [e["action"] for e in a["history"]] == ["resolve", SOURCE_UPDATE]
    news = a["history"][-1]
    assert news["source"] == {
        "status": "已回访",
        "updated_at": datetime.fromisoformat(later).astimezone(UTC).isoformat(),
        "changed": ["content", "status"],
    }
    assert news["from"] == news["to"] == "resolved" and "已回访" in news["note"]
    assert "17156746817" not in str(news)  # names of what changed, never personal values

    # a case the hub never acted on is the source's, as every record
    other = store.get("ServiceCase", "CASE-HL-T2")
    assert other is not None and other.attrs["title"] == "新" and "history" not in other.attrs

    # the source repeating the hub's status (a write-back's echo) is no news
    _push(store, _row(1, status="已办结", content=content, updatedAt=later))
    echoed = store.get("ServiceCase", "CASE-HL-T1")
    assert echoed is not None and len(echoed.attrs["history"]) == 2
    assert echoed.attrs["source_facts"]["status"] == fact("已办结")
    # both writes are on the feed for the read models
    keys = [e.key for e in feed.read_after(store.engine, seq - 2, topics=["record"])]
    assert keys.count("CASE-HL-T1") == 2

    # and the hub's next step acts on the merged case
    record = store.get("ServiceCase", "CASE-HL-T1")
    assert record is not None
    move = CASE.move(record, CASE.step("return_visit"), record.version)
    CASE.apply(move, "user:olga", T0 + timedelta(hours=3))
    (visited,) = CASE.write(store, [CASE.changed(move, T0 + timedelta(hours=3))])
    assert visited.attrs["content"] == content and CASE.state_of(visited.attrs) == "visited"


def test_a_case_stored_another_way_is_merged_too(store: RecordStore) -> None:
    """A case loaded without a sync's lineage (the demo's load) and acted on keeps the hub's
    work when its source first syncs it."""
    connector = build_connector("service-hotline", {"url": "http://127.0.0.1:9", "secret": "s"})
    store.upsert([connector.mappings[0].to_record(_row(3), "service-hotline", T0)])
    _resolve(store, "CASE-HL-T3")
    _push(store, _row(3, content="新的内容"))
    case = store.get("ServiceCase", "CASE-HL-T3")
    assert case is not None and CASE.state_of(case.attrs) == "resolved"
    assert case.attrs["content"] == "新的内容"
    assert [e["action"] for e in case.attrs["history"]] == ["resolve", SOURCE_UPDATE]


class _PausingSync(SyncEngine):
    """A sync that waits, after reading the cases it merges, for a step racing it (at most
    ``pause_s``): the step must wait for the sync, never slip in between its read and write."""

    def __init__(self, store: RecordStore, read: threading.Event, stepped: threading.Event):
        super().__init__(store)
        self.read, self.stepped = read, stepped

    def _acted_on(self, conn: Any, wanted: Any) -> Any:
        found = super()._acted_on(conn, wanted)
        self.read.set()
        self.stepped.wait(timeout=1.0)  # the step is held off (locked out): go on
        return found


def test_a_step_racing_a_sync_is_never_lost(store: RecordStore) -> None:
    _push(store, _row(4))
    record = store.get("ServiceCase", "CASE-HL-T4")
    assert record is not None
    move = CASE.move(record, CASE.step("resolve"), record.version)  # read before the sync
    CASE.apply(move, "user:olga", T0 + timedelta(hours=1))
    changed = CASE.changed(move, T0 + timedelta(hours=1))

    read, stepped = threading.Event(), threading.Event()
    engine = _PausingSync(store, read, stepped)
    connector = build_connector("service-hotline", {"url": "http://127.0.0.1:9", "secret": "s"})
    news = _row(4, content="市民补充：已影响通行")
    sync = threading.Thread(target=lambda: asyncio.run(engine.push(connector, [news])))
    sync.start()
    assert read.wait(timeout=30)
    outcome: list[str] = []
    try:
        CASE.write(store, [changed])
        outcome.append("written")
    except VersionConflict:
        outcome.append("conflict")
    stepped.set()
    sync.join(timeout=30)

    # the step waited for the sync, then found the case changed under it: refused, not lost
    case = store.get("ServiceCase", "CASE-HL-T4")
    assert case is not None and case.attrs["content"] == "市民补充：已影响通行"
    assert outcome == ["conflict"] and CASE.state_of(case.attrs) == "handling"
    # taken again on the case as it is now, it stands through the next sync
    again = CASE.move(case, CASE.step("resolve"), case.version)
    CASE.apply(again, "user:olga", T0 + timedelta(hours=2))
    CASE.write(store, [CASE.changed(again, T0 + timedelta(hours=2))])
    _push(store, _row(4, content="再次补充"))
    final = store.get("ServiceCase", "CASE-HL-T4")
    assert final is not None and CASE.state_of(final.attrs) == "resolved"
    assert final.attrs["content"] == "再次补充"
