"""Telemetry ingest rate with alarm evaluation: Binhai's 6,000 tank level sensors through the
hub's real path, against the same evaluation in plain numpy and in pure Python, in one run on
the same readings.

The readings: every tank reports its level every 30 s (the stream starts from the level
sensors' last values in the demo city); levels drift a little, and 0.1 % of the readings are
an excursion over the tank's high-high limit that the next reading takes back (each one an
entry alarm, and a rate alarm each way). The hub's path is the live bus's
(``hub.live.LiveBus.evaluate``: parse each JSON reading, route by kind, the hazchem app's
per-reading check, then its batch handler: ``TankWatch.evaluate`` over the core's
``TankMonitor``, state transitions, alarm objects), measured

* in-process, in batches of 1,000 / 5,000 / 10,000 readings (``evaluate``: in memory), and
  ``ingest``, which also stores every reading (``hub.state``: the history, each tank's latest
  state, the alarms and a feed entry, one transaction per batch) and publishes the alarms,
  against ``evaluate`` on the same size of batch in the same run, and
* end to end: ``POST /telemetry`` with a real ``telemetry:write`` token against the hub served
  by uvicorn in a child process (one worker: tank state lives in the process), a few
  concurrent gateways each posting batches of its own tanks.

Baselines, each with its own state seeded like the hub's and fed the same batches:

* **numpy** — the same reading dicts to arrays (ids through a dict, values with ``float``,
  late / unknown readings dropped), then a vectorised evaluation: group by tank (lexsort),
  previous value / time / threshold state from the batch or from the state arrays, threshold
  bits, stale and rate flags, entry detection, state written back; alarms as tuples.
* **pure Python** — ``core_ext.reference.risk.ReferenceTankAlarms``: the oracle of the hub's
  rules (entries, rate, stale once per silence) over the core's reference monitor.

The alarms each raises are counted by kind and must agree. The kernels alone (arrays in,
flags out: ``TankMonitor`` vs numpy vs the reference) are timed too. Then a **mixed load**:
every tank's level, temperature and pressure (18,000 sensors, the kinds interleaved in each
batch, each routed to its quantity's watch), evaluated and stored, against the same baselines
(one per quantity) and the levels-only rate of the same run. Run:
``python -m bench --only ingest`` (``--quick``: fewer readings). Target: ≥ 50,000 readings/s
on every path; a full run that misses it prints a profile of ``LiveBus.evaluate`` and exits 1
(``--quick`` exits 1 only when the answers disagree or readings are refused).
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import json
import math
import os
import pstats
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

TARGET_PER_S = 50_000.0
SAMPLE_S = 30.0  # every tank reports every 30 s (the stale limit is ten sampling intervals)
EXCURSION_SHARE = 0.001
DRIFT_SHARE = 0.001  # of the level height, per reading
BATCHES = (1_000, 5_000, 10_000)
HTTP_BATCH = 5_000
HTTP_CLIENTS = 4
KIND = "tank.level"

# threshold bits, as the core numbers them
H, HH, LO, RATE, STALE = 1, 2, 4, 8, 16
HELD = H | HH | LO


class LevelStream:
    """Successive readings of every tank, one round of all tanks per SAMPLE_S, in time order:
    levels, or with ``kind`` another quantity (``heights``: the scale of its drift and band
    where a limit is missing — the level height, a temperature's or pressure's span)."""

    def __init__(
        self,
        keys: list[str],
        limits: dict[str, Any],
        heights: dict[str, float],
        last: dict[str, tuple[float, float]],
        seed: int,
        kind: str = KIND,
    ) -> None:
        self.kind = kind
        self.rng = np.random.default_rng(seed)
        self.keys = list(keys)
        self.rng.shuffle(self.keys)  # the order the sensors report in within a round
        n = len(self.keys)
        lo = np.array([limits[k].low for k in self.keys])
        hi = np.array([limits[k].high for k in self.keys])
        self.hh = np.array([limits[k].high_high for k in self.keys])
        self.height = np.array([heights[k] for k in self.keys])
        if kind == KIND:
            lo = np.where(np.isfinite(lo), lo, 0.1 * self.height)
            hi = np.where(np.isfinite(hi), hi, 0.9 * self.height)
        else:  # a gauge with no low (pressure): a band below its high
            hi = np.where(np.isfinite(hi), hi, self.height)
            lo = np.where(np.isfinite(lo), lo, hi - 0.8 * self.height)
        margin = 0.1 * (hi - lo)
        self.band = (lo + margin, hi - margin)
        start = self.rng.uniform(self.band[0], self.band[1])
        self.value = np.array(
            [last[k][0] if k in last else start[i] for i, k in enumerate(self.keys)]
        )
        self.base = self.value.copy()  # where an excursion returns to
        self.t0 = max((t for _, t in last.values()), default=1.79e9) + 1.0
        self.offsets = np.arange(n) * (SAMPLE_S / n)
        self.round = 0
        self.pending: list[dict[str, Any]] = []

    def _next_round(self) -> list[dict[str, Any]]:
        n = len(self.keys)
        if self.round > 0:  # the first round repeats the last values: no jump from the store
            step = self.rng.normal(0.0, DRIFT_SHARE, n) * self.height
            self.base = np.clip(self.base + step, self.band[0], self.band[1])
            values = self.base.copy()
            over = (self.rng.random(n) < EXCURSION_SHARE) & np.isfinite(self.hh)
            values[over] = self.hh[over] + 0.05
            self.value = values
        times = self.t0 + self.round * SAMPLE_S + self.offsets
        self.round += 1
        return [
            {"kind": self.kind, "id": k, "at": round(t, 3), "value": round(v, 3)}
            for k, t, v in zip(self.keys, times.tolist(), self.value.tolist(), strict=True)
        ]

    def take(self, count: int) -> list[dict[str, Any]]:
        while len(self.pending) < count:
            self.pending.extend(self._next_round())
        out, self.pending = self.pending[:count], self.pending[count:]
        return out

    def batches(self, total: int, size: int) -> list[list[dict[str, Any]]]:
        return [self.take(size) for _ in range(max(1, total // size))]


# ---------------------------------------------------------------------------------------------
# Baselines


class NumpyTanks:
    """The evaluation in plain vectorised numpy, with its own per-tank state arrays."""

    def __init__(
        self,
        keys: list[str],
        limits: dict[str, Any],
        last: dict[str, tuple[float, float]],
        prefix: str = "tank.",  # the quantity's alarm names: tank.high_high, tank.pressure_rate
    ):
        self.prefix = prefix
        self.keys = keys
        self.index = {k: i for i, k in enumerate(keys)}
        col = {
            name: np.array([getattr(limits[k], name) for k in keys])
            for name in ("high", "high_high", "low", "max_rate_per_min", "stale_after_s")
        }
        self.high, self.hh, self.low = col["high"], col["high_high"], col["low"]
        self.max_rate, self.stale_after = col["max_rate_per_min"], col["stale_after_s"]
        n = len(keys)
        self.last_v = np.zeros(n)
        self.last_t = np.full(n, -np.inf)
        self.has_last = np.zeros(n, dtype=bool)
        self.state = np.zeros(n, dtype=np.int32)
        for k, (v, t) in last.items():
            i = self.index[k]
            self.last_v[i], self.last_t[i], self.has_last[i] = v, t, True

    def seed_state(self, held: dict[str, int]) -> None:
        for k, bits in held.items():
            self.state[self.index[k]] = bits

    def flags(self, idx: np.ndarray, v: np.ndarray, t: np.ndarray) -> tuple[np.ndarray, ...]:
        """Per reading (grouped by tank, in time order): the order, flags and entry bits."""
        order = np.lexsort((t, idx))
        si, sv, st = idx[order], v[order], t[order]
        n = len(si)
        first = np.ones(n, dtype=bool)
        first[1:] = si[1:] != si[:-1]
        lastof = np.ones(n, dtype=bool)
        lastof[:-1] = first[1:]
        prev_v = np.empty(n)
        prev_t = np.empty(n)
        prev_v[1:], prev_t[1:] = sv[:-1], st[:-1]
        fi = si[first]
        prev_v[first], prev_t[first] = self.last_v[fi], self.last_t[fi]
        has_prev = ~first
        has_prev[first] = self.has_last[fi]
        f = (
            np.where(sv >= self.high[si], H, 0)
            | np.where(sv >= self.hh[si], HH, 0)
            | np.where(sv <= self.low[si], LO, 0)
        ).astype(np.int32)
        dt = st - prev_t
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = np.where(has_prev & (dt > 0), (sv - prev_v) / (dt / 60.0), np.nan)
        f |= np.where(has_prev & (dt > self.stale_after[si]), STALE, 0).astype(np.int32)
        f |= np.where(np.abs(rate) > self.max_rate[si], RATE, 0).astype(np.int32)
        held = f & HELD
        before = np.empty(n, dtype=np.int32)
        before[1:] = held[:-1]
        before[first] = self.state[fi]
        li = si[lastof]
        self.last_v[li], self.last_t[li], self.has_last[li] = sv[lastof], st[lastof], True
        self.state[li] = held[lastof]
        return order, si, sv, st, f, held & ~before

    def evaluate(self, items: Sequence[dict[str, Any]]) -> list[tuple[str, str, float, float]]:
        """Reading dicts in, alarms (kind, tank, at, value) out."""
        get = self.index.get
        raw = [(get(str(d.get("id"))), d.get("value"), d.get("at")) for d in items]
        rows = [
            (i, float(v), float(t))
            for i, v, t in raw
            if i is not None and v is not None and t is not None
        ]
        if not rows:
            return []
        arr = np.array(rows)
        idx, v, t = arr[:, 0].astype(np.int64), arr[:, 1], arr[:, 2]
        ok = t >= self.last_t[idx]  # late readings are refused, as the hub does
        if not ok.all():
            idx, v, t = idx[ok], v[ok], t[ok]
        _, si, sv, st, f, new = self.flags(idx, v, t)
        alarms: list[tuple[str, str, float, float]] = []
        hits = np.flatnonzero(new | (f & (RATE | STALE)))
        keys, p = self.keys, self.prefix
        for j in hits.tolist():
            k, value, at, bits, entered = keys[si[j]], sv[j], st[j], int(f[j]), int(new[j])
            if entered & HH:
                alarms.append((f"{p}high_high", k, at, value))
            elif entered & H:
                alarms.append((f"{p}high", k, at, value))
            elif entered & LO:
                alarms.append((f"{p}low", k, at, value))
            if bits & RATE:
                alarms.append((f"{p}rate", k, at, value))
            if bits & STALE:
                alarms.append((f"{p}stale", k, at, value))
        return alarms


class PythonTanks:
    """The evaluation in pure Python: the oracle of the hub's rules
    (``core_ext.reference.risk.ReferenceTankAlarms``, over the core's reference monitor)."""

    def __init__(
        self,
        limits: dict[str, Any],
        last: dict[str, tuple[float, float]],
        held: dict[str, int] | None = None,
        prefix: str = "tank.",
    ) -> None:
        from core_ext.reference.risk import ReferenceTankAlarms

        self.prefix = prefix
        # the monitor's keys are ids or indexes (int | str): these are ids
        ids: dict[int | str, Any] = {k: v for k, v in limits.items()}
        seeded: dict[int | str, tuple[float, float]] = {k: v for k, v in last.items()}
        state: dict[int | str, int] = {k: v for k, v in (held or {}).items()}
        self.rules = ReferenceTankAlarms(ids, seeded, state)

    def evaluate(self, items: Sequence[dict[str, Any]]) -> list[tuple[str, str, float, float]]:
        limits, last = self.rules.monitor.limits, self.rules.monitor.last
        rows = []
        for d in items:
            k, v, t = str(d.get("id")), d.get("value"), d.get("at")
            if k not in limits or v is None or t is None:
                continue
            prev = last.get(k)
            if prev is not None and float(t) < prev[1]:
                continue
            rows.append((float(t), k, float(v)))
        rows.sort(key=lambda r: r[0])
        value_of = {(k, t): v for t, k, v in rows}
        times, ids, values = zip(*rows, strict=True) if rows else ((), (), ())
        raised = self.rules.evaluate(ids, values, times)
        p = self.prefix
        return [(f"{p}{name}", str(k), t, value_of[str(k), t]) for name, k, t in raised]


# ---------------------------------------------------------------------------------------------
# The runs


def _stored_readings(store: Any) -> int:
    from sqlalchemy import func, select

    from hub.store.tables import DeviceReadingRow

    with store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(DeviceReadingRow)).scalar())


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else math.inf


