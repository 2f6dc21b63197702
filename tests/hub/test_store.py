"""The store conformance suite: every test runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect

from hub import feed
from hub.store import RecordStore, StoreUnavailable
from schema.record import Record, RecordError

CST = timezone(timedelta(hours=8))


def cell(key: str, **attrs: object) -> Record:
    return Record(
        kind="GridCell",
        key=key,
        source_system="grid-management",
        source_id=f"src-{key}",
        fetched_at=datetime(2026, 6, 1, 9, 30, tzinfo=CST),
        attrs={"code": key, "name": f"新港街道第{key}网格", **attrs},
        geometry={"type": "Point", "coordinates": [117.7, 39.0]},
        datum="GCJ-02",
    )


def test_migrations_create_the_tables(store: RecordStore) -> None:
    tables = set(inspect(store.engine).get_table_names())
    assert {"records", "rejected_records", "alembic_version"} <= tables
    store.migrate()  # idempotent


def test_records_round_trip_with_provenance(store: RecordStore) -> None:
    before = datetime.now(UTC)
    assert store.upsert([cell("001", population=1200)]) == 1
    got = store.get("GridCell", "001")
    assert got is not None
    assert got.source_system == "grid-management" and got.source_id == "src-001"
    assert got.fetched_at == datetime(2026, 6, 1, 1, 30, tzinfo=UTC)  # same instant, in UTC
    assert got.ingested_at is not None and got.ingested_at >= before - timedelta(seconds=1)
    assert got.attrs == {"code": "001", "name": "新港街道第001网格", "population": 1200}
    assert got.geometry == {"type": "Point", "coordinates": [117.7, 39.0]}
    assert got.datum == "GCJ-02"
    assert store.get("GridCell", "missing") is None
    assert store.get("Inspector", "001") is None


def test_upsert_replaces_by_kind_and_key(store: RecordStore) -> None:
    store.upsert([cell("001", population=1)])
    store.upsert([cell("001", population=2)])
    assert store.count("GridCell") == 1
    got = store.get("GridCell", "001")
    assert got is not None and got.attrs["population"] == 2


def test_large_batches_and_counts(store: RecordStore) -> None:
    assert store.upsert(cell(f"{i:05d}") for i in range(1234)) == 1234
    assert store.count("GridCell") == 1234
    assert store.counts() == {"GridCell": 1234}
    many = store.get_many("GridCell", [f"{i:05d}" for i in range(0, 1234, 2)] + ["nope"])
    assert len(many) == 617 and "nope" not in many


def test_keyset_pages_cover_everything_once(store: RecordStore) -> None:
    store.upsert(cell(f"{i:03d}") for i in range(25))
    seen: list[str] = []
    after = None
    while page := store.page("GridCell", after=after, limit=7):
        seen.extend(r.key for r in page)
        after = page[-1].key
    assert seen == [f"{i:03d}" for i in range(25)]
    tail = store.page("GridCell", before="010", limit=3, from_end=True)
    assert [r.key for r in tail] == ["007", "008", "009"]
    assert store.any_from("GridCell", "024", forward=True)
    assert not store.any_from("GridCell", "025", forward=True)


def test_scan_and_what_changed_since_a_feed_position(store: RecordStore) -> None:
    store.upsert(cell(f"{i:04d}") for i in range(2500))
    assert [r.key for r in store.scan("GridCell", chunk=999)] == [f"{i:04d}" for i in range(2500)]
    assert list(store.scan("Inspector")) == []
    found, since = store.changed_since("GridCell", None)
    assert len(found) == 2500 and since == feed.head(store.engine)
    # nothing new: nothing again, even after writes of other kinds; then a change shows up
    store.upsert([Record(**{**cell("I-1").model_dump(), "kind": "Inspector"})])
    again, same = store.changed_since("GridCell", since)
    assert again == [] and same == feed.head(store.engine)
    store.upsert([cell("0007", population=7)])
    store.upsert([cell("2500"), cell("0003", population=3)])
    store.upsert([cell("0007", population=8)])
    changed, later = store.changed_since("GridCell", same)
    # in the order last written, each once, as stored now
    assert [r.key for r in changed] == ["0003", "2500", "0007"]
    assert changed[-1].attrs["population"] == 8 and later == feed.head(store.engine)
    assert store.changed_since("GridCell", later) == ([], later)


def test_bad_records_are_kept_aside_and_lose_nothing(store: RecordStore) -> None:
    good = cell("001").model_dump(mode="json")
    items = [
        good,
        "{not json",
        {**good, "key": "002", "fetched_at": "2026-06-01T09:30:00"},  # no offset
        {**good, "key": "003", "kind": "grid cell"},
        {**good, "key": "004", "geometry": {"type": "Blob", "coordinates": []}},
        {**good, "key": "005", "source_id": "src-005"},
    ]
    report = store.ingest(items, source_system="grid-management")
    assert (report.accepted, report.rejected) == (2, 4)
    assert report.errors[0].startswith("item 2: not valid JSON")
    assert "fetched_at: must carry a time zone offset" in report.errors[1]
    assert "kind: must be a CamelCase type name" in report.errors[2]
    assert "not a GeoJSON geometry type: 'Blob'" in report.errors[3]
    kept = store.rejected("grid-management")
    assert kept[0][0] == "{not json"
    assert len(kept) == 4
    assert {r.key for r in store.page("GridCell", limit=10)} == {"001", "005"}


def test_record_validation_messages() -> None:
    with pytest.raises(RecordError, match="a record must be a JSON object"):
        Record.parse([1, 2])
    with pytest.raises(RecordError, match=r"^key: "):
        Record.parse({**cell("x").model_dump(mode="json"), "key": ""})
    with pytest.raises(RecordError, match="geometry and datum go together"):
        Record.parse({**cell("x").model_dump(mode="json"), "datum": None})


def test_unreachable_database_is_one_line_naming_the_setting() -> None:
    store = RecordStore.from_url("postgresql://cityhub:s3cret@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailable) as caught:
        store.ping()
    message = str(caught.value)
    assert message.startswith("CITYHUB_DATABASE_URL: cannot connect to postgresql")
    assert "s3cret" not in message and "\n" not in message


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = RecordStore.from_url(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    store.close()


def _readings_stored(store: RecordStore) -> list[tuple[str, str | None]]:
    from sqlalchemy import select

    from hub.store.tables import DeviceReadingRow

    query = select(DeviceReadingRow.device_id, DeviceReadingRow.idempotency_key).order_by(
        DeviceReadingRow.id
    )
    with store.engine.connect() as conn:
        return [(d, k) for d, k in conn.execute(query)]


def test_readings_layout_migrates_both_ways_and_a_retry_stays_a_no_op(
    store: RecordStore,
) -> None:
    """Migration 0008 (the idempotency index over keyed readings only) goes down to 0007's
    index over every reading and back up with the readings kept; at head, readings without a
    readingId are many per device and a retried readingId is stored once."""
    from hub import state
    from hub.live import Reading
    from hub.store.migrate import downgrade, upgrade

    at = datetime(2026, 6, 1, 8, tzinfo=UTC).timestamp()

    def batch(*readings: Reading) -> state.StateWrite:
        return state.StateWrite(readings=readings)

    state.write_batch(
        store.engine,
        batch(
            Reading("tank.level", "T-1", at, 1.0, reading_id="r-1"),
            Reading("tank.level", "T-1", at + 30, 1.1),
            Reading("tank.level", "T-1", at + 60, 1.2),
        ),
    )
    try:
        downgrade(store.engine, "0007")
        assert len(_readings_stored(store)) == 3  # the full index takes every row, NULLs too
    finally:
        upgrade(store.engine)
    state.write_batch(
        store.engine,
        batch(
            Reading("tank.level", "T-1", at, 1.0, reading_id="r-1"),  # a client's retry
            Reading("tank.level", "T-1", at + 90, 1.3),
        ),
    )
    assert _readings_stored(store) == [
        ("tank.level:T-1", "r-1"),
        ("tank.level:T-1", None),
        ("tank.level:T-1", None),
        ("tank.level:T-1", None),
    ]
    assert state.seen(store.engine, [("tank.level", "T-1", "r-1")]) == {
        ("tank.level", "T-1", "r-1")
    }
    indexes = {i["name"]: i for i in inspect(store.engine).get_indexes("device_readings")}
    assert indexes["ux_device_readings_idempotency"]["unique"]
