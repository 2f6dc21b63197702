"""GeofenceSet vs the reference: enter / exit / violation events with remembered state."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core_ext import GeofenceEvent, GeofenceSet, TimeWindow
from core_ext.reference.geofence import ReferenceGeofenceSet


def square(x0: float, y0: float, s: float) -> list[list[float]]:
    return [[x0, y0], [x0 + s, y0], [x0 + s, y0 + s], [x0, y0 + s]]


ZONES = [
    ("school", "forbidden", {"type": "Polygon", "coordinates": [square(0, 0, 2)]}, []),
    (
        "night-route",
        "corridor",
        {"type": "Polygon", "coordinates": [square(1, 1, 3), square(2, 2, 1)[::-1]]},
        [(22 * 60, 6 * 60)],
    ),
    (7, "forbidden", [square(3, 0, 1)], [(7 * 60, 9 * 60), (17 * 60, 19 * 60)]),
    ("day-route", "corridor", [[square(0, 3, 1)], [square(3, 3, 1)]], [(9 * 60, 16 * 60)]),
]
BINDINGS = [("T1", "night-route"), ("T2", "day-route"), ("T1", "day-route"), (5, "night-route")]


def build() -> tuple[GeofenceSet, ReferenceGeofenceSet]:
    g = GeofenceSet(utc_offset_hours=8)
    r = ReferenceGeofenceSet(8)
    for fid, kind, poly, wins in ZONES:
        if kind == "forbidden":
            g.add_forbidden_zone(fid, poly, wins)
        else:
            g.add_corridor(fid, poly, wins)
        r.add(fid, poly, kind, wins)
    for v, f in BINDINGS:
        g.bind(v, f)
        r.bind(v, f)
    return g, r


coord = st.one_of(st.floats(-0.5, 4.5), st.sampled_from([0.0, 1.0, 2.0, 3.0, 4.0]))
fix = st.tuples(st.sampled_from(["T1", "T2", 5, "T9"]), coord, coord, st.integers(0, 4 * 3600))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(fix, max_size=25), max_size=4))
def test_matches_reference(batches: list[list[tuple]]) -> None:  # type: ignore[type-arg]
    g, r = build()
    clock = 1_700_000_000.0
    for batch in batches:
        vids, xs, ys, ts = [], [], [], []
        for v, x, y, dt in batch:
            clock += dt
            vids.append(v)
            xs.append(x)
            ys.append(y)
            ts.append(clock)
        got = g.check(vids, xs, ys, ts)
        want = r.check(vids, xs, ys, ts)
        assert [(e.index, e.kind, e.vehicle_id, e.fence_id, e.reason) for e in got] == want
        for v in set(vids):
            assert g.state(v) == r.inside[v]


def test_rules_examples() -> None:
    g, _ = build()
    t = 1_700_000_000 - (1_700_000_000 + 8 * 3600) % 86400  # local midnight (UTC+8)
    at = lambda h: t + h * 3600  # noqa: E731
    ev = g.check(["T1"], [2.5], [1.5], [at(23)])  # in night-route at 23:00: fine
    assert [(e.kind, e.fence_id) for e in ev] == [("enter", "night-route")]
    ev = g.check(["T1"], [0.5], [0.5], [at(23.5)])  # left the corridor, into the school
    assert [(e.kind, e.fence_id, e.reason) for e in ev] == [
        ("exit", "night-route", None),
        ("enter", "school", None),
        ("violation", "school", "in_forbidden_zone"),
        ("violation", "night-route", "off_corridor"),
    ]
    assert isinstance(ev[0], GeofenceEvent) and ev[0].time == at(23.5) and ev[0].lon == 0.5
    assert g.check(["T1"], [0.6], [0.5], [at(23.6)]) == []  # ongoing: reported once
    ev = g.check(["T3"], [3.5], [0.5], [at(8)])  # forbidden 7-9 only
    assert [e.reason for e in ev if e.kind == "violation"] == ["in_forbidden_zone"]
    ev = g.check(["T3"], [3.5], [0.6], [at(12)])
    assert [e.kind for e in ev] == []
    ev = g.check(["T2"], [2.5], [1.5], [at(12)])  # T2 off its day corridor at noon
    assert [(e.kind, e.fence_id, e.reason) for e in ev][-1] == (
        "violation",
        "day-route",
        "off_corridor",
    )
    g.remove_zone("school")
    assert "school" not in g.state("T1") and len(g) == 3
    g.forget("T1")
    with pytest.raises(KeyError):
        g.state("T1")
    assert TimeWindow.hours(22, 6) == TimeWindow(1320, 360)


def test_bad_input() -> None:
    g, _ = build()
    with pytest.raises(KeyError):
        g.bind("T1", "nope")
    with pytest.raises(ValueError, match="corridors"):
        g.bind("T1", "school")
    with pytest.raises(KeyError):
        g.remove_zone("nope")
    with pytest.raises(KeyError):
        g.state("never-seen")
    with pytest.raises(ValueError, match="already exists"):
        g.add_forbidden_zone("school", [square(0, 0, 1)])
    with pytest.raises(ValueError, match="self-intersecting"):
        g.add_forbidden_zone("bowtie", [[[0, 0], [2, 2], [2, 0], [0, 2.5]]])
    with pytest.raises(ValueError, match="window"):
        g.add_corridor("c", [square(0, 0, 1)], [(0, 2000)])
    with pytest.raises(ValueError, match="finite"):
        g.check(["T1"], [np.nan], [0.0], [0.0])
    with pytest.raises(ValueError, match="finite"):
        g.check(["T1"], [0.0], [0.0], [np.inf])
    with pytest.raises(ValueError, match="same length"):
        g.check(["T1", "T2"], [0.0], [0.0], [0.0])
    g.check(["T1"], [0.5], [0.5], [100.0])
    with pytest.raises(ValueError, match="back in time"):
        g.check(["T2", "T2"], [0.5, 0.5], [0.5, 0.5], [200.0, 50.0])
    with pytest.raises(KeyError):
        g.state("T2")  # all-or-nothing: the failed batch left no state
    with pytest.raises(ValueError, match="back in time"):
        g.check(["T1"], [0.5], [0.5], [50.0])
    with pytest.raises(TypeError):
        g.check([1.5], [0.5], [0.5], [300.0])
    with pytest.raises(TypeError):
        g.check(["T1"], ["x"], [0.5], [300.0])
    with pytest.raises(TypeError):
        g.add_corridor("c2", [square(0, 0, 1)], [(0.5, 60)])  # type: ignore[list-item]
