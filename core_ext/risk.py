"""Risk scoring: the smoke index (非法集资 "smoke" early warning) and tank-reading alarms.

**Smoke index.** Firms x 5 dimensions — compliance deviation, social propagation,
inducement (promised-return lure), complaint rate, risk-keyword hits — each transformed into
[0, 1] (``linear(lo, hi)``, ``log(hi)``, ``sigmoid(mid, width)``), weighted, scaled to 0-100.
Each firm's per-dimension contribution (the explanation) sums to its score. Levels count the
bands the score is strictly above: with the default bands (40, 60, 80), 0 normal, 1 watched
(above 40), 2 warning, 3 alert.

**Tank alarms.** Per tank: ``high`` / ``high_high`` / ``low`` thresholds, maximum rate of change
per minute, and a stale-sensor limit (seconds of silence). ``TankMonitor`` remembers each
tank's last reading across batches; :func:`evaluate_tank_readings` is the one-shot form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from . import _core
from ._arrays import as_f64, as_f64_2d

SMOKE_DIMENSIONS: tuple[str, ...] = (
    "compliance_deviation",
    "social_propagation",
    "inducement",
    "complaint_rate",
    "risk_keyword_hits",
)

TransformKind = Literal["linear", "log", "sigmoid"]
_KIND_CODES = {"linear": 0, "log": 1, "sigmoid": 2}


@dataclass(frozen=True)
class Transform:
    """How one dimension's raw value becomes a [0, 1] risk.

    ``linear``: clamp((x - p1) / (p2 - p1), 0, 1); ``log``: clamp(ln(1 + max(x, 0)) /
    ln(1 + p1), 0, 1); ``sigmoid``: 1 / (1 + exp((p1 - x) / p2)).
    """

    kind: TransformKind
    p1: float
    p2: float = 0.0

    @staticmethod
    def linear(lo: float, hi: float) -> Transform:
        return Transform("linear", lo, hi)

    @staticmethod
    def log(hi: float) -> Transform:
        return Transform("log", hi)

    @staticmethod
    def sigmoid(mid: float, width: float) -> Transform:
        return Transform("sigmoid", mid, width)


def _default_transforms() -> tuple[Transform, ...]:
    return (
        Transform.linear(0.0, 1.0),  # share of compliance checks deviating
        Transform.log(10_000.0),  # shares / mentions of the firm's pitch
        Transform.linear(6.0, 30.0),  # promised annual return, %
        Transform.linear(0.0, 10.0),  # complaints per 1,000 clients
        Transform.log(100.0),  # risk-keyword hits
    )


@dataclass(frozen=True)
class SmokeIndexConfig:
    """Weights, per-dimension transforms and level bands of the smoke index."""

    weights: tuple[float, ...] = (0.25, 0.15, 0.25, 0.15, 0.20)
    transforms: tuple[Transform, ...] = field(default_factory=_default_transforms)
    bands: tuple[float, ...] = (40.0, 60.0, 80.0)
    dimensions: tuple[str, ...] = SMOKE_DIMENSIONS

    def arrays(self) -> tuple[Any, ...]:
        """(weights, kinds, p1, p2, bands) as the compiled kernel takes them."""
        if len(self.transforms) != len(self.weights):
            raise ValueError(f"{len(self.weights)} weights but {len(self.transforms)} transforms")
        try:
            kinds = [_KIND_CODES[t.kind] for t in self.transforms]
        except KeyError as exc:
            raise ValueError(f"unknown transform kind {exc.args[0]!r}") from exc
        return (
            as_f64("weights", self.weights),
            np.asarray(kinds, dtype=np.int64),
            as_f64("p1", [t.p1 for t in self.transforms]),
            as_f64("p2", [t.p2 for t in self.transforms]),
            as_f64("bands", self.bands),
        )


@dataclass(frozen=True)
class SmokeIndexResult:
    """Scores (n,), levels (n,) and per-dimension contributions (n, m) of the smoke index."""

    scores: npt.NDArray[np.float64]
    levels: npt.NDArray[np.int32]
    contributions: npt.NDArray[np.float64]
    dimensions: tuple[str, ...]

    def explain(self, firm: int) -> dict[str, float]:
        """One firm's contributions by dimension name."""
        return dict(zip(self.dimensions, self.contributions[firm].tolist(), strict=True))