def _city(folder: Path) -> Any:
    from bench._city import generate_city, load_kinds, tank_sensors
    from hub.store import RecordStore

    city = generate_city()
    data = folder / "hub"
    data.mkdir()
    store = RecordStore.from_url(f"sqlite:///{data / 'cityhub.db'}")
    store.migrate()
    counts = load_kinds(store, city, ("Tank", "Sensor"), keep=tank_sensors)
    return store, data, counts


def _in_process(store: Any, total: int, profile: bool) -> dict[str, Any]:
    from hub import collector
    from hub.apps.hazchem.services import HazchemServices
    from hub.fanout import open_broadcast
    from hub.live import LiveBus

    collector.settle()  # as the served hub's lifespan does
    # the stream goes on from the demo city's last readings (May 2026): no window behind
    bus = LiveBus(open_broadcast(""), store, max_behind_s=0)
    hazchem = HazchemServices(store)
    hazchem.register_tanks(bus)
    t0 = time.perf_counter()
    watch = hazchem.tanks
    built_s = time.perf_counter() - t0
    keys = sorted(watch.specs)
    limits = {k: s.limits for k, s in watch.specs.items()}
    heights = {k: s.level_height_m for k, s in watch.specs.items()}
    last = {k: lr for k in keys if (lr := watch.monitor.last_reading(k)) is not None}
    held = dict(watch.state)
    stream = LevelStream(keys, limits, heights, last, seed=2019)
    # the baselines start where the hub starts: the sensors' last values, the same states
    np_tanks = NumpyTanks(keys, limits, last)
    np_tanks.seed_state(held)
    py_tanks = PythonTanks(limits, last, held)
    # two rounds, untimed: from the store's last values (some out of the normal band) onto
    # the drifting levels
    warm = stream.take(2 * len(keys))
    for side in (bus.evaluate, np_tanks.evaluate, py_tanks.evaluate):
        side(warm)

    out: dict[str, Any] = {"built_s": built_s, "tanks": len(keys), "sizes": {}}
    agree = True
    for size in BATCHES:
        batches = stream.batches(total, size)
        n = sum(len(b) for b in batches)
        hub_alarms: Counter[str] = Counter()
        t0 = time.perf_counter()
        for b in batches:
            result = bus.evaluate(b)
            assert result.accepted == len(b), result.rejected[:3]
            hub_alarms.update(a.kind for a in result.alarms)
        hub_s = time.perf_counter() - t0
        np_alarms: Counter[str] = Counter()
        t0 = time.perf_counter()
        for b in batches:
            np_alarms.update(a[0] for a in np_tanks.evaluate(b))
        np_s = time.perf_counter() - t0
        py_alarms: Counter[str] = Counter()
        t0 = time.perf_counter()
        for b in batches:
            py_alarms.update(a[0] for a in py_tanks.evaluate(b))
        py_s = time.perf_counter() - t0
        same = hub_alarms == np_alarms == py_alarms
        agree = agree and same
        out["sizes"][size] = {
            "readings": n,
            "hub": _rate(n, hub_s),
            "numpy": _rate(n, np_s),
            "python": _rate(n, py_s),
            "alarms": dict(hub_alarms),
            "agree": same,
            "detail": None if same else (dict(hub_alarms), dict(np_alarms), dict(py_alarms)),
        }

    # ingest(): evaluate in a worker thread, then store and publish the alarms
    batches = stream.batches(total, HTTP_BATCH)
    n = sum(len(b) for b in batches)
    # the baselines follow the stream (their state must stay the hub's), untimed
    for b in batches:
        np_tanks.evaluate(b)
        py_tanks.evaluate(b)

    async def ingest_all() -> tuple[float, int]:
        stored = 0
        t0 = time.perf_counter()
        for b in batches:
            result = await bus.ingest(b)
            stored += len(result.alarms)
        return time.perf_counter() - t0, stored

    before = _stored_readings(store)
    seconds, stored = asyncio.run(ingest_all())
    kept = _stored_readings(store) - before
    # the same size of batch, in memory only (evaluate: no store), on the next stretch of
    # the stream, right after: the rate the stored path is measured against
    memory = stream.batches(total, HTTP_BATCH)
    for b in memory:
        np_tanks.evaluate(b)
        py_tanks.evaluate(b)
    t0 = time.perf_counter()
    for b in memory:
        bus.evaluate(b)
    memory_s = time.perf_counter() - t0
    # the store's part alone: the next stretch evaluated (untimed), then only its writes
    # (store_batch: history, latest states, alarms, feed) timed
    writes = stream.batches(total, HTTP_BATCH)
    for b in writes:
        np_tanks.evaluate(b)
        py_tanks.evaluate(b)
    results = [bus.evaluate(b) for b in writes]
    t0 = time.perf_counter()
    for result in results:
        bus.store_batch(result)
    store_s = time.perf_counter() - t0
    out["ingest"] = {
        "readings": n,
        "hub": _rate(n, seconds),
        "alarms": stored,
        "stored": kept,
        "memory": _rate(sum(len(b) for b in memory), memory_s),
        "store": _rate(sum(len(r.readings) for r in results), store_s),
    }

    # the kernels alone: arrays in, flags out, on one more stretch of the stream
    out["kernel"] = _kernels(stream, keys, limits, total)
    out["agree"] = agree
    if profile:
        out["profile"] = _profile(bus.evaluate, stream, total)
        out["profile_stored"] = _profile(bus.ingest_sync, stream, total)
    return out


