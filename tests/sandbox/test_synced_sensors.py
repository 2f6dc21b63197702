"""A hub that syncs the tank sensors from their system starts its tank watches where a hub
loaded from the demo city does: the sensor's last value *and its time* come through the
connector (the time is also the stream's cursor field), so the tanks the data leaves past a
limit are already in that state and their first live readings raise nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from connectors.binhai import SPEC_BY_ID
from hub.apps.hazchem.tanks import QUANTITIES, TankWatch
from schema.record import Record
from simcity.sandbox.dataset import build, read_city


def test_synced_sensors_seed_the_tank_watch_like_the_demo_load(demo_dir: Path) -> None:
    city = read_city(demo_dir)
    loaded_sensors = {s["key"]: Record.parse(s) for s in city["Sensor"]}
    tanks = [Record.parse(t) for t in city["Tank"]]
    systems = build(2019, city)
    mapping = SPEC_BY_ID["tank-sensors"].mappings[0]
    now = datetime.now(UTC)
    synced_sensors = {
        r.key: r
        for r in (
            mapping.to_record(row, "tank-sensors", now)
            for row in systems["tank-sensors"].streams[mapping.stream]
        )
    }
    assert synced_sensors.keys() == loaded_sensors.keys()
    for quantity in QUANTITIES:
        loaded = TankWatch(tanks, loaded_sensors, quantity=quantity)
        synced = TankWatch(tanks, synced_sensors, quantity=quantity)
        assert synced.last_at == loaded.last_at and len(synced.last_at) > 5000
        # the tanks the data leaves past a limit start in that state, not entering it later
        assert synced.state == loaded.state and synced.state