def smoke_index(features: Any, config: SmokeIndexConfig | None = None) -> SmokeIndexResult:
    """Score firms: ``features`` is (n_firms, n_dimensions) raw values (GIL released).

    NaN/inf features, wrong shapes, bad weights or transforms raise ``ValueError``;
    non-numeric arrays raise ``TypeError``.
    """
    cfg = config or SmokeIndexConfig()
    weights, kinds, p1, p2, bands = cfg.arrays()
    x = as_f64_2d("features", features, len(weights))
    scores, levels, contributions = _core.smoke_index(x, weights, kinds, p1, p2, bands)
    dims = (
        cfg.dimensions
        if len(cfg.dimensions) == len(weights)
        else tuple(f"d{i}" for i in range(len(weights)))
    )
    return SmokeIndexResult(scores, levels, contributions, dims)


# ---------------------------------------------------------------------------------------------
# Tanks

TANK_HIGH: int = _core.TANK_HIGH
TANK_HIGH_HIGH: int = _core.TANK_HIGH_HIGH
TANK_LOW: int = _core.TANK_LOW
TANK_RATE: int = _core.TANK_RATE
TANK_STALE: int = _core.TANK_STALE

TankId = int | str


@dataclass(frozen=True)
class TankLimits:
    """Alarm limits of one tank; ``nan`` disables a limit.

    HIGH when value >= high, HIGH_HIGH when value >= high_high (both flags then), LOW when
    value <= low, RATE when |change per minute| > max_rate_per_min, STALE on a reading that
    comes more than stale_after_s seconds after the tank's previous one.
    """

    high: float = math.nan
    high_high: float = math.nan
    low: float = math.nan
    max_rate_per_min: float = math.nan
    stale_after_s: float = math.nan


@dataclass(frozen=True)
class TankEvaluation:
    """Per reading: alarm ``flags`` (bit set of TANK_*) and ``rates`` (change per minute)."""

    flags: npt.NDArray[np.int32]
    rates: npt.NDArray[np.float64]

    def alarms(self, i: int) -> list[str]:
        """Names of the alarms raised by reading ``i``."""
        names = ("high", "high_high", "low", "rate", "stale")
        return [n for b, n in enumerate(names) if int(self.flags[i]) >> b & 1]


def _ids_arg(ids: Any) -> Any:
    if isinstance(ids, np.ndarray):
        if ids.dtype.kind in "iu":
            return np.ascontiguousarray(ids, dtype=np.int64)
        if ids.dtype.kind in "fcb":
            raise TypeError(f"tank ids must be ints or strs, got dtype {ids.dtype}")
        return ids.tolist()
    return ids


class TankMonitor(_core.TankMonitor):
    """Tank alarm evaluation that remembers each tank's last reading between batches."""

    def __new__(cls, limits: Mapping[TankId, TankLimits]) -> TankMonitor:
        ids = list(limits)
        for tid in ids:
            if not isinstance(limits[tid], TankLimits):
                raise TypeError(f"limits of tank {tid!r} must be a TankLimits")
        cols = [
            as_f64(name, [getattr(limits[t], name) for t in ids])
            for name in ("high", "high_high", "low", "max_rate_per_min", "stale_after_s")
        ]
        return super().__new__(cls, ids, *cols)

    # the facade takes any array-like and answers a TankEvaluation, not the raw columns
    def evaluate(  # type: ignore[override]
        self, tank_ids: Sequence[TankId] | npt.NDArray[np.int64], values: Any, times: Any
    ) -> TankEvaluation:
        """Evaluate readings (times in seconds) in order; see :class:`TankLimits`."""
        flags, rates = super().evaluate(
            _ids_arg(tank_ids), as_f64("values", values), as_f64("times", times)
        )
        return TankEvaluation(flags, rates)


def evaluate_tank_readings(
    limits: Mapping[TankId, TankLimits],
    tank_ids: Sequence[TankId] | npt.NDArray[np.int64],
    values: Any,
    times: Any,
) -> TankEvaluation:
    """One-shot alarm evaluation of a batch of readings (no memory of earlier batches)."""
    return TankMonitor(limits).evaluate(tank_ids, values, times)
