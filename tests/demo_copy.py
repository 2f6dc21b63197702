"""A copy of the session's demo city for one test module (what it files stays in it), and the
records of the source systems the city generator leaves out (``simcity.sandbox.extra``)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hub.store import RecordStore
from schema.record import Record

# the demo city's records the extra systems are built from
EXTRA_INPUTS = ("Citizen", "FinanceFirm", "Enterprise", "IndustrialPark")


def copy_of(demo_store: RecordStore, folder: Path) -> RecordStore:
    """The demo store copied into ``folder/hub.db``."""
    source = demo_store.engine.url.database
    assert source
    with sqlite3.connect(source) as src, sqlite3.connect(folder / "hub.db") as dst:
        src.backup(dst)
    return RecordStore.from_url(f"sqlite:///{folder / 'hub.db'}")


def _read(folder: Path, kind: str) -> list[dict[str, Any]]:
    with (folder / f"{kind}.jsonl").open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def extra_records(demo_dir: Path, *systems: str) -> Iterator[Record]:
    """The records of ``systems`` (``law-enforcement``, ``economic-stats`` ...) for the demo
    city, as the sandbox makes them."""
    from simcity.sandbox.extra import build_extra

    extra = build_extra(2019, {k: _read(demo_dir, k) for k in EXTRA_INPUTS})
    for system in systems:
        for r in extra[system]:
            yield Record.model_validate({k: v for k, v in r.items() if k != "updated_at"})
