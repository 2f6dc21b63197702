"""The benchmarks run (quick mode, once): no timing assertions, only that they work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_quick_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "bench", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr
    for figure in (
        "locate_many",
        "vs shapely",
        "vs numpy LUT",
        "vs cKDTree",
        "smoke_index",
        "readings/s",
        "plain strawberry",
        "dispatch",
        "mask_pii",
    ):
        assert figure in out.stdout
