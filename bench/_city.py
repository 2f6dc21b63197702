"""The demo city for the hub-level benchmarks: generated like the tests do
(``simcity.binhai.generate``, seed 2019, scale 1) and loaded into a SQLite store, only the
kinds a benchmark needs (the whole city takes far longer to load than to use)."""

from __future__ import annotations

import atexit
import json
import tempfile
from collections.abc import Callable, Iterable
from itertools import islice
from pathlib import Path
from typing import Any

from hub.store import RecordStore

SEED = 2019
_CHUNK = 2000


_generated: list[Path] = []  # generated once per process (python -m bench runs several)


def generate_city() -> Path:
    """The Binhai demo city's ``<Kind>.jsonl`` files, in a temporary folder removed when the
    process ends."""
    from simcity.binhai.generate import generate

    if not _generated:
        holder = tempfile.TemporaryDirectory(prefix="cityhub-bench-city-")
        atexit.register(holder.cleanup)
        out = Path(holder.name)
        generate(out, seed=SEED, scale=1)
        _generated.append(out)
    return _generated[0]


def load_kinds(
    store: RecordStore,
    city: Path,
    kinds: Iterable[str],
    keep: Callable[[dict[str, Any]], bool] | None = None,
) -> dict[str, int]:
    """Load the given kinds of a generated city (optionally only the records ``keep``
    accepts) through the store's real ingest; the counts loaded, by kind."""
    counts: dict[str, int] = {}
    for kind in kinds:
        with (city / f"{kind}.jsonl").open(encoding="utf-8") as lines:
            items: Iterable[Any] = (line for line in lines if line.strip())
            if keep is not None:
                items = (d for d in map(json.loads, items) if keep(d))
            while chunk := list(islice(items, _CHUNK)):
                report = store.ingest(chunk, source_system=f"demo:{kind}")
                assert report.rejected == 0, report.errors[:3]
                counts[kind] = counts.get(kind, 0) + report.accepted
    return counts


def tank_level_sensors(record: dict[str, Any]) -> bool:
    """Of the sensors, the tanks' level sensors (the ones ``TankWatch`` starts from)."""
    key = str(record.get("key", ""))
    return record.get("kind") != "Sensor" or (key.startswith("TNK-") and key.endswith("-L"))


def tank_sensors(record: dict[str, Any]) -> bool:
    """Of the sensors, the tanks' (level, temperature and pressure: the ones the tank
    watches start from)."""
    return record.get("kind") != "Sensor" or str(record.get("key", "")).startswith("TNK-")
