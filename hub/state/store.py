"""Writing the live state: each accepted batch of readings goes to the store in one
transaction — every reading to ``device_readings`` (the history), the latest of each device to
``device_state``, the alarms they raised to the records, and one ``reading`` entry to the change
feed — so what the hub acknowledges is stored, and the other workers learn of it in order."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Protocol

import numpy as np
from sqlalchemy import Connection, Engine, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite

from hub import feed
from hub.store import RecordStore
from hub.store.tables import DeviceReadingRow, DeviceStateRow
from schema.record import Record

# rows per statement: under SQLite's bound-parameter limit with room to spare
_SLICE = 500
_READINGS = DeviceReadingRow.__table__
_BY_DEVICE = itemgetter(0)
_STATES = DeviceStateRow.__table__
# the idempotency index holds only the readings sent with a readingId (migration 0008): a
# conflict target names its condition
_KEYED = DeviceReadingRow.idempotency_key.isnot(None)


class StoredReading(Protocol):
    """What the state store needs of a reading (hub.live.Reading)."""

    @property
    def kind(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def at(self) -> float: ...
    @property
    def value(self) -> float | None: ...
    @property
    def lon(self) -> float | None: ...
    @property
    def lat(self) -> float | None: ...
    @property
    def speed_kmh(self) -> float | None: ...
    @property
    def extra(self) -> dict[str, Any]: ...
    @property
    def reading_id(self) -> str | None: ...


def device_id(kind: str, ident: str) -> str:
    """The device's key in the state tables: a reading kind names one stream of one device
    (a tank's level, a station's water level), so the same id under two kinds is two rows."""
    return f"{kind}:{ident}"


def _values(r: StoredReading) -> dict[str, Any] | None:
    """What a reading says besides its value, kept with it in the history."""
    out: dict[str, Any] = {}
    if r.lon is not None:
        out["lon"], out["lat"] = r.lon, r.lat
    if r.speed_kmh is not None:
        out["speedKmh"] = r.speed_kmh
    if r.extra:
        out.update(r.extra)
    return out or None


def _when(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass
class StateWrite:
    """One ingested batch's writes: the accepted readings, what the apps' rules say of each
    device's latest reading (a tank's alarm state: kept in ``device_state.state``), the
    alarms raised."""

    readings: Sequence[StoredReading]
    states: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    alarms: Sequence[Record] = ()


def _insert(conn: Connection) -> Any:
    return postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert


def seen(engine: Engine, keys: Iterable[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
    """Of (kind, device id, reading id), those already stored: a client's retry."""
    wanted = {(device_id(k, i), r): (k, i, r) for k, i, r in keys}
    if not wanted:
        return set()
    found: set[tuple[str, str, str]] = set()
    pairs = list(wanted)
    column = tuple_(DeviceReadingRow.device_id, DeviceReadingRow.idempotency_key)
    with engine.connect() as conn:
        for start in range(0, len(pairs), _SLICE):
            query = select(DeviceReadingRow.device_id, DeviceReadingRow.idempotency_key).where(
                column.in_(pairs[start : start + _SLICE]),
                _KEYED,  # the partial index's rows
            )
            found.update(wanted[(d, str(k))] for d, k in conn.execute(query))
    return found


def write_batch(engine: Engine, batch: StateWrite) -> None:
    """Store one batch in one transaction (nothing of it when any part fails)."""
    readings = batch.readings
    if not readings and not batch.alarms:
        return
    history: list[tuple[str, str, float, float | None, dict[str, Any] | None, str | None]] = []
    newest: dict[str, int] = {}  # device -> its latest reading's index in the batch
    for n, r in enumerate(readings):
        dev = f"{r.kind}:{r.id}"  # device_id(), inline: this loop runs for every reading
        values = None if r.lon is None and r.speed_kmh is None and not r.extra else _values(r)
        at = r.at
        history.append((dev, r.kind, at, r.value, values, r.reading_id))
        before = newest.get(dev)
        if before is None or at >= readings[before].at:
            newest[dev] = n
    now = datetime.now(UTC)
    with engine.begin() as conn:
        insert = _insert(conn)
        if conn.dialect.name == "sqlite":
            # every reading's time as SQLite's text, at once (a datetime per reading cost
            # more than SQLite's insert of it)
            times = sqlite_times([h[2] for h in history])
            if history:
                _write_sqlite_history(conn, history, times)
            _write_sqlite_states(conn, readings, newest, batch.states, times, now)
        else:
            if history:
                _write_history(conn, history)
            _write_states(conn, insert, readings, newest, batch.states, now)
        if batch.alarms:
            rows = [RecordStore._row(a, now) for a in batch.alarms]
            for start in range(0, len(rows), _SLICE):
                RecordStore._write(conn, insert, rows[start : start + _SLICE])
        entries: list[dict[str, Any]] = []
        if readings:
            entries.append(
                {
                    "topic": "reading",
                    "payload": {
                        "devices": sorted(newest),
                        "kinds": sorted({r.kind for r in readings}),
                    },
                }
            )
        for a in batch.alarms:
            entries.append({"topic": "record", "kind": a.kind, "key": a.key})
            entries.append({"topic": "alarm", "kind": a.kind, "key": a.key})
        # last, so the feed's lock (PostgreSQL) is held for the commit only
        feed.append_many(conn, entries)


