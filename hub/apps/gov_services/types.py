"""GraphQL types of government services (政务服务). Every field declares its classification;
applicants' names, phones and ID numbers are personal and masked unless a policy grants them.
Type names are the record kinds (``ServiceItem``, ``ServiceApplication``), so a policy's
``[types.ServiceApplication]`` governs both the rows and the fields."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry import relay

from hub.apps import kit
from hub.apps.gov_services.services import (
    APPLICATION_KIND,
    ITEM_KIND,
    LEGAL_PERSON,
    NATURAL_PERSON,
    STATUS_LABELS,
    GovernmentServices,
    decided_at,
    offered_online,
    status_of,
    submitted_at,
)
from hub.idempotency import IDEMPOTENCY_KEY_HELP
from schema.classification import classified
from schema.interfaces import Sourced
from schema.nodes import RecordNode, provenance
from schema.reads import nodes
from schema.record import Record

PUBLIC = classified("public")
INTERNAL = classified("internal")


def _time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@strawberry.enum(description="Where an online application is")
class ApplicationStatus(Enum):
    SUBMITTED = "submitted"  # 已提交
    ACCEPTED = "accepted"  # 已受理
    RETURNED = "returned"  # 退回补正
    UNDER_REVIEW = "under_review"  # 审核中
    APPROVED = "approved"  # 已办结
    REJECTED = "rejected"  # 不予办理


@strawberry.enum(description="Who applies: a natural person or a legal person")
class ApplicantType(Enum):
    NATURAL_PERSON = NATURAL_PERSON  # 自然人
    LEGAL_PERSON = LEGAL_PERSON  # 法人


@strawberry.type(description="A material a service item asks for (申请材料).")
class ServiceMaterial:
    name: str = strawberry.field(metadata=PUBLIC)
    form: str | None = strawberry.field(description="原件 / 复印件 / 电子版", metadata=PUBLIC)
    copies: int = strawberry.field(metadata=PUBLIC)
    required: bool = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, m: Any) -> ServiceMaterial:
        m = m if isinstance(m, dict) else {}
        return cls(
            name=str(m.get("name") or ""),
            form=m.get("form"),
            copies=int(m.get("copies") or 1),
            required=bool(m.get("required")),
        )


@strawberry.type(
    description="A government service item of the catalogue (政务服务事项), with its materials."
)
class ServiceItem(RecordNode, Sourced):
    KIND = ITEM_KIND
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (SI-…)", metadata=PUBLIC)
    item_code: str | None = strawberry.field(description="e.g. BHXK0001", metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    item_type: str | None = strawberry.field(
        description="行政许可 / 行政确认 / 行政给付 / 公共服务 / 其他行政权力", metadata=PUBLIC
    )
    department: str | None = strawberry.field(metadata=PUBLIC)
    serves: str | None = strawberry.field(description="自然人 or 法人", metadata=PUBLIC)
    materials: list[ServiceMaterial] = strawberry.field(metadata=PUBLIC)
    required_materials: list[str] = strawberry.field(metadata=PUBLIC)
    legal_time_limit_days: int | None = strawberry.field(metadata=PUBLIC)
    promised_time_limit_days: int | None = strawberry.field(metadata=PUBLIC)
    online_level: str | None = strawberry.field(
        description="全程网办 / 网上预审 / 网上预约 / 窗口办理", metadata=PUBLIC
    )
    online: bool = strawberry.field(
        description="Can be applied for online (anything but 窗口办理)", metadata=PUBLIC
    )
    max_visits: int | None = strawberry.field(
        description="Trips to a window at most (0: none)", metadata=PUBLIC
    )
    fee_cny: float | None = strawberry.field(metadata=PUBLIC)
    channels: list[str] = strawberry.field(metadata=PUBLIC)

    @classmethod
    def computed(cls, record: Record) -> dict[str, object]:
        materials = [ServiceMaterial.of(m) for m in record.attrs.get("materials") or []]
        return {
            "materials": materials,
            "required_materials": [m.name for m in materials if m.required],
            "online": offered_online(record),
        }


@strawberry.type(description="One step of an application: who moved it, when, from what to what.")
class ApplicationEvent:
    at: datetime = strawberry.field(metadata=INTERNAL)
    actor: str | None = strawberry.field(
        description="The principal who took the step (user:NAME, client:ID)", metadata=INTERNAL
    )
    action: str = strawberry.field(
        description="submit, accept, return, resubmit, start_review, approve, reject",
        metadata=INTERNAL,
    )
    from_status: str | None = strawberry.field(metadata=INTERNAL)
    to_status: str = strawberry.field(metadata=INTERNAL)
    note: str | None = strawberry.field(metadata=INTERNAL)

    @classmethod
    def of(cls, e: dict[str, Any]) -> ApplicationEvent:
        return cls(
            at=datetime.fromisoformat(str(e["at"])),
            actor=e.get("actor"),
            action=str(e.get("action")),
            from_status=e.get("from"),
            to_status=str(e.get("to")),
            note=e.get("note"),
        )


@strawberry.type(description="A material as submitted, and where its file is.")
class SubmittedMaterial:
    name: str = strawberry.field(metadata=INTERNAL)
    file_url: str | None = strawberry.field(metadata=INTERNAL)


@strawberry.type(
    description="An online application for a service item (指尖办 and the other channels)."
)
class ServiceApplication(relay.Node, Sourced):
    id: relay.NodeID[str]
    key: str = strawberry.field(description="The hub key (APP-…)", metadata=PUBLIC)
    tracking_number: str | None = strawberry.field(
        description="Always null: a tracking number is a capability shown only in the receipt "
        "of submitApplication; the hub keeps just its hash",
        metadata=classified("sensitive"),
        deprecation_reason="shown only in the receipt (ApplicationReceipt.trackingNumber)",
    )
    item: str | None = strawberry.field(description="Key of the service item", metadata=PUBLIC)
    item_name: str | None = strawberry.field(metadata=PUBLIC)
    department: str | None = strawberry.field(metadata=PUBLIC)
    channel: str | None = strawberry.field(
        description="滨海掌上行 / 天津网上办事大厅 / 窗口", metadata=PUBLIC
    )
    status: ApplicationStatus = strawberry.field(metadata=PUBLIC)
    status_label: str = strawberry.field(metadata=PUBLIC)
    version: int = strawberry.field(
        description="The version this shows (bumped by every write of it): name it in a step's "
        "expectedVersion, and a step taken meanwhile makes yours a CONFLICT",
        metadata=PUBLIC,
    )
    applicant_type: str | None = strawberry.field(description="自然人 or 法人", metadata=PUBLIC)
    applicant_name: str | None = strawberry.field(
        description="The applicant (a person, or a firm's contact person)",
        metadata=classified("personal", "name"),
    )
    applicant_phone: str | None = strawberry.field(metadata=classified("personal", "phone"))
    applicant_id_number: str | None = strawberry.field(metadata=classified("personal", "id_number"))
    enterprise_name: str | None = strawberry.field(
        description="The legal person applying", metadata=PUBLIC
    )
    uscc: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    submitted_at: datetime = strawberry.field(metadata=PUBLIC)
    accepted_at: datetime | None = strawberry.field(metadata=INTERNAL)
    due_at: datetime | None = strawberry.field(
        description="Accepted + the item's promised time limit (calendar days)",
        metadata=INTERNAL,
    )
    decided_at: datetime | None = strawberry.field(metadata=INTERNAL)
    overdue: bool = strawberry.field(metadata=INTERNAL)
    materials: list[SubmittedMaterial] = strawberry.field(metadata=INTERNAL)
    materials_uploaded: list[str] = strawberry.field(metadata=INTERNAL)
    materials_missing: list[str] = strawberry.field(metadata=INTERNAL)
    decision: str | None = strawberry.field(metadata=INTERNAL)
    rating: int | None = strawberry.field(metadata=INTERNAL)
    history: list[ApplicationEvent] = strawberry.field(metadata=INTERNAL)

    @classmethod
    def build(cls, record: Record, gov: GovernmentServices) -> ServiceApplication:
        a = record.attrs
        status = status_of(a)
        natural = a.get("applicant_type") != LEGAL_PERSON
        rating = a.get("rating")
        return cls(
            id=record.key,
            key=record.key,
            tracking_number=None,
            item=a.get("item"),
            item_name=a.get("item_name"),
            department=gov.department(record),
            channel=a.get("channel"),
            status=ApplicationStatus(status),
            status_label=STATUS_LABELS[status],
            version=record.version or 1,
            applicant_type=a.get("applicant_type"),
            # a source system's firm application names the firm as its applicant
            applicant_name=a.get("applicant") if natural or a.get("enterprise_name") else None,
            applicant_phone=a.get("applicant_phone"),
            applicant_id_number=a.get("id_number"),
            enterprise_name=a.get("enterprise_name") or (None if natural else a.get("applicant")),
            uscc=a.get("uscc"),
            street=a.get("street"),
            submitted_at=submitted_at(record),
            accepted_at=_time(a.get("accepted_at")),
            due_at=gov.due_at(record),
            decided_at=decided_at(record),
            overdue=gov.overdue(record),
            materials=[
                SubmittedMaterial(name=str(m.get("name")), file_url=m.get("file_url"))
                for m in a.get("materials") or []
                if isinstance(m, dict)
            ],
            materials_uploaded=list(a.get("materials_uploaded") or []),
            materials_missing=list(a.get("materials_missing") or []),
            decision=a.get("decision"),
            rating=int(rating) if isinstance(rating, int | float) else None,
            history=[ApplicationEvent.of(e) for e in a.get("history") or []],
            source=provenance(record),
        )

    @classmethod
    async def resolve_nodes(  # type: ignore[override]
        cls, *, info: strawberry.Info, node_ids: Iterable[str], required: bool = False
    ) -> list[ServiceApplication | None]:
        gov = kit.service(info, GovernmentServices)
        return await nodes(APPLICATION_KIND, lambda r: cls.build(r, gov), info, node_ids, required)


@strawberry.type(description="What the applicant gets back on submitting.")
class ApplicationReceipt:
    key: str = strawberry.field(metadata=PUBLIC)
    tracking_number: str = strawberry.field(
        description="Follow the application by it (applicationProgress)", metadata=INTERNAL
    )
    status: ApplicationStatus = strawberry.field(metadata=PUBLIC)
    status_label: str = strawberry.field(metadata=PUBLIC)
    item_name: str | None = strawberry.field(metadata=PUBLIC)
    materials_missing: list[str] = strawberry.field(
        description="Required materials not given: the application will be returned for them",
        metadata=PUBLIC,
    )

    @classmethod
    def of(cls, record: Record, tracking_number: str) -> ApplicationReceipt:
        status = status_of(record.attrs)
        return cls(
            key=record.key,
            tracking_number=tracking_number,
            status=ApplicationStatus(status),
            status_label=STATUS_LABELS[status],
            item_name=record.attrs.get("item_name"),
            materials_missing=list(record.attrs.get("materials_missing") or []),
        )


@strawberry.type(description="One step as the applicant is told about it")
class ApplicationStep:
    at: datetime = strawberry.field(metadata=PUBLIC)
    status: str = strawberry.field(metadata=PUBLIC)
    label: str = strawberry.field(metadata=PUBLIC)
    note: str | None = strawberry.field(metadata=PUBLIC)


@strawberry.type(
    description="The applicant's view by tracking number: state, steps, what is missing and "
    "the decision; nobody's personal data."
)
class ApplicationProgress:
    tracking_number: str = strawberry.field(metadata=PUBLIC)
    item_name: str | None = strawberry.field(metadata=PUBLIC)
    department: str | None = strawberry.field(metadata=PUBLIC)
    status: ApplicationStatus = strawberry.field(metadata=PUBLIC)
    status_label: str = strawberry.field(metadata=PUBLIC)
    submitted_at: datetime = strawberry.field(metadata=PUBLIC)
    due_at: datetime | None = strawberry.field(metadata=PUBLIC)
    materials_missing: list[str] = strawberry.field(metadata=PUBLIC)
    steps: list[ApplicationStep] = strawberry.field(metadata=PUBLIC)
    decision: str | None = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, p: dict[str, Any]) -> ApplicationProgress:
        return cls(
            tracking_number=p["tracking_number"],
            item_name=p["item_name"],
            department=p["department"],
            status=ApplicationStatus(p["status"]),
            status_label=p["status_label"],
            submitted_at=datetime.fromisoformat(p["submitted_at"]),
            due_at=datetime.fromisoformat(p["due_at"]) if p["due_at"] else None,
            materials_missing=list(p["materials_missing"]),
            steps=[
                ApplicationStep(
                    at=datetime.fromisoformat(s["at"]),
                    status=str(s["status"]),
                    label=s["label"],
                    note=s["note"],
                )
                for s in p["steps"]
            ],
            decision=p["decision"],
        )


WITHHELD = "null: withheld (counts-only access, fewer applications than its minimum group)"


@strawberry.type(description="Applications of one state or channel")
class ApplicationCount:
    key: str = strawberry.field(metadata=PUBLIC)
    label: str = strawberry.field(metadata=PUBLIC)
    count: int = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="One department's applications and time to decision")
class DepartmentServiceStats:
    department: str = strawberry.field(metadata=PUBLIC)
    applications: int = strawberry.field(metadata=PUBLIC)
    decided: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    average_hours: float | None = strawberry.field(metadata=PUBLIC)


@strawberry.type(
    description="Government services in figures: items served online and applications, with "
    "the average time from submission to decision."
)
class GovServiceStats:
    items: int = strawberry.field(description="Items in the catalogue", metadata=PUBLIC)
    items_online: int | None = strawberry.field(
        description="Items that can be applied for online (not 窗口办理)", metadata=PUBLIC
    )
    items_fully_online: int | None = strawberry.field(description="全程网办 items", metadata=PUBLIC)
    online_item_rate: float | None = strawberry.field(
        description="items_online / items (网上可办率)", metadata=PUBLIC
    )
    items_served_online: int | None = strawberry.field(
        description="Items with at least one online application", metadata=PUBLIC
    )
    applications: int = strawberry.field(metadata=PUBLIC)
    online_applications: int | None = strawberry.field(
        description="Applications by any channel but the window", metadata=PUBLIC
    )
    decided: int | None = strawberry.field(description="Approved or rejected", metadata=PUBLIC)
    timed: int | None = strawberry.field(
        description="Decided applications whose decision time is known", metadata=PUBLIC
    )
    average_hours: float | None = strawberry.field(
        description="Mean hours from submission to decision, over the timed ones",
        metadata=PUBLIC,
    )
    average_days: float | None = strawberry.field(metadata=PUBLIC)
    decided_on_time: int | None = strawberry.field(metadata=PUBLIC)
    decided_late: int | None = strawberry.field(metadata=PUBLIC)
    open_overdue: int | None = strawberry.field(metadata=PUBLIC)
    on_time_rate: float | None = strawberry.field(metadata=PUBLIC)
    by_status: list[ApplicationCount] = strawberry.field(metadata=PUBLIC)
    by_channel: list[ApplicationCount] = strawberry.field(metadata=PUBLIC)
    by_department: list[DepartmentServiceStats] = strawberry.field(metadata=PUBLIC)
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Groups withheld (counts-only access): states, channels and departments of "
        "fewer applications than the policy's minimum group, and those that would give them "
        "away; a null count is withheld for the same reason",
        metadata=PUBLIC,
    )

    @classmethod
    def of(cls, s: dict[str, Any]) -> GovServiceStats:
        hours = s["average_hours"]
        return cls(
            **{k: v for k, v in s.items() if k not in ("by_status", "by_channel", "by_department")},
            average_days=round(hours / 24, 3) if hours is not None else None,
            by_status=[ApplicationCount(**b) for b in s["by_status"]],
            by_channel=[ApplicationCount(**b) for b in s["by_channel"]],
            by_department=[DepartmentServiceStats(**b) for b in s["by_department"]],
        )


@strawberry.input(description="A material given with an application")
class MaterialInput:
    name: str = strawberry.field(description="The material's name in the item's list")
    file_url: str | None = strawberry.field(
        default=None, description="Where its scanned file is (http/https)"
    )


@strawberry.input(description="An online application")
class SubmitApplicationInput:
    item: str = strawberry.field(description="The item's key (SI-…) or code (BHXK0001)")
    applicant_type: ApplicantType
    applicant_name: str = strawberry.field(description="The person, or a firm's contact person")
    applicant_phone: str
    materials: list[MaterialInput]
    id_number: str | None = strawberry.field(
        default=None, description="A natural person's resident ID number"
    )
    enterprise_name: str | None = None
    uscc: str | None = strawberry.field(default=None, description="A legal person's credit code")
    channel: str = "滨海掌上行"
    street: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.input(description="Which applications")
class ApplicationFilterInput:
    status: list[ApplicationStatus] | None = None
    item: str | None = None
    department: str | None = None
    channel: str | None = None
    applicant_type: ApplicantType | None = None
    street: str | None = None
    overdue: bool | None = None
    source_system: str | None = None
    submitted_after: datetime | None = None
    submitted_before: datetime | None = None


@strawberry.input(description="Which service items")
class ServiceItemFilterInput:
    department: str | None = None
    item_type: str | None = None
    serves: ApplicantType | None = None
    online: bool | None = None
    text: str | None = strawberry.field(default=None, description="In the name or the code")


TYPES = (ServiceItem, ServiceApplication)
