"""Argument coercion shared by the facade: array-likes -> contiguous float64 / int arrays.

Wrong dtypes (strings, objects, complex, booleans) raise ``TypeError``; wrong shapes raise
``ValueError``. The compiled kernels then check lengths and finiteness themselves.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

_REAL_KINDS = "iuf"


def as_f64(name: str, values: Any) -> npt.NDArray[np.float64]:
    """Return ``values`` as a C-contiguous 1-D float64 array (a view when already one)."""
    arr = np.asarray(values)
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def as_f64_2d(name: str, values: Any, ncols: int | None = None) -> npt.NDArray[np.float64]:
    """Return ``values`` as a C-contiguous 2-D float64 array, optionally with ``ncols``."""
    arr = np.asarray(values)
    if arr.dtype.kind not in _REAL_KINDS:
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or (ncols is not None and arr.shape[1] != ncols):
        want = f"(n, {ncols})" if ncols is not None else "(n, m)"
        raise ValueError(f"{name} must have shape {want}, got {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.float64)


def as_i64(name: str, values: Any) -> npt.NDArray[np.int64]:
    """Return ``values`` as a C-contiguous 1-D int64 array; floats are refused."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must hold integers, got dtype {arr.dtype}")
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def real_scalar(name: str, value: Any) -> float:
    """Return a real scalar as float; ``TypeError`` for anything else (bools included)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    return float(value)