def _state_of(r: StoredReading, described: dict[str, Any] | None) -> dict[str, Any]:
    """What device_state keeps of a device's latest reading: its value, speed and other
    fields, and what the apps' rules said of it."""
    state: dict[str, Any] = {"value": r.value}
    if r.speed_kmh is not None:
        state["speedKmh"] = r.speed_kmh
    if r.extra:
        state["extra"] = r.extra
    if described:
        state.update(described)
    return state


def _point_of(r: StoredReading) -> dict[str, Any] | None:
    if r.lon is None or r.lat is None:
        return None
    return {"type": "Point", "coordinates": [r.lon, r.lat]}


def _write_sqlite_states(
    conn: Connection,
    readings: Sequence[StoredReading],
    newest: dict[str, int],
    states: dict[tuple[str, str], dict[str, Any]],
    times: list[str],
    now: datetime,
) -> None:
    if not newest:
        return
    updated = _sqlite_time(now)
    rows = []
    for dev in sorted(newest):  # key order: workers lock rows in the same order
        n = newest[dev]
        r = readings[n]
        point = _point_of(r)
        state = _dumps(_state_of(r, states.get((r.kind, r.id))))
        rows.append(
            (dev, r.kind, times[n], state, None if point is None else _dumps(point), updated)
        )
    conn.exec_driver_sql(_SQLITE_STATES, rows)


def _write_sqlite_history(
    conn: Connection,
    rows: list[tuple[str, str, float, float | None, dict[str, Any] | None, str | None]],
    times: list[str],
) -> None:
    """Append readings; a retried one (same device, same reading id) is a no-op. The driver's
    executemany with the values as SQLAlchemy would bind them: its type processors per value
    cost more than SQLite's insert itself."""
    out = [
        (d, k, at, v, None if x is None else _dumps(x), key)
        for (d, k, _, v, x, key), at in zip(rows, times, strict=True)
    ]
    # by device (each device's readings keep their order): the indexes on (device, ...) are
    # then written page after page, not at random across every device's pages
    out.sort(key=_BY_DEVICE)
    conn.exec_driver_sql(_SQLITE_HISTORY, out)


def sqlite_times(seconds: Sequence[float]) -> list[str]:
    """Epoch seconds as SQLAlchemy's SQLite DateTime text (``2026-05-01 08:00:00.000000``,
    UTC), rounded to the microsecond as ``datetime.fromtimestamp`` rounds (half to even on
    the fraction), all at once."""
    if not seconds:
        return []
    s = np.asarray(seconds, dtype=np.float64)
    whole = np.floor(s)
    micros = whole.astype(np.int64) * 1_000_000 + np.rint((s - whole) * 1e6).astype(np.int64)
    text = np.datetime_as_string(micros.astype("datetime64[us]"), unit="us").tolist()
    return [t.replace("T", " ") for t in text]


def _write_states(
    conn: Connection,
    insert: Any,
    readings: Sequence[StoredReading],
    newest: dict[str, int],
    states: dict[tuple[str, str], dict[str, Any]],
    now: datetime,
) -> None:
    rows = []
    for dev in sorted(newest):  # key order: workers lock rows in the same order
        r = readings[newest[dev]]
        rows.append(
            {
                "device_id": dev,
                "kind": r.kind,
                "at": _when(r.at),
                "state": _state_of(r, states.get((r.kind, r.id))),
                "geometry": _point_of(r),
                "updated_at": now,
            }
        )
    if not rows:
        return
    # one statement executed for every row: compiled once and cached (a VALUES list of
    # hundreds of rows is compiled anew each time)
    stmt = insert(_STATES)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["device_id"],
            set_={c: stmt.excluded[c] for c in ("at", "state", "geometry", "updated_at")},
            # a batch another worker stored later may hold a newer reading: never go back
            where=_STATES.c.at <= stmt.excluded.at,
        ),
        rows,
    )


def _write_history(
    conn: Connection,
    rows: list[tuple[str, str, float, float | None, dict[str, Any] | None, str | None]],
) -> None:
    """Append readings (PostgreSQL); a retried one (same device, same reading id) is a
    no-op."""
    conn.execute(
        postgresql.insert(_READINGS).on_conflict_do_nothing(
            index_elements=["device_id", "idempotency_key"], index_where=_KEYED
        ),
        [
            {
                "device_id": d,
                "kind": k,
                "at": _when(t),
                "value": v,
                "values": x,
                "idempotency_key": key,
            }
            for d, k, t, v, x, key in rows
        ],
    )


def _sqlite_time(value: datetime) -> str:
    # SQLAlchemy's SQLite DateTime text (UTC, six digits of microseconds), so the values sort
    # and compare with those it binds; the state tables' times are UTC already
    return value.isoformat(" ", "microseconds")[:26]


# one encoder: json.dumps with a non-default argument builds a new one on every call
_dumps = json.JSONEncoder(ensure_ascii=False).encode


_SQLITE_HISTORY = (
    'INSERT INTO device_readings (device_id, kind, at, value, "values", idempotency_key) '
    "VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (device_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING"
)
# the kind is part of the device id, so never updated (nor its index entry rewritten)
_SQLITE_STATES = (
    "INSERT INTO device_state (device_id, kind, at, state, geometry, updated_at) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
    "at = excluded.at, state = excluded.state, geometry = excluded.geometry, "
    "updated_at = excluded.updated_at WHERE device_state.at <= excluded.at"
)
