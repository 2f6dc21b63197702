"""GraphQL types of the citizen-service response system. Every field declares its
classification; reporters' names and phones are personal and masked by policy."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any

import strawberry

from hub.apps import kit
from hub.apps.citizen_service.services import (
    CASE_KIND,
    CHANNEL_CODES,
    CitizenServiceCentre,
    reported_at,
    status_of,
)
from hub.cases import STATUS_LABELS
from hub.idempotency import IDEMPOTENCY_KEY_HELP
from schema.classification import classified
from schema.federation import reference_record, representation_key
from schema.record import Record
from schema.scalars import GeoJSON, geojson


@strawberry.enum(description="The five channels into the one door")
class CaseChannel(Enum):
    HOTLINE = "hotline"  # 12345便民服务热线
    GRID = "grid"  # 网格员上报
    SNAP = "snap"  # 随手拍
    MAILBOX = "mailbox"  # 区长信箱
    ZERO_DISTANCE = "zero_distance"  # 政民零距离


@strawberry.enum(description="Where a case is in the closed loop")
class CaseStatus(Enum):
    FILED = "filed"
    VERIFYING = "verifying"
    DISPATCHED = "dispatched"
    RETURNED = "returned"
    HANDLING = "handling"
    RESOLVED = "resolved"
    VISITED = "visited"
    RATED = "rated"
    CLOSED = "closed"
    MERGED = "merged"


@strawberry.type(description="One step of a case: who moved it, when, from what to what.")
class CaseEvent:
    at: datetime = strawberry.field(metadata=classified("internal"))
    actor: str | None = strawberry.field(
        description="The principal who took the step (user:NAME, client:ID)",
        metadata=classified("internal"),
    )
    action: str = strawberry.field(
        description="file, merge, verify, dispatch, transfer, return_misrouted, "
        "start_handling, resolve, return_visit, rate, close",
        metadata=classified("internal"),
    )
    from_status: str | None = strawberry.field(metadata=classified("internal"))
    to_status: str = strawberry.field(metadata=classified("internal"))
    note: str | None = strawberry.field(metadata=classified("internal"))

    @classmethod
    def of(cls, e: dict[str, Any]) -> CaseEvent:
        return cls(
            at=datetime.fromisoformat(str(e["at"])),
            actor=e.get("actor"),
            action=str(e.get("action")),
            from_status=e.get("from"),
            to_status=str(e.get("to")),
            note=e.get("note"),
        )


@strawberry.federation.type(
    name="ServiceCase", keys=["id"], description="A citizen's problem, from any channel."
)
class ServiceCaseType:
    id: strawberry.ID = strawberry.field(metadata=classified("public"))
    tracking_number: str | None = strawberry.field(
        description="What the reporter follows the case by (a capability: keep it private). "
        "Only in the answer to fileCase: the hub keeps just its hash, so it is null elsewhere",
        metadata=classified("sensitive"),
    )
    source_system: str = strawberry.field(
        description="cityhub, or the channel's own system", metadata=classified("public")
    )
    channel: str | None = strawberry.field(
        description="The channel's name, e.g. 随手拍", metadata=classified("public")
    )
    channel_code: CaseChannel | None = strawberry.field(metadata=classified("public"))
    status: CaseStatus = strawberry.field(metadata=classified("public"))
    status_label: str = strawberry.field(metadata=classified("public"))
    version: int = strawberry.field(
        description="The version this shows (bumped by every write of it): name it in a step's "
        "expectedVersion, and a step taken meanwhile makes yours a CONFLICT",
        metadata=classified("public"),
    )
    title: str | None = strawberry.field(metadata=classified("public"))
    description: str | None = strawberry.field(metadata=classified("internal"))
    category: str | None = strawberry.field(metadata=classified("public"))
    category_name: str | None = strawberry.field(metadata=classified("public"))
    subcategory: str | None = strawberry.field(metadata=classified("public"))
    subcategory_name: str | None = strawberry.field(metadata=classified("public"))
    classified_by: str | None = strawberry.field(
        description="How the duty was found: given, or the keywords that matched",
        metadata=classified("internal"),
    )
    department: str | None = strawberry.field(
        description="The responsible department", metadata=classified("public")
    )
    grid_cell: str | None = strawberry.field(metadata=classified("public"))
    street: str | None = strawberry.field(metadata=classified("public"))
    address: str | None = strawberry.field(metadata=classified("internal"))
    geometry: GeoJSON | None = strawberry.field(metadata=classified("internal"))
    reporter_name: str | None = strawberry.field(metadata=classified("personal", "name"))
    reporter_phone: str | None = strawberry.field(metadata=classified("personal", "phone"))
    reporters: int = strawberry.field(
        description="How many reports this case stands for (merged duplicates included)",
        metadata=classified("internal"),
    )
    reported_at: datetime = strawberry.field(metadata=classified("public"))
    due_at: datetime | None = strawberry.field(
        description="SLA deadline: reported + the sub-category's time limit",
        metadata=classified("internal"),
    )
    overdue: bool = strawberry.field(metadata=classified("internal"))
    inspector: str | None = strawberry.field(
        description="The inspector sent to verify on site", metadata=classified("internal")
    )
    inspector_distance_m: float | None = strawberry.field(metadata=classified("internal"))
    merged_into: str | None = strawberry.field(metadata=classified("internal"))
    duplicates: list[str] = strawberry.field(metadata=classified("internal"))
    result: str | None = strawberry.field(metadata=classified("internal"))
    rating: int | None = strawberry.field(metadata=classified("internal"))
    media_urls: list[str] = strawberry.field(metadata=classified("internal"))
    history: list[CaseEvent] = strawberry.field(metadata=classified("internal"))

    @classmethod
    def build(
        cls, record: Record, centre: CitizenServiceCentre, *, tracking_number: str | None = None
    ) -> ServiceCaseType:
        a = record.attrs
        status = status_of(a)
        due = centre.due_at(record)
        reporters = a.get("reporters")
        how = a.get("classification") or {}
        matched = how.get("matched") if isinstance(how, dict) else None
        channel = a.get("channel")
        code = CHANNEL_CODES.get(str(channel))
        rating = a.get("rating")
        return cls(
            id=strawberry.ID(record.key),
            tracking_number=tracking_number,
            source_system=record.source_system,
            channel=channel,
            channel_code=CaseChannel(code) if code else None,
            status=CaseStatus(status),
            status_label=STATUS_LABELS[status],
            version=record.version or 1,
            title=a.get("title"),
            description=a.get("content"),
            category=a.get("category"),
            category_name=a.get("category_name"),
            subcategory=a.get("subcategory"),
            subcategory_name=a.get("subcategory_name"),
            classified_by=("keywords: " + "、".join(matched))
            if matched
            else (how.get("rule") if isinstance(how, dict) and how else "source system"),
            department=centre.department(record),
            grid_cell=a.get("grid_cell"),
            street=a.get("street"),
            address=a.get("address"),
            geometry=geojson(record.geometry),
            reporter_name=a.get("reporter"),
            reporter_phone=a.get("reporter_phone"),
            reporters=len(reporters) if isinstance(reporters, list) else 1,
            reported_at=reported_at(record),
            due_at=due,
            overdue=centre.overdue(record),
            inspector=a.get("inspector"),
            inspector_distance_m=a.get("inspector_distance_m"),
            merged_into=a.get("merged_into"),
            duplicates=list(a.get("duplicates") or []),
            result=a.get("result"),
            rating=int(rating) if isinstance(rating, int | float) else None,
            media_urls=list(a.get("photos") or []),
            history=[CaseEvent.of(e) for e in a.get("history") or []],
        )

    @classmethod
    async def resolve_reference(
        cls, info: strawberry.Info, **representation: Any
    ) -> ServiceCaseType:
        """A gateway's reference by ``id`` (the case's hub key), read as ``serviceCase``."""
        key = representation_key(representation, "ServiceCase", "id", node=False)
        return cls.build(
            await reference_record(info, CASE_KIND, key), kit.service(info, CitizenServiceCentre)
        )


@strawberry.type(description="Cases of one grid cell, category, department or channel.")
class CaseBucket:
    key: str = strawberry.field(metadata=classified("public"))
    label: str = strawberry.field(metadata=classified("public"))
    total: int = strawberry.field(metadata=classified("public"))
    open: int | None = strawberry.field(
        description="null: withheld (counts-only access, fewer cases than its minimum group)",
        metadata=classified("public"),
    )
    overdue: int | None = strawberry.field(
        description="null: withheld (counts-only access, fewer cases than its minimum group)",
        metadata=classified("public"),
    )


@strawberry.type(
    description="Deadlines kept and missed (a null count: withheld, fewer cases than the "
    "policy's minimum group for counts-only access)"
)
class SlaStats:
    resolved_on_time: int | None = strawberry.field(metadata=classified("public"))
    resolved_late: int | None = strawberry.field(metadata=classified("public"))
    open_on_time: int | None = strawberry.field(metadata=classified("public"))
    open_overdue: int | None = strawberry.field(metadata=classified("public"))
    on_time_rate: float | None = strawberry.field(
        description="Resolved on time / resolved", metadata=classified("public")
    )


@strawberry.type(description="The ops centre's figures over the cases you may see.")
class CaseStats:
    total: int = strawberry.field(metadata=classified("public"))
    merged: int | None = strawberry.field(
        description="Duplicate reports merged into another case (null: withheld, fewer than "
        "the policy's minimum group)",
        metadata=classified("public"),
    )
    sla: SlaStats = strawberry.field(metadata=classified("public"))
    by_grid_cell: list[CaseBucket] = strawberry.field(metadata=classified("public"))
    by_category: list[CaseBucket] = strawberry.field(metadata=classified("public"))
    by_department: list[CaseBucket] = strawberry.field(metadata=classified("public"))
    by_channel: list[CaseBucket] = strawberry.field(metadata=classified("public"))
    suppressed_groups: int = strawberry.field(
        description="Groups withheld (counts-only access): buckets and SLA states of fewer "
        "cases than the policy's minimum group, and those that would give them away",
        metadata=classified("public"),
    )

    @classmethod
    def of(cls, s: dict[str, Any]) -> CaseStats:
        def buckets(name: str) -> list[CaseBucket]:
            return [CaseBucket(**b) for b in s[name]]

        return cls(
            total=s["total"],
            merged=s["merged"],
            sla=SlaStats(**s["sla"]),
            by_grid_cell=buckets("grid_cell"),
            by_category=buckets("category"),
            by_department=buckets("department"),
            by_channel=buckets("channel"),
            suppressed_groups=s.get("suppressed_groups", 0),
        )


@strawberry.type(description="How much of a street an inspector reaches in time")
class StreetReach:
    street: str = strawberry.field(metadata=classified("public"))
    samples: int = strawberry.field(metadata=classified("public"))
    share: float = strawberry.field(metadata=classified("public"))


@strawberry.type(
    description="The 15-minute service circle: the share of the district an on-duty "
    "inspector reaches in time, at the stated speed and detour factor (sampled)."
)
class ServiceCircle:
    speed_kmh: float = strawberry.field(metadata=classified("public"))
    minutes: float = strawberry.field(metadata=classified("public"))
    detour_factor: float = strawberry.field(
        description="Street distance / straight distance", metadata=classified("public")
    )
    reach_m: float = strawberry.field(
        description="Straight-line reach: speed x minutes / detour", metadata=classified("public")
    )
    samples: int = strawberry.field(metadata=classified("public"))
    covered: int = strawberry.field(metadata=classified("public"))
    share: float = strawberry.field(metadata=classified("public"))
    on_duty_inspectors: int = strawberry.field(metadata=classified("public"))
    median_distance_m: float | None = strawberry.field(metadata=classified("public"))
    streets: list[StreetReach] = strawberry.field(metadata=classified("public"))

    @classmethod
    def of(cls, c: dict[str, Any]) -> ServiceCircle:
        return cls(**{**c, "streets": [StreetReach(**s) for s in c["streets"]]})


@strawberry.type(description="One step as the citizen is told about it")
class ProgressStep:
    at: datetime = strawberry.field(metadata=classified("public"))
    status: str = strawberry.field(metadata=classified("public"))
    label: str = strawberry.field(metadata=classified("public"))
    note: str | None = strawberry.field(metadata=classified("public"))


@strawberry.type(
    description="A reporter's view of their case by tracking number: status, steps and "
    "result, and nobody's personal data."
)
class CaseProgress:
    tracking_number: str = strawberry.field(metadata=classified("public"))
    status: CaseStatus = strawberry.field(metadata=classified("public"))
    status_label: str = strawberry.field(metadata=classified("public"))
    category_name: str | None = strawberry.field(metadata=classified("public"))
    subcategory_name: str | None = strawberry.field(metadata=classified("public"))
    reported_at: datetime = strawberry.field(metadata=classified("public"))
    due_at: datetime | None = strawberry.field(metadata=classified("public"))
    handling_department: str | None = strawberry.field(metadata=classified("public"))
    merged_into_tracking: str | None = strawberry.field(
        description="Always null: the earlier case's tracking number is its own reporter's",
        metadata=classified("public"),
        deprecation_reason="a tracking number is shown only to the reporter it was issued to",
    )
    steps: list[ProgressStep] = strawberry.field(metadata=classified("public"))
    result: str | None = strawberry.field(metadata=classified("public"))
    rating: int | None = strawberry.field(metadata=classified("public"))

    @classmethod
    def of(cls, p: dict[str, Any]) -> CaseProgress:
        return cls(
            **{
                **p,
                "status": CaseStatus(p["status"]),
                "reported_at": datetime.fromisoformat(p["reported_at"]),
                "due_at": datetime.fromisoformat(p["due_at"]) if p["due_at"] else None,
                "steps": [
                    ProgressStep(
                        at=datetime.fromisoformat(s["at"]),
                        status=str(s["status"]),
                        label=s["label"],
                        note=s["note"],
                    )
                    for s in p["steps"]
                ],
            }
        )


@strawberry.type(description="A grid inspector's position and duty state after a move.")
class InspectorPosition:
    id: strawberry.ID = strawberry.field(metadata=classified("internal"))
    lon: float = strawberry.field(metadata=classified("internal"))
    lat: float = strawberry.field(metadata=classified("internal"))
    on_duty: bool = strawberry.field(metadata=classified("internal"))
    duties: list[str] = strawberry.field(metadata=classified("internal"))
    position_at: datetime = strawberry.field(metadata=classified("internal"))


@strawberry.input(description="A problem as one channel reports it")
class FileCaseInput:
    channel: CaseChannel
    description: str
    lon: float | None = None
    lat: float | None = None
    address: str | None = None
    title: str | None = None
    category: str | None = strawberry.field(
        default=None, description="C01-C13; leave out to classify the description"
    )
    subcategory: str | None = None
    reporter_name: str | None = None
    reporter_phone: str | None = None
    media_urls: list[str] | None = None
    reported_at: datetime | None = strawberry.field(
        default=None, description="When the channel received it (default: now)"
    )
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Which cases")
class CaseFilterInput:
    status: list[CaseStatus] | None = None
    channel: CaseChannel | None = None
    category: str | None = None
    subcategory: str | None = None
    department: str | None = None
    grid_cell: str | None = None
    street: str | None = None
    overdue: bool | None = None
    source_system: str | None = None
    reported_after: datetime | None = None
    reported_before: datetime | None = None
