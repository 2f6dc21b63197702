"""Fixtures for the compiled-core tests: exact synthetic tessellations and the real grid."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from core_ext.reference.tessellations import jittered_lattice


@pytest.fixture(scope="session")
def lattice() -> tuple[list[dict[str, Any]], np.ndarray]:
    return jittered_lattice(12, 9, seed=7)


@pytest.fixture(scope="session")
def binhai_cells() -> list[dict[str, Any]]:
    geography = pytest.importorskip("simcity.binhai.geography")
    cells = geography.grid_cells(seed=2019)
    assert len(cells) == 743
    return cells
