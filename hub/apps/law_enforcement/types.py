"""Law-enforcement supervision types: cases with their firm, place, deadline and anomaly
flags; figures by enforcing department. A natural person's name (a party who is not a firm)
is personal and masked unless a policy grants it."""

from __future__ import annotations

from datetime import date
from enum import Enum
from typing import Any

import strawberry

from hub.apps.law_enforcement.services import (
    NATURAL_PERSON,
    CaseReview,
)
from schema.classification import classified
from schema.scalars import GeoJSON, geojson

PUBLIC = classified("public")
INTERNAL = classified("internal")


@strawberry.enum(description="What supervision finds wrong with a case")
class EnforcementAnomaly(Enum):
    REPEATED_INSPECTION_NO_FINDING = "repeated_inspection_no_finding"
    CLOSED_WITHOUT_EVIDENCE = "closed_without_evidence"


@strawberry.type(
    name="EnforcementCase",
    description="A case of the law-enforcement system (执法监督系统), linked to its firm, its "
    "place and the service cases about the same firm, with its deadline and anomaly flags.",
)
class EnforcementCase:
    key: str = strawberry.field(description="The hub key (LE-…)", metadata=PUBLIC)
    case_number: str = strawberry.field(description="文书编号 of the source", metadata=INTERNAL)
    case_type: str | None = strawberry.field(
        description="行政处罚 / 行政检查 / 行政强制", metadata=PUBLIC
    )
    party_type: str | None = strawberry.field(description="法人 / 自然人 …", metadata=PUBLIC)
    party_name: str | None = strawberry.field(
        description="The party when it is a firm or organisation", metadata=PUBLIC
    )
    party_person_name: str | None = strawberry.field(
        description="The party when it is a natural person (personal data)",
        metadata=classified("personal", "name"),
    )
    party_uscc: str | None = strawberry.field(
        description="Unified social credit code", metadata=PUBLIC
    )
    firm: str | None = strawberry.field(
        description="Enterprise key the party resolves to (ENT-…)", metadata=PUBLIC
    )
    firm_match: str | None = strawberry.field(
        description="How the firm was found: uscc, or name (normalised)", metadata=INTERNAL
    )
    violation: str | None = strawberry.field(metadata=INTERNAL)
    legal_basis: str | None = strawberry.field(metadata=INTERNAL)
    penalty: str | None = strawberry.field(metadata=INTERNAL)
    fine_cny: float | None = strawberry.field(metadata=INTERNAL)
    finding: bool = strawberry.field(
        description="Whether the case found anything (a violation, a finding)", metadata=INTERNAL
    )
    evidence_count: int | None = strawberry.field(
        description="Pieces of evidence the source lists; null when it does not say",
        metadata=INTERNAL,
    )
    department: str | None = strawberry.field(
        description="The enforcing department", metadata=PUBLIC
    )
    status: str | None = strawberry.field(description="办理中 / 已结案", metadata=PUBLIC)
    closed: bool = strawberry.field(metadata=PUBLIC)
    filed_on: date | None = strawberry.field(metadata=PUBLIC)
    due_on: date | None = strawberry.field(
        description="Deadline: the source's, else filing + the case type's legal limit",
        metadata=PUBLIC,
    )
    closed_on: date | None = strawberry.field(metadata=PUBLIC)
    overdue: bool = strawberry.field(description="Open after its deadline", metadata=PUBLIC)
    closed_late: bool = strawberry.field(metadata=PUBLIC)
    days_overdue: int = strawberry.field(metadata=PUBLIC)
    anomalies: list[EnforcementAnomaly] = strawberry.field(metadata=INTERNAL)
    grid_cell: str | None = strawberry.field(metadata=PUBLIC)
    street: str | None = strawberry.field(metadata=PUBLIC)
    geometry: GeoJSON | None = strawberry.field(metadata=INTERNAL)
    service_cases: list[str] = strawberry.field(
        description="Keys of the service cases about the same firm (ServiceCase)",
        metadata=INTERNAL,
    )

    @classmethod
    def of(cls, r: CaseReview, service_cases: list[str]) -> EnforcementCase:
        a = r.record.attrs
        person = a.get("party_type") == NATURAL_PERSON
        fine = a.get("fine_cny")
        return cls(
            key=r.record.key,
            case_number=r.record.source_id,
            case_type=a.get("case_type"),
            party_type=a.get("party_type"),
            party_name=None if person else a.get("party_name"),
            party_person_name=a.get("party_name") if person else None,
            party_uscc=a.get("party_uscc"),
            firm=r.firm,
            firm_match=r.firm_match,
            violation=a.get("violation"),
            legal_basis=a.get("legal_basis"),
            penalty=a.get("penalty"),
            fine_cny=float(fine) if isinstance(fine, int | float) else None,
            finding=r.finding,
            evidence_count=r.evidence,
            department=a.get("enforcing_department"),
            status=a.get("status"),
            closed=r.closed,
            filed_on=r.filed_on,
            due_on=r.due_on,
            closed_on=r.closed_on,
            overdue=r.overdue,
            closed_late=r.closed_late,
            days_overdue=r.days_overdue,
            anomalies=[EnforcementAnomaly(x) for x in r.anomalies],
            grid_cell=a.get("grid_cell"),
            street=a.get("street"),
            geometry=geojson(r.record.geometry),
            service_cases=service_cases,
        )


WITHHELD = "null: withheld (counts-only access, fewer cases than its minimum group)"


@strawberry.type(description="Cases of one enforcing department (or all of them)")
class EnforcementDepartmentStats:
    department: str = strawberry.field(metadata=PUBLIC)
    cases: int = strawberry.field(metadata=PUBLIC)
    open: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    closed: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    overdue: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    closed_late: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    anomalous: int | None = strawberry.field(
        description="Cases with at least one anomaly flag; " + WITHHELD, metadata=PUBLIC
    )
    repeated_inspection_no_finding: int | None = strawberry.field(
        description=WITHHELD, metadata=PUBLIC
    )
    closed_without_evidence: int | None = strawberry.field(description=WITHHELD, metadata=PUBLIC)
    fines_cny: float | None = strawberry.field(
        description="The fines' sum; null: withheld (counts-only access, fewer fined cases "
        "than the policy's minimum group)",
        metadata=PUBLIC,
    )

    @classmethod
    def of(cls, f: dict[str, Any]) -> EnforcementDepartmentStats:
        return cls(**f)


@strawberry.type(description="Enforcement figures as of a day: totals and by department")
class EnforcementStats:
    as_of: date = strawberry.field(metadata=PUBLIC)
    totals: EnforcementDepartmentStats = strawberry.field(metadata=PUBLIC)
    by_department: list[EnforcementDepartmentStats] = strawberry.field(metadata=PUBLIC)
    suppressed_groups: int = strawberry.field(
        default=0,
        description="Departments withheld (counts-only access): of fewer cases than the "
        "policy's minimum group, and those that would give them away",
        metadata=PUBLIC,
    )
