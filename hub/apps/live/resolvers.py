"""Live resolvers: recent alarms (Query), alarms and case updates as they happen
(Subscription, graphql-transport-ws). Policies apply as everywhere: a principal sees the
alarms and case updates whose rows its policy lets it read."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from typing import Any

import strawberry

from hub.apps import kit
from hub.apps.live.types import AlarmEvent, CaseUpdate
from hub.live import ALARM_KIND, SEVERITIES
from schema.connection import CountedConnection, paginate
from schema.record import Record

CASE_KIND = "ServiceCase"


def _severity_rank(name: str | None) -> int:
    if name is None:
        return 0
    if name not in SEVERITIES:
        raise ValueError(f"minSeverity {name!r}: one of {', '.join(SEVERITIES)}")
    return SEVERITIES.index(name)


@strawberry.type
class LiveQueries:
    @strawberry.field(description="Alarms kept by the hub, oldest first (`last: N` for recent)")
    async def alarms(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> CountedConnection[AlarmEvent]:
        return await paginate(
            info,
            ALARM_KIND,
            AlarmEvent.from_record,
            first=first,
            after=after,
            last=last,
            before=before,
        )


@strawberry.type
class LiveSubscriptions:
    @strawberry.subscription(description="Alarms as they are raised, in every hub worker")
    async def alarms(
        self,
        info: strawberry.Info,
        kinds: list[str] | None = None,
        min_severity: str | None = None,
        grid_cell: str | None = None,
    ) -> AsyncGenerator[AlarmEvent, None]:
        floor = _severity_rank(min_severity)
        visible = await kit.readable_rows(info, ALARM_KIND)
        async with info.context.hub.live.alarms() as stream:
            async for alarm in stream:
                if kinds and not any(
                    alarm.kind == k or alarm.kind.startswith(k + ".") for k in kinds
                ):
                    continue
                if SEVERITIES.index(alarm.severity) < floor:
                    continue
                if grid_cell and alarm.grid_cell != grid_cell:
                    continue
                if visible(alarm.to_record()):
                    yield AlarmEvent.from_alarm(alarm)

    @strawberry.subscription(description="Service cases moving through their closed loop")
    async def case_updates(
        self, info: strawberry.Info, case_id: strawberry.ID | None = None
    ) -> AsyncGenerator[CaseUpdate, None]:
        visible = await kit.readable_rows(info, CASE_KIND)
        async with info.context.hub.live.case_updates() as stream:
            async for update in stream:
                if case_id is not None and str(update.get("case_id")) != str(case_id):
                    continue
                if not visible(_case_record(update)):
                    continue
                yield CaseUpdate.from_update(update)


def _case_record(update: dict[str, Any]) -> Record:
    at = update["at"]
    # the row filter sees the case's own attributes (street, grid cell, category, department)
    return Record(
        kind=CASE_KIND,
        key=str(update["case_id"]),
        source_system="cityhub",
        source_id=str(update["case_id"]),
        fetched_at=datetime.fromisoformat(at) if isinstance(at, str) else at,
        attrs={k: v for k, v in update.items() if k not in {"case_id"}},
    )
