"""Sharp Eyes resolvers (Query): cameras on the map with their health, video events with
their places and cases, coverage per grid cell, health figures.

Rows are read through the request's policy-enforced record source; the figures are computed
over the rows the request may see — a counts-only principal gets the figures, never rows.
Coverage is a figure of the whole network (no camera row is served with it)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime

import strawberry
from starlette.concurrency import run_in_threadpool

from hub import state
from hub.apps import kit
from hub.apps.sharp_eyes.services import (
    CAMERA_HEARTBEAT,
    EVENT_BY_CODE,
    EVENT_KIND,
    health_counts,
)
from hub.apps.sharp_eyes.types import (
    Camera,
    CameraHealthCounts,
    CameraHealthStats,
    CellCameraCoverage,
    VideoEvent,
    camera_net,
)
from schema.connection import MAX_PAGE, PageError
from schema.context import records
from schema.fields import record_by_key, record_connection
from schema.reads import scan

HEALTH_STATES = ("online", "offline", "fault", "silent")  # counts within a street's cameras

_CHUNK = 1000


@strawberry.type
class SharpEyesQueries:
    cameras = record_connection(Camera, "Sharp Eyes cameras (雪亮工程) on the map, in key order")

    camera = record_by_key(Camera, "One camera by its hub key (CAM-…)")

    @strawberry.field(
        description="Camera coverage per grid cell: the given cells (or a street's, or all "
        "743), in cell order"
    )
    async def camera_coverage(
        self,
        info: strawberry.Info,
        cells: list[str] | None = None,
        street: str | None = None,
    ) -> list[CellCameraCoverage]:
        await kit.countable_rows(info, "Camera")  # the policy refuses: not yours to count
        net = await camera_net(info)
        coverage = await run_in_threadpool(net.coverage)
        if cells is not None:
            unknown = [c for c in cells if c not in coverage]
            if unknown:
                raise LookupError(f"no grid cell {unknown[0]!r}")
            keys = sorted(set(cells))
        else:
            keys = sorted(k for k, c in coverage.items() if street in (None, c.street))
        # counts only: cells of fewer cameras than k withheld, with their complements
        shown, _ = (await kit.figure_rule(info, "Camera")).publish(
            [coverage[k] for k in keys], lambda c: c.cameras
        )
        return [CellCameraCoverage.of(c) for c in shown]

    @strawberry.field(description="Cameras online / offline / fault / silent, by street")
    async def camera_health(self, info: strawberry.Info) -> CameraHealthStats:
        engine = info.context.hub.store.engine
        beats = await run_in_threadpool(state.latest_of_kind, engine, CAMERA_HEARTBEAT)
        totals, groups, as_of = health_counts(
            await scan(info, "Camera"), lambda r: r.attrs.get("street"), beats
        )
        rule = await kit.figure_rule(info, "Camera")
        top, shown, withheld = rule.publish_table(
            asdict(totals), [asdict(g) for g in groups], "total", HEALTH_STATES, what="cameras"
        )
        return CameraHealthStats(
            as_of=datetime.fromtimestamp(as_of, UTC) if as_of is not None else None,
            totals=CameraHealthCounts.of(top),
            by_street=[CameraHealthCounts.of(g) for g in shown],
            suppressed_groups=withheld,
        )

    @strawberry.field(
        description="Video-analytics events with their places and cases, by camera, cell and "
        "type, in key order (camera, then event); `after` is the last key of the page before"
    )
    async def video_events(
        self,
        info: strawberry.Info,
        camera: str | None = None,
        grid_cell: str | None = None,
        event_type: str | None = None,
        first: int = 100,
        after: str | None = None,
    ) -> list[VideoEvent]:
        if event_type is not None and event_type not in EVENT_BY_CODE:
            raise PageError(f"eventType {event_type!r}: one of {', '.join(EVENT_BY_CODE)}")
        if not 0 <= first <= MAX_PAGE:
            raise PageError(f"first must be between 0 and {MAX_PAGE}, got {first}")
        lo, hi = (f"{camera}:", f"{camera};") if camera else (None, None)
        if after is not None:
            lo = after if lo is None else max(lo, after)
        found: list[VideoEvent] = []
        while len(found) < first:
            rows = await records(info).page(
                EVENT_KIND, after=lo, before=hi, limit=_CHUNK, from_end=False
            )
            for r in rows:
                a = r.attrs
                if grid_cell not in (None, a.get("grid_cell")):
                    continue
                if event_type not in (None, a.get("event_type")):
                    continue
                found.append(VideoEvent.from_record(r))
            if len(rows) < _CHUNK:
                break
            lo = rows[-1].key
        return found[:first]
