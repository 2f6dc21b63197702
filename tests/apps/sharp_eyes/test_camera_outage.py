"""A street's cameras going down together are one ``camera.outage`` per episode
(hub.apps.sharp_eyes.outage): the heartbeats' transitions within the window, against the
street's share and a floor; scattered drops and the platform's backlog of down cameras raise
nothing; a worker built from the stored states knows the episode."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hub.apps.sharp_eyes.outage import (
    CAMERA_OUTAGE,
    OUTAGE_MIN_CAMERAS,
    OUTAGE_SHARE,
    OUTAGE_WINDOW_S,
    OutageWatch,
)
from hub.live import Reading
from hub.state import DeviceState
from schema.record import Record

T0 = 1_790_000_000.0
BIG, SMALL = "泰达街道", "北塘街道"


def _camera(n: int, street: str, status: str = "在线") -> Record:
    return Record(
        kind="Camera",
        key=f"CAM-{n:07d}",
        source_system="cameras",
        source_id=str(n),
        fetched_at=datetime.fromtimestamp(T0 - 600, UTC),
        attrs={"street": street, "status": status,
               "last_heartbeat_at": datetime.fromtimestamp(T0 - 60, UTC).isoformat()},
        geometry={"type": "Point", "coordinates": [117.70 + n * 1e-4, 39.02]}, datum="GCJ-02",
    )  # fmt: skip


def _street(key: str, name: str) -> Record:
    return Record(kind="Street", key=key, source_system="city", source_id=key,
                  fetched_at=datetime.fromtimestamp(T0, UTC), attrs={"name": name})  # fmt: skip


def _beat(camera: str, at: float, status: str) -> Reading:
    return Reading("camera.heartbeat", camera, at, extra={"status": status})


def _city() -> tuple[list[Record], list[Record]]:
    # 40 cameras on the big street (3 of them already offline), 10 on the small one
    big = [_camera(n, BIG, "离线" if n < 3 else "在线") for n in range(40)]
    small = [_camera(100 + n, SMALL) for n in range(10)]
    return big + small, [_street("BH-TEDA", BIG), _street("BH-BEITANG", SMALL)]


def test_a_streets_cameras_going_down_together_raise_one_outage_per_episode() -> None:
    cams, streets = _city()
    watch = OutageWatch(cams, streets)
    big = [c.key for c in cams if c.attrs["street"] == BIG]
    need = max(OUTAGE_MIN_CAMERAS, int(-(-OUTAGE_SHARE * 40 // 1)))
    assert need == 8
    # the backlog: cameras down before (as the records say) heartbeating their state
    assert watch.evaluate([_beat(k, T0, "离线") for k in big[:3]]) == []
    # scattered drops, each more than the window apart: never an outage
    for i, k in enumerate(big[3 : 3 + need]):
        assert watch.evaluate([_beat(k, T0 + (i + 1) * (OUTAGE_WINDOW_S + 1), "离线")]) == []
        assert watch.evaluate([_beat(k, T0 + (i + 1) * (OUTAGE_WINDOW_S + 1) + 1, "在线")]) == []
    # one short of the threshold within the window: nothing; the next one: the alarm
    t = T0 + 20 * OUTAGE_WINDOW_S
    assert watch.evaluate([_beat(k, t, "离线") for k in big[3 : 3 + need - 1]]) == []
    alarms = watch.evaluate([_beat(big[3 + need - 1], t + 60, "故障")])
    assert [a.kind for a in alarms] == [CAMERA_OUTAGE]
    alarm = alarms[0]
    assert alarm.subject_type == "Street" and alarm.subject_key == "BH-TEDA"
    assert alarm.value == need and f"{need}/40" in alarm.message
    assert alarm.lon is not None and alarm.lat is not None
    assert watch.in_outage() == [BIG]
    # the rest of the street going down too is the same episode
    assert watch.evaluate([_beat(k, t + 120, "离线") for k in big[3 + need :]]) == []
    # the small street is untouched by the big one's episode
    assert watch.evaluate([_beat(k, t + 120, "在线") for k in [c.key for c in cams[40:]]]) == []
    # back online: the episode ends; down again: a new episode, a new alarm
    assert watch.evaluate([_beat(k, t + 3600, "在线") for k in big[3:]]) == []
    assert watch.in_outage() == []
    again = watch.evaluate([_beat(k, t + 7200, "离线") for k in big[3:]])
    assert len(again) == 1 and again[0].id != alarm.id
    assert again[0].value == 37


def test_a_small_street_needs_the_floor_and_a_worker_built_later_knows_the_episode() -> None:
    cams, streets = _city()
    watch = OutageWatch(cams, streets)
    small = [c.key for c in cams if c.attrs["street"] == SMALL]
    assert watch.evaluate([_beat(k, T0, "离线") for k in small[: OUTAGE_MIN_CAMERAS - 1]]) == []
    alarms = watch.evaluate([_beat(small[OUTAGE_MIN_CAMERAS - 1], T0 + 1, "离线")])
    assert [a.subject_key for a in alarms] == ["BH-BEITANG"]
    # the states as the hub stores them (describe: status and when it went down)
    stored: dict[str, DeviceState] = {}
    for k in small[:OUTAGE_MIN_CAMERAS]:
        state: dict[str, Any] = {"status": "离线", "down_since": watch.down_since(k)}
        at = datetime.fromtimestamp(T0 + 1, UTC)
        stored[k] = DeviceState("camera.heartbeat", k, at, state, None, at)
    other = OutageWatch(cams, streets, stored)
    assert other.in_outage() == [SMALL]
    assert other.evaluate([_beat(small[-1], T0 + 2, "离线")]) == []  # not a second alarm
