"""Reference (oracle) for the smoke index and tank alarms, in plain Python loops."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from ..risk import (
    TANK_HIGH,
    TANK_HIGH_HIGH,
    TANK_LOW,
    TANK_RATE,
    TANK_STALE,
    SmokeIndexConfig,
    TankId,
    TankLimits,
)


def _transform(kind: str, p1: float, p2: float, x: float) -> float:
    if kind == "linear":
        return min(max((x - p1) * (1.0 / (p2 - p1)), 0.0), 1.0)
    if kind == "log":
        return min(max(math.log1p(max(x, 0.0)) * (1.0 / math.log1p(p1)), 0.0), 1.0)
    z = (p1 - x) * (1.0 / p2)
    e = math.exp(z) if z < 709.0 else math.inf
    return 1.0 / (1.0 + e)


def smoke_index(
    features: Sequence[Sequence[float]], config: SmokeIndexConfig | None = None
) -> tuple[list[float], list[int], list[list[float]]]:
    cfg = config or SmokeIndexConfig()
    wsum = sum(cfg.weights)
    factor = [100.0 * w / wsum for w in cfg.weights]
    scores, levels, contributions = [], [], []
    for row in features:
        contrib = []
        score = 0.0
        for d, x in enumerate(row):
            if not math.isfinite(x):
                raise ValueError("features must be finite")
            t = cfg.transforms[d]
            v = _transform(t.kind, t.p1, t.p2, x) * factor[d]
            contrib.append(v)
            score += v
        scores.append(score)
        levels.append(sum(1 for b in cfg.bands if score > b))
        contributions.append(contrib)
    return scores, levels, contributions


class ReferenceTankMonitor:
    def __init__(self, limits: Mapping[TankId, TankLimits]) -> None:
        self.limits = dict(limits)
        self.last: dict[TankId, tuple[float, float]] = {}

    def evaluate(
        self, tank_ids: Sequence[TankId], values: Sequence[float], times: Sequence[float]
    ) -> tuple[list[int], list[float]]:
        last = dict(self.last)
        flags, rates = [], []
        for i, (tid, v, t) in enumerate(zip(tank_ids, values, times, strict=True)):
            lim = self.limits[tid]  # KeyError for unknown tanks
            if not (math.isfinite(v) and math.isfinite(t)):
                raise ValueError(f"reading {i}: value and time must be finite")
            f = 0
            if v >= lim.high:
                f |= TANK_HIGH
            if v >= lim.high_high:
                f |= TANK_HIGH_HIGH
            if v <= lim.low:
                f |= TANK_LOW
            rate = math.nan
            if tid in last:
                lv, lt = last[tid]
                dt = t - lt
                if dt < 0:
                    raise ValueError(f"reading {i} goes back in time")
                if dt > lim.stale_after_s:
                    f |= TANK_STALE
                if dt > 0:
                    rate = (v - lv) / (dt / 60.0)
                    if abs(rate) > lim.max_rate_per_min:
                        f |= TANK_RATE
            flags.append(f)
            rates.append(rate)
            last[tid] = (v, t)
        self.last = last
        return flags, rates

    def stale(self, now: float) -> list[TankId]:
        return [
            tid
            for tid, lim in self.limits.items()
            if tid not in self.last or now - self.last[tid][1] > lim.stale_after_s
        ]


class ReferenceTankAlarms:
    """The hub's alarm rules over the tank monitor's flags (hub.apps.hazchem.tanks), in plain
    loops: per reading, an alarm when a tank *enters* a threshold state (the most severe of
    high_high / high / low), ``rate`` on every reading that shows one, and ``stale`` when a
    reading ends a silence past the window; :meth:`silent` raises ``stale`` at ``now`` without a
    reading. Stale counts only for tanks that reported (read by :meth:`evaluate`, not merely
    seeded with a source's last value) and is raised once per silence, by whichever of the two
    sees it first. Alarms are ``(name, tank, at)``."""

    _ENTRIES = ((TANK_HIGH_HIGH, "high_high"), (TANK_HIGH, "high"), (TANK_LOW, "low"))

    def __init__(
        self,
        limits: Mapping[TankId, TankLimits],
        seeded: Mapping[TankId, tuple[float, float]] | None = None,
        held: Mapping[TankId, int] | None = None,
        reported: Sequence[TankId] = (),
    ) -> None:
        self.monitor = ReferenceTankMonitor(limits)
        self.monitor.last = dict(seeded or {})
        self.state: dict[TankId, int] = dict(held or {})
        self.reported: set[TankId] = set(reported)
        self.silenced: dict[TankId, float] = {}  # tank -> the reading its alarmed silence began at

    def evaluate(
        self, tank_ids: Sequence[TankId], values: Sequence[float], times: Sequence[float]
    ) -> list[tuple[str, TankId, float]]:
        last = {tid: t for tid, (_, t) in self.monitor.last.items()}
        flags, _ = self.monitor.evaluate(tank_ids, values, times)
        alarms: list[tuple[str, TankId, float]] = []
        for tid, t, f in zip(tank_ids, times, flags, strict=True):
            held = f & (TANK_HIGH | TANK_HIGH_HIGH | TANK_LOW)
            entered = held & ~self.state.get(tid, 0)
            self.state[tid] = held
            for bit, name in self._ENTRIES:
                if entered & bit:
                    alarms.append((name, tid, t))
                    break
            if f & TANK_RATE:
                alarms.append(("rate", tid, t))
            began = last.get(tid)
            if (
                f & TANK_STALE
                and tid in self.reported
                and began is not None
                and self.silenced.get(tid) != began
            ):
                alarms.append(("stale", tid, t))
            last[tid] = t
            self.reported.add(tid)
            self.silenced.pop(tid, None)
        return alarms

    def silent(self, now: float) -> list[tuple[str, TankId, float]]:
        alarms: list[tuple[str, TankId, float]] = []
        for tid in self.monitor.stale(now):
            if tid not in self.reported or tid not in self.monitor.last:
                continue
            began = self.monitor.last[tid][1]
            if self.silenced.get(tid) != began:
                self.silenced[tid] = began
                alarms.append(("stale", tid, now))
        return alarms
