"""The Sharp Eyes types: cameras with their health and view, video events with their place and
case, coverage per grid cell and health figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry import relay

from hub.apps import kit
from hub.apps.live.history import history_field
from hub.apps.sharp_eyes.services import (
    CAMERA_HEARTBEAT,
    CameraHealth,
    CameraNet,
    CellCoverage,
    SharpEyesServices,
)
from hub.state.loader import device_state
from schema.classification import classified
from schema.context import records
from schema.interfaces import Located, Sourced
from schema.nodes import RecordNode
from schema.record import Record

PUBLIC = classified("public")
WITHHELD = "null: withheld (counts-only access, fewer cameras than its minimum group)"
INTERNAL = classified("internal")
SENSITIVE = classified("sensitive")


def sharp_eyes(info: strawberry.Info) -> SharpEyesServices:
    return kit.service(info, SharpEyesServices)


async def camera_net(info: strawberry.Info) -> CameraNet:
    service = sharp_eyes(info)
    return await run_in_threadpool(lambda: service.net)  # first use loads from the store


@strawberry.type(description="A camera's health: its state and heartbeat.")
class CameraHealthNow:
    state: str = strawberry.field(
        description="online (在线), offline (离线), fault (故障) or unknown", metadata=INTERNAL
    )
    last_heartbeat_at: datetime | None = strawberry.field(metadata=INTERNAL)
    silent_for_s: float | None = strawberry.field(
        description="How far its heartbeat lags the platform's newest", metadata=INTERNAL
    )
    silent: bool = strawberry.field(
        description="Online, but silent for more than 300 s", metadata=INTERNAL
    )

    @classmethod
    def of(cls, h: CameraHealth) -> CameraHealthNow:
        return cls(
            state=h.state,
            last_heartbeat_at=h.last_heartbeat,
            silent_for_s=h.silent_for_s,
            silent=h.silent,
        )


@strawberry.federation.type(
    keys=["id", "key"], description="A Sharp Eyes (雪亮工程) camera of the public video network."
)
class Camera(RecordNode, Located, Sourced):
    KIND = "Camera"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (CAM-…)", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    camera_type: str | None = strawberry.field(
        description="枪机, 球机, 人脸识别卡口, 车辆卡口, 高空瞭望, 电子警察", metadata=PUBLIC
    )
    resolution: str | None = strawberry.field(metadata=INTERNAL)
    owner: str | None = strawberry.field(
        description="The department it belongs to", metadata=PUBLIC
    )
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(
        description="As the video platform gives it", metadata=PUBLIC
    )
    park: str | None = strawberry.field(metadata=PUBLIC)
    installed: date | None = strawberry.field(metadata=INTERNAL)
    status: str | None = strawberry.field(description="在线 / 离线 / 故障", metadata=INTERNAL)
    last_heartbeat_at: datetime | None = strawberry.field(metadata=INTERNAL)
    ptz: bool | None = strawberry.field(description="Pan-tilt-zoom", metadata=INTERNAL)
    night_vision: bool | None = strawberry.field(metadata=INTERNAL)
    ai_capabilities: list[str] = strawberry.field(
        description="The analytics it runs (烟火识别, 占道经营识别, …)", metadata=INTERNAL
    )
    gb28181_id: str | None = strawberry.field(description="GB/T 28181 device id", metadata=INTERNAL)
    stream: str | None = strawberry.field(
        description="Its live video stream (sensitive)", metadata=SENSITIVE
    )

    @strawberry.field(description="Its state and heartbeat", metadata=INTERNAL)
    async def health(self, info: strawberry.Info) -> CameraHealthNow | None:
        kept = await device_state(info, CAMERA_HEARTBEAT, str(self.id))
        h = await run_in_threadpool(sharp_eyes(info).health, str(self.id), kept)
        return CameraHealthNow.of(h) if h else None

    history = history_field(CAMERA_HEARTBEAT, "heartbeats (how many)")

    @strawberry.field(
        description="The nominal useful range of its type (m), the radius coverage counts",
        metadata=PUBLIC,
    )
    async def view_radius_m(self, info: strawberry.Info) -> float | None:
        return (await camera_net(info)).view_radius(str(self.id))

    @strawberry.field(
        description="The grid cell its position lies in (the core's GridIndex)", metadata=PUBLIC
    )
    async def located_cell(self, info: strawberry.Info) -> str | None:
        return (await camera_net(info)).located_cell(str(self.id))

    @strawberry.field(description="Its video-analytics events, oldest first", metadata=INTERNAL)
    async def events(self, info: strawberry.Info, first: int = 20) -> list[VideoEvent]:
        if not 0 <= first <= 1000:
            raise ValueError("first must be between 0 and 1000")
        lo = f"{self.id}:"
        rows = await records(info).page(
            "VideoEvent", after=lo, before=lo[:-1] + ";", limit=first, from_end=False
        )
        return [VideoEvent.from_record(r) for r in rows]


@strawberry.type(
    description="A video-analytics event (视频智能分析事件) as the video platform produced "
    "it, placed at its camera and filed as a service case."
)
class VideoEvent(RecordNode, Located, Sourced):
    KIND = "VideoEvent"
    id: relay.NodeID[str]
    key: str = strawberry.field(description="camera:eventId:type", metadata=INTERNAL)
    event_type: str = strawberry.field(
        description="street_vending, exposed_garbage, smoke_fire or crowd", metadata=INTERNAL
    )
    event_name: str = strawberry.field(description="烟火识别, …", metadata=INTERNAL)
    camera_key: str = strawberry.field(metadata=INTERNAL)
    camera_name: str | None = strawberry.field(description="The place", metadata=INTERNAL)
    at: datetime = strawberry.field(metadata=INTERNAL)
    confidence: float | None = strawberry.field(metadata=INTERNAL)
    snapshot_url: str | None = strawberry.field(metadata=SENSITIVE)
    street: str | None = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=INTERNAL)
    case_key: str | None = strawberry.field(
        description="The service case filed for it (or the one it was merged into)",
        metadata=INTERNAL,
    )
    alarm_id: str | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        a = record.attrs
        return {
            "camera_key": str(a.get("camera")),
            "case_key": a.get("case"),
            "alarm_id": a.get("alarm"),
        }

    @strawberry.field(metadata=INTERNAL)
    async def camera(self, info: strawberry.Info) -> Camera | None:
        record = await records(info).load("Camera", self.camera_key)
        return Camera.from_record(record) if record else None

    @strawberry.field(
        description="The case's loop status (filed, dispatched, …), as the centre keeps it",
        metadata=INTERNAL,
    )
    async def case_status(self, info: strawberry.Info) -> str | None:
        if not self.case_key:
            return None
        record = await records(info).load("ServiceCase", self.case_key)
        return record.attrs.get("loop_status") if record else None


@strawberry.type(
    description="A grid cell's camera coverage: the share of its area within the view radius "
    "of at least one online camera (counted on a 10 m lattice in a local metric plane)."
)
class CellCameraCoverage:
    cell: str = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    area_km2: float = strawberry.field(metadata=PUBLIC)
    cameras: int = strawberry.field(description="Cameras located in the cell", metadata=PUBLIC)
    online: int = strawberry.field(metadata=PUBLIC)
    covered_km2: float = strawberry.field(
        description="Within an online camera's view radius (any camera's)", metadata=PUBLIC
    )
    covered_share: float = strawberry.field(description="0…1", metadata=PUBLIC)

    @classmethod
    def of(cls, c: CellCoverage) -> CellCameraCoverage:
        return cls(
            cell=c.cell,
            street=c.street,
            area_km2=c.area_m2 / 1e6,
            cameras=c.cameras,
            online=c.online,
            covered_km2=c.covered_m2 / 1e6,
            covered_share=c.share,
        )


@strawberry.type(description="Camera health counts: the district, or one street.")
class CameraHealthCounts:
    street: str | None = strawberry.field(
        description="Null: the whole district (totals)", metadata=PUBLIC
    )
    total: int = strawberry.field(metadata=PUBLIC)
    online: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    offline: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    fault: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    silent: int | None = strawberry.field(
        description="Online, but heartbeat more than 300 s behind the platform's newest; "
        + WITHHELD,
        metadata=PUBLIC,
    )
    online_rate: float | None = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, g: dict[str, Any]) -> CameraHealthCounts:
        """A line of counts (``HealthCounts`` as published: a withheld count is None)."""
        online, total = g["online"], g["total"]
        return cls(
            street=g["key"],
            total=total,
            online=online,
            offline=g["offline"],
            fault=g["fault"],
            silent=g["silent"],
            online_rate=None if online is None else online / total if total else 0.0,
        )


@strawberry.type(description="The camera network's health")
class CameraHealthStats:
    as_of: datetime | None = strawberry.field(
        description="The platform's newest heartbeat", metadata=PUBLIC
    )
    totals: CameraHealthCounts = strawberry.field(metadata=PUBLIC)
    by_street: list[CameraHealthCounts] = strawberry.field(metadata=PUBLIC)
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Streets withheld (counts-only access): of fewer cameras than the policy's "
        "minimum group, and those that would give them away",
        metadata=PUBLIC,
    )


TYPES: list[type] = [Camera, VideoEvent]
