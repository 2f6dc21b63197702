"""The hub's cost of the living city's hazardous-chemicals and muck-truck telemetry at the
streams' default rates (simcity.sandbox.streams.hazchem, .muck: every online tank sensor at
its own sampling interval, every hazchem vehicle and muck truck every 15 s — about 1,150
readings a second of the city's time at speed 1).

One minute of the city's time is drawn from the streams themselves (their 1 s ticks, one batch
per kind and tick, as they publish) after a minute of warm-up, and fed to the hub's live bus:
``LiveBus.ingest_sync`` (parse, route, check, the apps' watches, alarms, and every reading
stored) against ``LiveBus.evaluate`` (the same without the store) on a second hub over a copy
of the same store, in the same run. Printed: readings a second of the city, CPU seconds per
city minute, the share of one core at speed 1 (and so the speed one core would keep up with),
and stored / in memory. Run: ``python -m bench --only living`` (``--quick``: 20 s of the
city)."""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

KINDS = (
    "Tank", "Sensor", "HazchemSite", "HazchemVehicle", "Camera", "River", "GridCell",
    "IndustrialPark", "MuckTruck", "ConstructionSite", "DumpingSite",
)  # fmt: skip


def _batches(city_dir: Path, seconds: int) -> tuple[list[list[dict[str, Any]]], int]:
    """The streams' batches over ``seconds`` of the city after as much warm-up: (warm-up and
    measured batches, how many are warm-up)."""
    from simcity.binhai.context import CST
    from simcity.clock import SimClock
    from simcity.sandbox.dataset import build, read_city
    from simcity.sandbox.streams import LiveCity, hazchem, muck
    from simcity.sandbox.streams.movement import FixStream

    start = datetime.now(CST).replace(hour=23, minute=0, second=0, microsecond=0)
    systems = build(2019, read_city(city_dir))
    city = LiveCity(SimClock(start=start), 2019, systems, "127.0.0.1", 1)
    t0 = start.timestamp()
    sensors = hazchem.tank_sensors(city, t0)
    routes, permits = hazchem.routes(city, t0), muck.permits(city, t0)
    fleets = [
        FixStream("v", "vehicle.fix", routes.fleet, hazchem.planner(city, routes), 15.0, 58.0),
        FixStream("m", "muck.fix", permits.fleet, muck.planner(city, permits), 15.0, 55.0),
    ]
    rng = np.random.default_rng(1)
    out: list[list[dict[str, Any]]] = []
    warm = 0
    for n in range(1, 2 * seconds + 1):
        t = t0 + n
        out += [hazchem.due_readings(s, t, rng) for s in sensors.values()]
        out += [f.fixes(t, rng) for f in fleets]
        if n == seconds:
            warm = len(out)
    return out, warm


def _hub(folder: Path) -> Any:
    from hub.app import create_app
    from hub.config import load_settings
    from hub.store import RecordStore

    store = RecordStore.from_url(f"sqlite:///{folder / 'cityhub.db'}")
    app = create_app(load_settings(data_dir=folder, telemetry_max_behind_s=0), store=store)
    return app.state.hub.live, store


def _timed(run: Any, batches: list[list[dict[str, Any]]]) -> tuple[float, int, int]:
    """CPU seconds, readings accepted, alarms."""
    accepted = alarms = 0
    c0 = time.process_time()
    for b in batches:
        result = run(b)
        accepted += result.accepted
        alarms += len(result.alarms)
    return time.process_time() - c0, accepted, alarms


def main(quick: bool = False) -> int:
    from bench._city import generate_city, load_kinds
    from hub.store import RecordStore

    seconds = 20 if quick else 60
    load = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        city_dir = generate_city()
        stored_dir, memory_dir = Path(tmp) / "stored", Path(tmp) / "memory"
        stored_dir.mkdir()
        memory_dir.mkdir()
        store = RecordStore.from_url(f"sqlite:///{stored_dir / 'cityhub.db'}")
        store.migrate()
        load_kinds(store, city_dir, KINDS)
        store.close()
        with (
            sqlite3.connect(stored_dir / "cityhub.db") as src,
            sqlite3.connect(memory_dir / "cityhub.db") as dst,
        ):
            src.backup(dst)
        drawn, split = _batches(city_dir, seconds)
        warm_up = [b for b in drawn[:split] if b]
        batches = warm_up + [b for b in drawn[split:] if b]
        warm = len(warm_up)
        results = {}
        for name, folder in (("stored", stored_dir), ("memory", memory_dir)):
            live, hub_store = _hub(folder)
            run = live.ingest_sync if name == "stored" else live.evaluate
            for b in batches[:warm]:  # the watches built, every device heard once
                run(b)
            results[name] = _timed(run, batches[warm:])
            hub_store.close()
    readings = sum(len(b) for b in batches[warm:])
    cpu, accepted, alarms = results["stored"]
    memory_cpu = results["memory"][0]
    per_s = readings / seconds
    share = cpu / seconds
    print(
        f"living city load (hazchem tanks and vehicles, muck trucks) at the default rates: "
        f"{per_s:,.0f} readings a second of the city's time, {len(batches) - warm} batches over "
        f"{seconds} s; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n"
        f"  LiveBus.ingest_sync (evaluated and stored): {cpu:.2f} CPU s for {seconds} s of the "
        f"city = {share:.1%} of one core at speed 1 (one core keeps up to speed "
        f"{1 / share:.0f}); {readings / cpu:,.0f} readings per CPU second "
        f"[{accepted:,} of {readings:,} accepted, {alarms} alarms]\n"
        f"  baseline, LiveBus.evaluate (in memory, same batches, same run): {memory_cpu:.2f} "
        f"CPU s; stored x{cpu / memory_cpu:.2f} of in memory"
    )  # fmt: skip
    return 0 if accepted == readings and alarms == 0 else 1