def _kernels(
    stream: LevelStream, keys: list[str], limits: dict[str, Any], total: int
) -> dict[str, float]:
    from core_ext import TankMonitor
    from core_ext.reference.risk import ReferenceTankMonitor

    index = {k: i for i, k in enumerate(keys)}
    by_index: dict[int | str, Any] = {index[k]: lim for k, lim in limits.items()}
    core = TankMonitor(by_index)
    ref = ReferenceTankMonitor(by_index)
    np_tanks = NumpyTanks(keys, limits, {})
    size = 5_000

    def arrays(items: list[dict[str, Any]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        idx = np.array([index[d["id"]] for d in items], dtype=np.int64)
        return idx, np.array([d["value"] for d in items]), np.array([d["at"] for d in items])

    warm = arrays(stream.take(len(keys)))  # every tank's previous reading, untimed
    core.evaluate(*warm)
    np_tanks.flags(*warm)
    ref.evaluate(*(a.tolist() for a in warm))
    items = stream.take(total)
    idx, values, times = arrays(items)
    cuts = [(idx[c : c + size], values[c : c + size], times[c : c + size])
            for c in range(0, len(items), size)]  # fmt: skip
    t0 = time.perf_counter()
    core_flags = [core.evaluate(*cut).flags for cut in cuts]
    core_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    np_out = [np_tanks.flags(*cut) for cut in cuts]
    np_s = time.perf_counter() - t0
    lists = [tuple(a.tolist() for a in cut) for cut in cuts]
    t0 = time.perf_counter()
    ref_flags = [ref.evaluate(*cut)[0] for cut in lists]
    ref_s = time.perf_counter() - t0
    same = True
    for c, (order, *_, f, _new), r in zip(core_flags, np_out, ref_flags, strict=True):
        back = np.empty_like(f)
        back[order] = f  # numpy's flags are grouped by tank: back to the readings' order
        same = same and np.array_equal(c, back) and np.array_equal(np.asarray(r), c)
    n = len(items)
    return {
        "readings": float(n),
        "core": _rate(n, core_s),
        "numpy": _rate(n, np_s),
        "python": _rate(n, ref_s),
        "agree": float(same),
    }


def _mixed(store: Any, total: int) -> dict[str, Any]:
    """A mixed load: every tank's level, temperature and pressure (18,000 sensors, each a
    reading per SAMPLE_S), interleaved in time, in batches of 5,000 through a fresh hub's
    ``LiveBus.evaluate`` (the three kinds routed to their own watch) and ``ingest`` (stored),
    against the numpy and pure-Python baselines, one per quantity, on the same readings."""
    from hub.apps.hazchem.services import HazchemServices
    from hub.apps.hazchem.tanks import QUANTITIES
    from hub.fanout import open_broadcast
    from hub.live import LiveBus

    bus = LiveBus(open_broadcast(""), store, max_behind_s=0)
    hazchem = HazchemServices(store)
    hazchem.register_tanks(bus)
    streams, np_side, py_side = [], {}, {}
    for i, q in enumerate(QUANTITIES):
        watch = hazchem.tank_watch(q.kind)
        keys = sorted(watch.specs)
        limits = {k: s.limits for k, s in watch.specs.items()}
        if q.kind == KIND:
            scales = {k: s.level_height_m for k, s in watch.specs.items()}
        else:  # a gauge's drift and band: a share of the span its limits allow
            scales = {
                k: (lim.high_high - lim.low)
                if math.isfinite(lim.high_high - lim.low)
                else abs(lim.high_high if math.isfinite(lim.high_high) else 100.0) / 2 or 1.0
                for k, lim in limits.items()
            }
        last = {k: lr for k in keys if (lr := watch.monitor.last_reading(k)) is not None}
        streams.append(LevelStream(keys, limits, scales, last, seed=2021 + i, kind=q.kind))
        np_side[q.kind] = NumpyTanks(keys, limits, last, prefix=q.alarm)
        np_side[q.kind].seed_state(dict(watch.state))
        py_side[q.kind] = PythonTanks(limits, last, dict(watch.state), prefix=q.alarm)

    def mixed(count: int) -> list[dict[str, Any]]:
        each = [stream.take(count // len(streams)) for stream in streams]
        return sorted((r for part in each for r in part), key=lambda r: r["at"])

    def by_kind(batch: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        out: dict[str, list[dict[str, Any]]] = {q.kind: [] for q in QUANTITIES}
        for r in batch:
            out[r["kind"]].append(r)
        return out

    start = max(stream.t0 for stream in streams)  # the three quantities report together
    for stream in streams:
        stream.t0 = start
    size = 5_000
    warm = mixed(2 * sum(len(s.keys) for s in streams))  # two rounds, untimed
    bus.evaluate(warm)
    for kind, mine in by_kind(warm).items():
        np_side[kind].evaluate(mine)
        py_side[kind].evaluate(mine)
    batches = [mixed(size) for _ in range(max(1, total // size))]
    n = sum(len(b) for b in batches)
    hub_alarms: Counter[str] = Counter()
    t0 = time.perf_counter()
    for b in batches:
        result = bus.evaluate(b)
        assert result.accepted == len(b), result.rejected[:3]
        hub_alarms.update(a.kind for a in result.alarms)
    hub_s = time.perf_counter() - t0
    split = [by_kind(b) for b in batches]  # the baselines are handed each kind apart, untimed
    np_alarms: Counter[str] = Counter()
    t0 = time.perf_counter()
    for parts in split:
        for kind, mine in parts.items():
            np_alarms.update(a[0] for a in np_side[kind].evaluate(mine))
    np_s = time.perf_counter() - t0
    py_alarms: Counter[str] = Counter()
    t0 = time.perf_counter()
    for parts in split:
        for kind, mine in parts.items():
            py_alarms.update(a[0] for a in py_side[kind].evaluate(mine))
    py_s = time.perf_counter() - t0
    # ingest(): evaluated and stored, on the next stretch of the same streams
    stored = [mixed(size) for _ in range(max(1, total // size))]
    t0 = time.perf_counter()
    for b in stored:
        bus.ingest_sync(b)
    ingest_s = time.perf_counter() - t0
    return {
        "sensors": sum(len(s.keys) for s in streams),
        "readings": n,
        "hub": _rate(n, hub_s),
        "numpy": _rate(n, np_s),
        "python": _rate(n, py_s),
        "ingest": _rate(sum(len(b) for b in stored), ingest_s),
        "alarms": dict(hub_alarms),
        "agree": hub_alarms == np_alarms == py_alarms,
        "detail": (dict(hub_alarms), dict(np_alarms), dict(py_alarms)),
    }


def _profile(path: Any, stream: LevelStream, total: int) -> str:
    batches = stream.batches(total, HTTP_BATCH)
    prof = cProfile.Profile()
    prof.enable()
    for b in batches:
        path(b)
    prof.disable()
    text = io.StringIO()
    pstats.Stats(prof, stream=text).sort_stats("tottime").print_stats(12)
    lines = [ln for ln in text.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if "tottime" in ln), 0)
    return "\n".join("    " + ln for ln in lines[start : start + 13])


def _http(data: Path, store: Any, total: int) -> dict[str, Any]:
    import httpx

    from bench._serve import served_process
    from hub.apps.hazchem.services import HazchemServices
    from hub.auth.accounts import AccountStore

    accounts = AccountStore(store.engine)
    _, secret = accounts.create_client(
        "bench-tank-gateway",
        scopes=["telemetry:write"],
        rate_per_minute=10**9,
        client_id="bench-tank-gateway",
        devices=["tank.level:*"],  # the gateway of every tank's level sensor
    )
    assert secret is not None
    # a fresh stream from the same starting point: the served hub seeds its own TankWatch
    # from the store's sensors, as the in-process one did
    watch = HazchemServices(store).tanks
    keys = sorted(watch.specs)
    last = {k: lr for k in keys if (lr := watch.monitor.last_reading(k)) is not None}
    limits = {k: s.limits for k, s in watch.specs.items()}
    heights = {k: s.level_height_m for k, s in watch.specs.items()}
    stream = LevelStream(keys, limits, heights, last, seed=2020)
    owner = {k: i % HTTP_CLIENTS for i, k in enumerate(keys)}  # each gateway its own tanks

    def bodies(readings: list[dict[str, Any]]) -> list[list[bytes]]:
        per: list[list[dict[str, Any]]] = [[] for _ in range(HTTP_CLIENTS)]
        for r in readings:
            per[owner[r["id"]]].append(r)
        out: list[list[bytes]] = []
        for mine in per:
            cuts = range(0, len(mine), HTTP_BATCH)
            out.append([json.dumps({"readings": mine[c : c + HTTP_BATCH]}).encode() for c in cuts])
        return out

    warm = bodies(stream.take(len(keys)))
    timed = bodies(stream.take(total))
    env = {
        "CITYHUB_DATA_DIR": str(data),
        "CITYHUB_LOG_LEVEL": "warning",
        "CITYHUB_TELEMETRY_MAX_BEHIND_S": "0",  # the stream follows the demo city's data
    }
    with served_process("hub.app:create_app", env, max_seconds=120 + total / 5_000) as base:
        token_answer = httpx.post(
            f"{base}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "telemetry:write"},
            auth=("bench-tank-gateway", secret),
            timeout=30,
        )
        assert token_answer.status_code == 200, token_answer.text
        headers = {
            "Authorization": f"Bearer {token_answer.json()['access_token']}",
            "Content-Type": "application/json",
        }

        async def post_all(plan: list[list[bytes]]) -> dict[str, Any]:
            tally: Counter[str] = Counter()
            latencies: list[float] = []

            async def gateway(mine: list[bytes]) -> None:
                async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as h:
                    for body in mine:
                        t0 = time.perf_counter()
                        answer = await h.post("/telemetry", content=body)
                        latencies.append(time.perf_counter() - t0)
                        assert answer.status_code == 200, answer.text[:300]
                        got = answer.json()
                        tally["accepted"] += got["accepted"]
                        tally["rejected"] += got["rejectedCount"]
                        tally["alarms"] += got["alarmCount"]

            t0 = time.perf_counter()
            await asyncio.gather(*(gateway(mine) for mine in plan))
            wall = time.perf_counter() - t0
            return {"wall": wall, "latencies": latencies, **tally}

        asyncio.run(post_all(warm))
        got = asyncio.run(post_all(timed))
    sent = sum(len(json.loads(b)["readings"]) for mine in timed for b in mine)
    lat = np.asarray(got["latencies"]) * 1000
    return {
        "readings": sent,
        "accepted": got.get("accepted", 0),
        "rejected": got.get("rejected", 0),
        "alarms": got.get("alarms", 0),
        "hub": _rate(got.get("accepted", 0), got["wall"]),
        "p50_ms": float(np.percentile(lat, 50)),
        "p99_ms": float(np.percentile(lat, 99)),
        "posts": len(lat),
    }


def main(quick: bool = False) -> int:
    total = 20_000 if quick else 200_000
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        store, data, counts = _city(Path(tmp))
        setup_s = time.perf_counter() - t0
        local = _in_process(store, total, profile=not quick)
        http = _http(data, store, total * 2)
        mix = _mixed(store, total)  # after the served hub: its own watches, its own readings
        store.close()
        profile = local.get("profile")
        profile_stored = local.get("profile_stored")
        missed = min(s["hub"] for s in local["sizes"].values()) < TARGET_PER_S
        missed = missed or http["hub"] < TARGET_PER_S or local["ingest"]["hub"] < TARGET_PER_S
        missed = missed or mix["hub"] < TARGET_PER_S

    print(
        f"telemetry ingest: {local['tanks']:,} tanks ({counts.get('Sensor', 0):,} sensors), "
        f"a reading per tank per {SAMPLE_S:.0f} s, {EXCURSION_SHARE:.1%} excursions over "
        f"high-high; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
        f"(city {setup_s:.1f} s, TankWatch from store {local['built_s']:.2f} s)"
    )
    print("  in-process, LiveBus.evaluate (parse + route + check + TankWatch + alarms)")
    for size, s in local["sizes"].items():
        alarms = ", ".join(f"{k.removeprefix('tank.')} {v}" for k, v in sorted(s["alarms"].items()))
        print(f"    batches of {size:>6,}: hub {s['hub']:>10,.0f} readings/s   "
              f"numpy {s['numpy']:>10,.0f} (hub x{s['hub'] / s['numpy']:.2f})   "
              f"pure Python {s['python']:>9,.0f} (hub x{s['hub'] / s['python']:.2f})   "
              f"[{s['readings']:,} readings; alarms: {alarms or 'none'}]")  # fmt: skip
        if not s["agree"]:
            print(f"      ALARMS DIFFER hub / numpy / python: {s['detail']}")
    ing = local["ingest"]
    print(f"  in-process, LiveBus.ingest, readings stored (history, latest state, alarms, feed; "
          f"one transaction per batch), batches of {HTTP_BATCH:,}: {ing['hub']:,.0f} readings/s "
          f"against {ing['memory']:,.0f} in memory only (evaluate, same batches, same run; "
          f"stored x{ing['hub'] / ing['memory']:.2f}) [{ing['readings']:,} readings, "
          f"{ing['stored']:,} rows in device_readings, {ing['alarms']} alarms]; the store's "
          f"writes alone (store_batch) {ing['store']:,.0f} readings/s")  # fmt: skip
    k = local["kernel"]
    print(f"  kernels alone (arrays in, flags out), batches of 5,000: TankMonitor "
          f"{k['core']:,.0f}/s   numpy {k['numpy']:,.0f}/s (core x{k['core'] / k['numpy']:.2f})"
          f"   reference {k['python']:,.0f}/s (core x{k['core'] / k['python']:.1f})"
          f"{'' if k['agree'] else '   FLAGS DIFFER'}")  # fmt: skip
    print(f"  end to end, POST /telemetry (uvicorn, 1 worker, child process), {HTTP_CLIENTS} "
          f"gateways x batches of {HTTP_BATCH:,}: {http['hub']:,.0f} readings/s "
          f"(hub x{http['hub'] / local['sizes'][HTTP_BATCH]['numpy']:.2f} of in-process numpy); "
          f"per post p50 {http['p50_ms']:.0f} ms p99 {http['p99_ms']:.0f} ms "
          f"[{http['accepted']:,} of {http['readings']:,} accepted, {http['rejected']} refused, "
          f"{http['alarms']} alarms, {http['posts']} posts]")  # fmt: skip
    alarms = ", ".join(f"{k.removeprefix('tank.')} {v}" for k, v in sorted(mix["alarms"].items()))
    print(f"  mixed level / temperature / pressure ({mix['sensors']:,} sensors, the three kinds "
          f"interleaved), LiveBus.evaluate, batches of 5,000: hub {mix['hub']:,.0f} readings/s   "
          f"numpy {mix['numpy']:,.0f} (hub x{mix['hub'] / mix['numpy']:.2f})   pure Python "
          f"{mix['python']:,.0f} (hub x{mix['hub'] / mix['python']:.2f}); stored (ingest) "
          f"{mix['ingest']:,.0f} readings/s (x{mix['ingest'] / mix['hub']:.2f} of in memory); "
          f"levels only, same run: hub x{mix['hub'] / local['sizes'][5_000]['hub']:.2f} "
          f"[{mix['readings']:,} readings; alarms: {alarms or 'none'}]")  # fmt: skip
    if not mix["agree"]:
        print(f"      ALARMS DIFFER hub / numpy / python: {mix['detail']}")
    verdict = "missed" if missed else "met"
    print(f"  target >= {TARGET_PER_S:,.0f} readings/s (every path above): {verdict}")
    if missed and profile:
        print("  where the time goes, LiveBus.evaluate (in memory):")
        print(profile)
    if missed and profile_stored:
        print("  where the time goes, LiveBus.ingest_sync (evaluated and stored):")
        print(profile_stored)
    ok = local["agree"] and bool(k["agree"]) and http["accepted"] == http["readings"]
    ok = ok and mix["agree"]
    ok = ok and ing["stored"] == ing["readings"]  # every accepted reading is in the history
    if not ok:
        print("  baselines disagree with the hub, or readings were refused")
        return 1
    return 1 if missed and not quick else 0


if __name__ == "__main__":
    raise SystemExit(main(quick=True))
