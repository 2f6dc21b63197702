"""Enterprise-service ("双万双服") types: a firm's request with its department, deadline,
result, rating and timeline; figures by department. The firm's contact person's name and
phone are personal and masked unless a policy grants them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from hub.apps.enterprise_services.services import (
    EnterpriseServices,
    status_of,
)
from schema.classification import classified
from schema.record import Record
from schema.scalars import GeoJSON, geojson

PUBLIC = classified("public")
WITHHELD = "null: withheld (counts-only access, fewer requests than its minimum group)"
INTERNAL = classified("internal")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@strawberry.type(description="One step of a request: who, when, from what to what")
class EnterpriseRequestEvent:
    at: datetime = strawberry.field(metadata=INTERNAL)
    actor: str | None = strawberry.field(metadata=INTERNAL)
    action: str = strawberry.field(metadata=INTERNAL)
    from_status: str | None = strawberry.field(metadata=INTERNAL)
    to_status: str = strawberry.field(metadata=INTERNAL)
    note: str | None = strawberry.field(metadata=INTERNAL)


@strawberry.type(
    name="EnterpriseRequest",
    description="A firm's request to government (双万双服), carried by the citizen-service "
    "centre's closed loop as a ServiceCase on the enterprise channel.",
)
class EnterpriseRequest:
    key: str = strawberry.field(description="The ServiceCase key", metadata=PUBLIC)
    firm: str | None = strawberry.field(description="Enterprise key (ENT-…)", metadata=PUBLIC)
    firm_name: str | None = strawberry.field(metadata=PUBLIC)
    uscc: str | None = strawberry.field(metadata=PUBLIC)
    industry: str | None = strawberry.field(metadata=PUBLIC)
    request_type: str | None = strawberry.field(
        description="政策咨询 / 审批协调 / 融资需求 / 用工需求 / 人才落户 / 用地需求",
        metadata=PUBLIC,
    )
    title: str | None = strawberry.field(metadata=PUBLIC)
    description: str | None = strawberry.field(metadata=INTERNAL)
    contact_name: str | None = strawberry.field(metadata=classified("personal", "name"))
    contact_phone: str | None = strawberry.field(metadata=classified("personal", "phone"))
    department: str | None = strawberry.field(metadata=PUBLIC)
    status: str = strawberry.field(
        description="filed, dispatched, handling, resolved, visited, rated, closed",
        metadata=PUBLIC,
    )
    status_label: str | None = strawberry.field(metadata=PUBLIC)
    version: int = strawberry.field(
        description="The version this shows (bumped by every write of it): name it in a step's "
        "expectedVersion, and a step taken meanwhile makes yours a CONFLICT",
        metadata=PUBLIC,
    )
    filed_at: datetime | None = strawberry.field(metadata=PUBLIC)
    due_at: datetime | None = strawberry.field(metadata=PUBLIC)
    overdue: bool = strawberry.field(metadata=PUBLIC)
    resolved_at: datetime | None = strawberry.field(metadata=PUBLIC)
    result: str | None = strawberry.field(metadata=INTERNAL)
    rating: int | None = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    geometry: GeoJSON | None = strawberry.field(metadata=INTERNAL)
    timeline: list[EnterpriseRequestEvent] = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, r: Record, service: EnterpriseServices) -> EnterpriseRequest:
        a = r.attrs
        rating = a.get("rating")
        return cls(
            key=r.key,
            firm=a.get("firm"),
            firm_name=a.get("firm_name"),
            uscc=a.get("uscc"),
            industry=a.get("industry"),
            request_type=a.get("request_type"),
            title=a.get("title"),
            description=a.get("content"),
            contact_name=a.get("reporter"),
            contact_phone=a.get("reporter_phone"),
            department=a.get("handling_department"),
            status=status_of(r),
            status_label=a.get("status"),
            version=r.version or 1,
            filed_at=_time(a.get("reported_at")),
            due_at=_time(a.get("due_at")),
            overdue=service.overdue(r),
            resolved_at=_time(a.get("resolved_at")),
            result=a.get("result"),
            rating=int(rating) if isinstance(rating, int | float) else None,
            grid_cell=a.get("grid_cell"),
            street=a.get("street"),
            geometry=geojson(r.geometry),
            timeline=[
                EnterpriseRequestEvent(
                    at=datetime.fromisoformat(str(e["at"])),
                    actor=e.get("actor"),
                    action=str(e.get("action")),
                    from_status=e.get("from"),
                    to_status=str(e.get("to")),
                    note=e.get("note"),
                )
                for e in a.get("history") or []
            ],
        )


@strawberry.type(description="Requests of one department (or all)")
class EnterpriseDepartmentStats:
    department: str = strawberry.field(metadata=PUBLIC)
    total: int = strawberry.field(metadata=PUBLIC)
    open: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    resolved: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    overdue: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    rated: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    average_rating: float | None = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, figures: dict[str, Any]) -> EnterpriseDepartmentStats:
        return cls(**figures)


@strawberry.type(description="How many requests of one type")
class EnterpriseRequestTypeCount:
    request_type: str = strawberry.field(metadata=PUBLIC)
    requests: int = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="Enterprise-request figures: totals, by department, by type")
class EnterpriseRequestStats:
    totals: EnterpriseDepartmentStats = strawberry.field(metadata=PUBLIC)
    by_department: list[EnterpriseDepartmentStats] = strawberry.field(metadata=PUBLIC)
    by_type: list[EnterpriseRequestTypeCount] = strawberry.field(metadata=PUBLIC)
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Departments and types withheld (counts-only access): of fewer requests "
        "than the policy's minimum group, and those that would give them away",
        metadata=PUBLIC,
    )


@strawberry.input(description="A firm's request")
class FileEnterpriseRequestInput:
    firm: str = strawberry.field(description="Enterprise key (ENT-…)")
    request_type: str
    description: str
    title: str | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
