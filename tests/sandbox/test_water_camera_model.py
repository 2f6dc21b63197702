"""The waterways' and the cameras' models over days of the city's time, judged by the hub's
own rules (no servers: the systems' rows as the sandbox builds them): river stages stay under
their warning levels through the tides, ponding drains, a station's samples never change
whether it meets its river's target (GB 3838 as hub.apps.water classifies it), the analytics'
events are ones the hub takes from that camera, drops come at their rate; the same seed and
time give the same readings."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from hub.apps.sharp_eyes.services import EVENT_TYPES
from hub.apps.water.services import classify
from simcity.binhai.context import CST
from simcity.clock import SimClock
from simcity.sandbox.dataset import SystemData, build, read_city
from simcity.sandbox.streams import DAY, HOUR, LiveCity
from simcity.sandbox.streams.cameras import DROPS_PER_DAY, ONLINE, camera_net
from simcity.sandbox.streams.water import Waterways, waterways

START = datetime(2026, 7, 1, 0, 0, tzinfo=CST)


@pytest.fixture(scope="module")
def systems(demo_dir: Path) -> dict[str, SystemData]:
    return build(2019, read_city(demo_dir))


def _city(systems: dict[str, SystemData]) -> LiveCity:
    return LiveCity(SimClock(start=START), 2019, systems, "127.0.0.1", 1)


def _ways(systems: dict[str, SystemData]) -> Waterways:
    return waterways(_city(systems))


def test_stages_stay_under_warning_and_ponding_drains(systems: dict[str, SystemData]) -> None:
    ways = _ways(systems)
    t0 = ways.start
    assert len(ways.rivers) == 12 and len(ways.ponding) == 40
    highest = {r.key: -1e9 for r in ways.rivers}
    for step in range(0, int(2 * DAY), 600):  # two days, every 10 minutes
        for r in ways.rivers:
            highest[r.key] = max(highest[r.key], ways.stage(r, t0 + step))
    for r in ways.rivers:
        assert highest[r.key] < r.attrs["warning_level_m"] - 0.3, r.key
    # the tide moves them: a stage is not a constant
    r = ways.rivers[0]
    stages = {ways.stage(r, t0 + h * HOUR) for h in range(13)}
    assert max(stages) - min(stages) > 0.15
    wet = [p for p in ways.ponding if p.attrs["depth_cm"] > 0]
    assert wet, "the demo city has ponding left by the last rain"
    assert all(ways.depth_cm(p, t0) == p.attrs["depth_cm"] for p in wet)
    assert all(ways.depth_cm(p, t0 + 2 * HOUR) == 0 for p in ways.ponding)


def test_samples_never_change_whether_a_station_meets_its_target(
    systems: dict[str, SystemData],
) -> None:
    ways = _ways(systems)
    assert len(ways.stations) == 48
    changed = 0
    for s in ways.stations:
        target = ways.targets[s.attrs["river"]]
        base = classify(s.attrs["readings"]).water_class
        assert base is not None
        for step in range(0, int(DAY), 600):
            sample = ways.sample(s, ways.start + step)
            assert sample is not None
            cls = classify(sample["parameters"]).water_class
            assert cls is not None and (cls <= target) == (base <= target), (s.key, step)
            changed += sample["parameters"] != s.attrs["readings"]
    assert changed > 48 * 100  # they vary (nearly always)


def test_the_same_seed_and_time_give_the_same_readings(systems: dict[str, SystemData]) -> None:
    a, b = _ways(systems), _ways(systems)
    at = a.start + 3 * HOUR
    assert a.level_readings(at) == b.level_readings(at)
    assert [a.sample(s, at) for s in a.stations] == [b.sample(s, at) for s in b.stations]
    assert a.scada_changes(at) == b.scada_changes(at)


def test_events_are_the_cameras_own_analytics_and_drops_come_at_their_rate(
    systems: dict[str, SystemData],
) -> None:
    net = camera_net(_city(systems))
    assert len(net.cameras) == 4000  # the 8 the hub quarantines (a bad position) left out
    at = net.city.clock.seconds()
    by_key = {c.key: c for c in net.cameras}
    for _ in range(200):
        event = net.event(at)
        assert event is not None
        assert event["event"] in EVENT_TYPES
        assert event["event"] in by_key[event["id"]].attrs["ai_capabilities"]
    online = sum(1 for s in net.status.values() if s == ONLINE)
    days = 10
    for n in range(days * 96):  # 15-minute batches
        net.drops(at + n * 900, 900, n)
    dropped = online - sum(1 for s in net.status.values() if s == ONLINE)
    expected = DROPS_PER_DAY * days
    assert 0.7 * expected < dropped < 1.3 * expected, dropped
