"""The served hub collects garbage less often (hub.collector; the gain is measured by
bench/telemetry_ingest.py), and reference cycles are still collected."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from starlette.testclient import TestClient

from hub import collector
from hub.app import create_app
from hub.config import load_settings


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_the_served_hub_collects_young_objects_less_often(tmp_path: Path) -> None:
    before = gc.get_threshold()
    gc.set_threshold(700, before[1], before[2])  # CPython's default, as a process starts
    try:
        app = create_app(load_settings(data_dir=tmp_path))
        assert gc.get_threshold()[0] == 700  # building the app leaves the process alone
        with TestClient(app) as client:  # the lifespan runs: the served hub
            assert client.get("/healthz").status_code == 200
            assert gc.get_threshold() == (collector.YOUNG_THRESHOLD, before[1], before[2])
            a, b = _Node(), _Node()
            a.other, b.other = b, a  # a cycle: reference counting alone never frees it
            gone = weakref.ref(a)
            del a, b
            gc.collect()
            assert gone() is None
    finally:
        gc.set_threshold(*before)
