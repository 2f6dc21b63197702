"""The live types: an alarm, and one step of a service case's life."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from hub.live import Alarm
from schema.classification import classified
from schema.record import Record
from schema.scalars import GeoJSON, geojson


@strawberry.type(
    name="Alarm",
    description="Something an operator must see now: a tank over its limit, a vehicle in a "
    "forbidden zone, a river above its warning level, a firm's smoke index jumping.",
)
class AlarmEvent:
    id: strawberry.ID = strawberry.field(metadata=classified("internal"))
    kind: str = strawberry.field(
        description="tank.high_high, geofence.forbidden, vehicle.speeding, water.flood, ...",
        metadata=classified("internal"),
    )
    severity: str = strawberry.field(
        description="info, warning, alarm or critical", metadata=classified("internal")
    )
    subject_type: str = strawberry.field(
        description="The kind of thing it concerns: Tank, HazchemVehicle, WaterStation, ...",
        metadata=classified("internal"),
    )
    subject_key: str = strawberry.field(
        description="The hub key of the thing it concerns", metadata=classified("internal")
    )
    message: str = strawberry.field(metadata=classified("internal"))
    at: datetime = strawberry.field(metadata=classified("internal"))
    value: float | None = strawberry.field(
        description="The reading that raised it", metadata=classified("internal")
    )
    grid_cell: str | None = strawberry.field(metadata=classified("internal"))
    geometry: GeoJSON | None = strawberry.field(metadata=classified("internal"))
    source: str = strawberry.field(metadata=classified("internal"))

    @classmethod
    def from_alarm(cls, alarm: Alarm) -> AlarmEvent:
        geometry = None
        if alarm.lon is not None and alarm.lat is not None:
            geometry = geojson({"type": "Point", "coordinates": [alarm.lon, alarm.lat]})
        return cls(
            id=strawberry.ID(alarm.id),
            kind=alarm.kind,
            severity=alarm.severity,
            subject_type=alarm.subject_type,
            subject_key=alarm.subject_key,
            message=alarm.message,
            at=alarm.at,
            value=alarm.value,
            grid_cell=alarm.grid_cell,
            geometry=geometry,
            source=alarm.source,
        )

    @classmethod
    def from_record(cls, record: Record) -> AlarmEvent:
        a = record.attrs
        return cls(
            id=strawberry.ID(record.key),
            kind=a["kind"],
            severity=a["severity"],
            subject_type=a["subject_type"],
            subject_key=a["subject_key"],
            message=a["message"],
            at=datetime.fromisoformat(a["at"]),
            value=a.get("value"),
            grid_cell=a.get("grid_cell"),
            geometry=geojson(record.geometry),
            source=a.get("source", "telemetry"),
        )


@strawberry.type(description="One step in a service case's closed loop, as it happens.")
class CaseUpdate:
    case_id: strawberry.ID = strawberry.field(metadata=classified("internal"))
    status: str = strawberry.field(
        description="filed, verifying, dispatched, handling, resolved, ...",
        metadata=classified("internal"),
    )
    previous_status: str | None = strawberry.field(metadata=classified("internal"))
    at: datetime = strawberry.field(metadata=classified("internal"))
    actor: str | None = strawberry.field(
        description="Who moved it: an inspector, a department, the hub",
        metadata=classified("internal"),
    )
    note: str | None = strawberry.field(metadata=classified("internal"))
    category: str | None = strawberry.field(metadata=classified("public"))
    channel: str | None = strawberry.field(metadata=classified("public"))
    grid_cell: str | None = strawberry.field(metadata=classified("public"))

    def audit_ref(self) -> tuple[str, str]:
        """The case the step moved, as the audit log names it (schema.audited)."""
        return ("ServiceCase", str(self.case_id))

    @classmethod
    def from_update(cls, update: dict[str, Any]) -> CaseUpdate:
        at = update.get("at")
        return cls(
            case_id=strawberry.ID(str(update["case_id"])),
            status=str(update["status"]),
            previous_status=update.get("previous_status"),
            at=datetime.fromisoformat(at) if isinstance(at, str) else at,  # type: ignore[arg-type]
            actor=update.get("actor"),
            note=update.get("note"),
            category=update.get("category"),
            channel=update.get("channel"),
            grid_cell=update.get("grid_cell"),
        )
