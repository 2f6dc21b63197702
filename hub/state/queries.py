"""Reading the live state: the latest state of devices, and a device's history downsampled
in the store (bucket count / average / min / max per ``every`` seconds), so a year of a
sensor comes back as a few hundred rows and every worker answers alike."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, Integer, cast, func, select

from hub.state.store import device_id
from hub.store.tables import DeviceReadingRow, DeviceStateRow

# at most this many buckets per history request: a wide range asks for a coarser ``every``
MAX_BUCKETS = 10_000
# the store keeps times to the microsecond: a stored time within this of a read model's own is
# the same reading (its own worker's), not a newer one
SAME_TIME_S = 1e-5


def _utc(value: datetime) -> datetime:
    # SQLite keeps no offset: the state tables are written in UTC
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass(frozen=True)
class DeviceState:
    """A device's latest accepted reading and what the apps' rules said of it."""

    kind: str
    id: str
    at: datetime
    state: dict[str, Any]
    geometry: dict[str, Any] | None
    updated_at: datetime

    @property
    def value(self) -> float | None:
        value = self.state.get("value")
        return float(value) if isinstance(value, int | float) else None

    @property
    def point(self) -> tuple[float, float] | None:
        g = self.geometry
        if g and g.get("type") == "Point":
            lon, lat = g["coordinates"][:2]
            return float(lon), float(lat)
        return None


@dataclass(frozen=True)
class HistoryBucket:
    """The readings of one device in [start, start + every): how many, and their values'
    average, minimum and maximum (None when none of them carried a value)."""

    start: datetime
    count: int
    average: float | None
    minimum: float | None
    maximum: float | None
    first_at: datetime
    last_at: datetime


_STATE = DeviceStateRow.__table__


def _state(row: Any) -> DeviceState:
    return DeviceState(
        kind=row.kind,
        id=row.device_id.removeprefix(row.kind + ":"),
        at=_utc(row.at),
        state=dict(row.state or {}),
        geometry=row.geometry,
        updated_at=_utc(row.updated_at),
    )


def latest(engine: Engine, kind: str, ids: Iterable[str]) -> dict[str, DeviceState]:
    """The latest state of the devices ``ids`` under reading kind ``kind`` (those with one)."""
    keys = [device_id(kind, i) for i in ids]
    out: dict[str, DeviceState] = {}
    with engine.connect() as conn:
        for start in range(0, len(keys), 500):
            query = select(_STATE).where(_STATE.c.device_id.in_(keys[start : start + 500]))
            for row in conn.execute(query):
                state = _state(row)
                out[state.id] = state
    return out


def latest_of_kind(engine: Engine, kind: str) -> dict[str, DeviceState]:
    """Every device's latest state under ``kind`` (a read model's warm-up)."""
    query = select(_STATE).where(_STATE.c.kind == kind)
    with engine.connect() as conn:
        return {s.id: s for s in map(_state, conn.execute(query))}


def newest(engine: Engine, kind: str) -> datetime | None:
    """The time of the newest state stored under ``kind`` (None when none is)."""
    query = select(func.max(_STATE.c.at)).where(_STATE.c.kind == kind)
    with engine.connect() as conn:
        found = conn.execute(query).scalar()
    return None if found is None else _utc(_datetime(found))


def _bucket(engine: Engine, every: int) -> Any:
    at = DeviceReadingRow.at
    if engine.dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", at) / every), BigInteger)
    # SQLite: whole epoch seconds, then integer division (exact at the buckets' edges)
    return cast(func.strftime("%s", at), Integer) // every


def history(
    engine: Engine,
    kind: str,
    ident: str,
    start: datetime,
    end: datetime,
    every: int,
    measure: Sequence[str] = (),
) -> list[HistoryBucket]:
    """The device's readings in [start, end) by buckets of ``every`` seconds, aligned on the
    epoch (a bucket starts at a multiple of ``every``), oldest first, empty ones left out.
    The buckets aggregate the readings' value, or the number at path ``measure`` in what
    they said besides (``("speedKmh",)``, ``("parameters", "ph")``)."""
    if every < 1:
        raise ValueError("every must be at least 1 second")
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError("to must be after from")
    if (end - start).total_seconds() / every > MAX_BUCKETS:
        raise ValueError(f"at most {MAX_BUCKETS} buckets: ask for a larger every")
    r = DeviceReadingRow
    bucket = _bucket(engine, every).label("bucket")
    value = r.values[tuple(measure)].as_float() if measure else r.value
    query = (
        select(
            bucket,
            func.count(),
            func.avg(value),
            func.min(value),
            func.max(value),
            func.min(r.at),
            func.max(r.at),
        )
        .where(r.device_id == device_id(kind, ident), r.at >= start, r.at < end)
        .group_by(bucket)
        .order_by(bucket)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        HistoryBucket(
            start=datetime.fromtimestamp(int(b) * every, UTC),
            count=int(n),
            average=None if avg is None else float(avg),
            minimum=None if low is None else float(low),
            maximum=None if high is None else float(high),
            first_at=_utc(_datetime(first)),
            last_at=_utc(_datetime(last)),
        )
        for b, n, avg, low, high, first, last in rows
    ]


def _datetime(value: Any) -> datetime:
    # min()/max() of a DateTime come back as text on SQLite
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


@dataclass(frozen=True)
class PastReading:
    """One reading as the history keeps it."""

    at: datetime
    value: float | None
    values: dict[str, Any]  # lon / lat / speedKmh and the reading's other fields

    @property
    def point(self) -> tuple[float, float] | None:
        lon, lat = self.values.get("lon"), self.values.get("lat")
        if isinstance(lon, int | float) and isinstance(lat, int | float):
            return float(lon), float(lat)
        return None


def recent(engine: Engine, kind: str, ident: str, limit: int) -> list[PastReading]:
    """The device's ``limit`` most recent readings, oldest first (a vehicle's trajectory)."""
    r = DeviceReadingRow.__table__.c
    query = (
        select(r.at, r.value, r["values"])
        .where(r.device_id == device_id(kind, ident))
        .order_by(r.at.desc(), r.id.desc())
        .limit(max(limit, 0))
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        PastReading(at=_utc(at), value=value, values=dict(values or {}))
        for at, value, values in reversed(rows)
    ]
