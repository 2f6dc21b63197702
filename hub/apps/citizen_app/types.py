"""GraphQL types of the 滨海掌上行 app's API. What a citizen is shown about their own report or
application carries nobody's personal data; the types are the app's own (apps do not share
types through imports), built from what the other apps' services return."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry

from hub.apps.citizen_app.photos import PhotoInfo
from hub.apps.citizen_app.services import published_at
from hub.idempotency import IDEMPOTENCY_KEY_HELP
from schema.classification import classified
from schema.record import Record

PUBLIC = classified("public")
INTERNAL = classified("internal")


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


@strawberry.type(description="A photo kept for 随手拍 (or as a scanned material of 指尖办).")
class SnapPhoto:
    id: strawberry.ID = strawberry.field(
        description="Its SHA-256: name it in snapReport", metadata=PUBLIC
    )
    content_type: str = strawberry.field(
        description="image/jpeg, image/png or image/webp, from its bytes", metadata=PUBLIC
    )
    bytes: int = strawberry.field(metadata=PUBLIC)
    width: int = strawberry.field(metadata=PUBLIC)
    height: int = strawberry.field(metadata=PUBLIC)
    url: str = strawberry.field(description="Where the hub serves it (a token is needed)",
                                metadata=INTERNAL)  # fmt: skip
    uploaded_at: datetime = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, photo: PhotoInfo, url: str) -> SnapPhoto:
        return cls(
            id=strawberry.ID(photo.sha256),
            content_type=photo.content_type,
            bytes=photo.bytes,
            width=photo.width,
            height=photo.height,
            url=url,
            uploaded_at=photo.uploaded_at,
        )


@strawberry.input(description="A 随手拍 report: what, where, and the photos uploaded for it")
class SnapReportInput:
    description: str
    photo_ids: list[strawberry.ID] = strawberry.field(
        description="Photos uploaded first (POST /citizen-app/v1/photos or uploadSnapPhoto)"
    )
    lon: float | None = strawberry.field(default=None, description="GCJ-02, from the phone")
    lat: float | None = None
    address: str | None = strawberry.field(
        default=None, description="When there is no position: an address naming the street"
    )
    title: str | None = None
    category: str | None = strawberry.field(
        default=None, description="C01-C13; leave out to classify the description"
    )
    reporter_name: str | None = None
    reporter_phone: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="What the citizen gets back on filing a 随手拍 report.")
class SnapReceipt:
    tracking_number: str = strawberry.field(
        description="Follow the report by it (snapProgress)", metadata=INTERNAL
    )
    status: str = strawberry.field(description="filed, or merged into an earlier report",
                                   metadata=PUBLIC)  # fmt: skip
    status_label: str = strawberry.field(metadata=PUBLIC)
    category_name: str | None = strawberry.field(metadata=PUBLIC)
    subcategory_name: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    due_at: datetime | None = strawberry.field(metadata=PUBLIC)
    merged: bool = strawberry.field(
        description="The same problem was reported already: yours joined it", metadata=PUBLIC
    )
    photos: list[SnapPhoto] = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="One step of a report as the citizen is told about it")
class SnapStep:
    at: datetime = strawberry.field(metadata=PUBLIC)
    status: str = strawberry.field(metadata=PUBLIC)
    label: str = strawberry.field(metadata=PUBLIC)
    note: str | None = strawberry.field(metadata=PUBLIC)


@strawberry.type(
    description="A 随手拍 report's progress and result by tracking number; nobody's personal data."
)
class SnapProgress:
    tracking_number: str = strawberry.field(metadata=PUBLIC)
    status: str = strawberry.field(
        description="filed, verifying, dispatched, returned, handling, resolved, visited, rated, "
        "closed or merged",
        metadata=PUBLIC,
    )
    status_label: str = strawberry.field(metadata=PUBLIC)
    category_name: str | None = strawberry.field(metadata=PUBLIC)
    subcategory_name: str | None = strawberry.field(metadata=PUBLIC)
    reported_at: datetime = strawberry.field(metadata=PUBLIC)
    due_at: datetime | None = strawberry.field(metadata=PUBLIC)
    handling_department: str | None = strawberry.field(metadata=PUBLIC)
    merged_into_tracking: str | None = strawberry.field(metadata=PUBLIC)
    steps: list[SnapStep] = strawberry.field(metadata=PUBLIC)
    result: str | None = strawberry.field(metadata=PUBLIC)
    rating: int | None = strawberry.field(metadata=PUBLIC)
    done: bool = strawberry.field(description="Handled (resolved or later)", metadata=PUBLIC)

    @classmethod
    def of(cls, p: dict[str, Any]) -> SnapProgress:
        return cls(
            tracking_number=str(p["tracking_number"]),
            status=str(p["status"]),
            status_label=str(p["status_label"]),
            category_name=p.get("category_name"),
            subcategory_name=p.get("subcategory_name"),
            reported_at=datetime.fromisoformat(str(p["reported_at"])),
            due_at=_time(p.get("due_at")),
            handling_department=p.get("handling_department"),
            merged_into_tracking=p.get("merged_into_tracking"),
            steps=[
                SnapStep(
                    at=datetime.fromisoformat(str(s["at"])),
                    status=str(s["status"]),
                    label=str(s["label"]),
                    note=s.get("note"),
                )
                for s in p.get("steps") or []
            ],
            result=p.get("result"),
            rating=p.get("rating"),
            done=p["status"] in ("resolved", "visited", "rated", "closed"),
        )


@strawberry.type(description="A material a 指尖办 item asks for")
class FingertipMaterial:
    name: str = strawberry.field(metadata=PUBLIC)
    form: str | None = strawberry.field(metadata=PUBLIC)
    required: bool = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="A service item a citizen or firm can apply for online (指尖办)")
class FingertipItem:
    key: str = strawberry.field(metadata=PUBLIC)
    item_code: str | None = strawberry.field(metadata=PUBLIC)
    name: str = strawberry.field(metadata=PUBLIC)
    department: str | None = strawberry.field(metadata=PUBLIC)
    serves: str | None = strawberry.field(description="自然人 or 法人", metadata=PUBLIC)
    online_level: str | None = strawberry.field(metadata=PUBLIC)
    promised_time_limit_days: int | None = strawberry.field(metadata=PUBLIC)
    max_visits: int | None = strawberry.field(metadata=PUBLIC)
    materials: list[FingertipMaterial] = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, record: Record) -> FingertipItem:
        a = record.attrs
        return cls(
            key=record.key,
            item_code=a.get("item_code"),
            name=str(a.get("name") or ""),
            department=a.get("department"),
            serves=a.get("serves"),
            online_level=a.get("online_level"),
            promised_time_limit_days=a.get("promised_time_limit_days"),
            max_visits=a.get("max_visits"),
            materials=[
                FingertipMaterial(
                    name=str(m.get("name")), form=m.get("form"), required=bool(m.get("required"))
                )
                for m in a.get("materials") or []
                if isinstance(m, dict)
            ],
        )


@strawberry.input(description="A material given with a 指尖办 application")
class FingertipMaterialInput:
    name: str = strawberry.field(description="The material's name in the item's list")
    photo_id: strawberry.ID | None = strawberry.field(
        default=None, description="Its scan or photo, uploaded first like a 随手拍 photo"
    )


@strawberry.input(description="A 指尖办 application")
class FingertipApplyInput:
    item: str = strawberry.field(description="The item's key (SI-…) or code")
    applicant_name: str
    applicant_phone: str
    materials: list[FingertipMaterialInput]
    id_number: str | None = strawberry.field(
        default=None, description="A natural person's resident ID number"
    )
    enterprise_name: str | None = strawberry.field(
        default=None, description="A legal person's name (then uscc too)"
    )
    uscc: str | None = None
    idempotency_key: str | None = strawberry.field(default=None, description=IDEMPOTENCY_KEY_HELP)


@strawberry.type(description="What the applicant gets back from 指尖办")
class FingertipReceipt:
    tracking_number: str = strawberry.field(metadata=INTERNAL)
    status: str = strawberry.field(metadata=PUBLIC)
    status_label: str = strawberry.field(metadata=PUBLIC)
    item_name: str | None = strawberry.field(metadata=PUBLIC)
    materials_missing: list[str] = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, record: Record, tracking_number: str) -> FingertipReceipt:
        a = record.attrs
        return cls(
            tracking_number=tracking_number,
            status=str(a.get("workflow_status")),
            status_label=str(a.get("status")),
            item_name=a.get("item_name"),
            materials_missing=list(a.get("materials_missing") or []),
        )


@strawberry.type(description="One step of an application as the applicant is told about it")
class FingertipStep:
    at: datetime = strawberry.field(metadata=PUBLIC)
    status: str = strawberry.field(metadata=PUBLIC)
    label: str = strawberry.field(metadata=PUBLIC)
    note: str | None = strawberry.field(metadata=PUBLIC)


@strawberry.type(description="A 指尖办 application's progress by tracking number")
class FingertipProgress:
    tracking_number: str = strawberry.field(metadata=PUBLIC)
    item_name: str | None = strawberry.field(metadata=PUBLIC)
    department: str | None = strawberry.field(metadata=PUBLIC)
    status: str = strawberry.field(
        description="submitted, accepted, returned, under_review, approved or rejected",
        metadata=PUBLIC,
    )
    status_label: str = strawberry.field(metadata=PUBLIC)
    submitted_at: datetime = strawberry.field(metadata=PUBLIC)
    due_at: datetime | None = strawberry.field(metadata=PUBLIC)
    materials_missing: list[str] = strawberry.field(metadata=PUBLIC)
    steps: list[FingertipStep] = strawberry.field(metadata=PUBLIC)
    decision: str | None = strawberry.field(metadata=PUBLIC)

    @classmethod
    def of(cls, p: dict[str, Any]) -> FingertipProgress:
        return cls(
            tracking_number=str(p["tracking_number"]),
            item_name=p.get("item_name"),
            department=p.get("department"),
            status=str(p["status"]),
            status_label=str(p["status_label"]),
            submitted_at=datetime.fromisoformat(str(p["submitted_at"])),
            due_at=_time(p.get("due_at")),
            materials_missing=list(p.get("materials_missing") or []),
            steps=[
                FingertipStep(
                    at=datetime.fromisoformat(str(s["at"])),
                    status=str(s["status"]),
                    label=str(s["label"]),
                    note=s.get("note"),
                )
                for s in p.get("steps") or []
            ],
            decision=p.get("decision"),
        )


@strawberry.type(description="A news item from the district media center (微资讯).")
class NewsItem:
    id: strawberry.ID = strawberry.field(metadata=PUBLIC)
    key: str = strawberry.field(metadata=PUBLIC)
    title: str = strawberry.field(metadata=PUBLIC)
    summary: str = strawberry.field(description="The body's first 80 characters",
                                    metadata=PUBLIC)  # fmt: skip
    body: str = strawberry.field(metadata=PUBLIC)
    category: str | None = strawberry.field(metadata=PUBLIC)
    source: str | None = strawberry.field(
        description="滨海新区融媒体中心, 津滨海客户端, 滨海发布", metadata=PUBLIC
    )
    author: str | None = strawberry.field(description="The reporter's byline", metadata=PUBLIC)
    published_at: datetime = strawberry.field(metadata=PUBLIC)
    url: str | None = strawberry.field(metadata=PUBLIC)
    views: int | None = strawberry.field(metadata=PUBLIC)
    mentions: list[str] = strawberry.field(
        description="Streets, parks and rivers it names", metadata=PUBLIC
    )

    @classmethod
    def from_record(cls, record: Record) -> NewsItem:
        a = record.attrs
        body = str(a.get("body") or "")
        views = a.get("views")
        return cls(
            id=strawberry.ID(record.key),
            key=record.key,
            title=str(a.get("title") or ""),
            summary=body[:80] + ("…" if len(body) > 80 else ""),
            body=body,
            category=a.get("category"),
            source=a.get("source"),
            author=a.get("author"),
            published_at=published_at(record),
            url=a.get("url"),
            views=int(views) if isinstance(views, int | float) else None,
            mentions=list(a.get("mentions") or []),
        )
