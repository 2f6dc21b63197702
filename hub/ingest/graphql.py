"""Operators' view of ingestion in GraphQL: each source system's health and the quarantine
(invalid records kept with their reason). Operators and stewards only; the raw records are
served with their personal data masked, whatever the reader's policy."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON

from hub.auth.principal import principal_of
from hub.auth.scopes import OPERATOR, STEWARD
from hub.ingest.status import connector_metrics, quarantine_total, quarantined
from schema.classification import personal_masks
from schema.masking import masked


def _require_operator(info: strawberry.Info) -> None:
    who = principal_of(info)
    if who is None or not ({OPERATOR, STEWARD} & set(who.roles)):
        raise PermissionError("ingestion status is for operators and stewards")


@strawberry.type(description="A source system's connector: its state and what it delivered.")
class SourceSystemStatus:
    system: str
    status: str = strawberry.field(description="ok, failed (the system was down), never")
    last_sync_at: datetime | None
    last_error: str | None
    records: int = strawberry.field(description="Records the hub holds from this system")
    quarantined: int = strawberry.field(description="Invalid records kept with their reason")
    runs: int
    failed_runs: int


@strawberry.type(description="An invalid record, kept with the reason it was refused.")
class QuarantinedRecord:
    id: int
    system: str | None
    kind: str | None
    reason: str
    received_at: datetime
    raw: JSON = strawberry.field(description="The record as received, personal data masked")


@strawberry.type
class QuarantinePage:
    total_count: int
    records: list[QuarantinedRecord]


def _raw(kind: str | None, value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return masked(value, personal_masks(kind or "", value))
    return value


@strawberry.type
class IngestQueries:
    @strawberry.field(description="Each source system's connector status. Operators, stewards.")
    async def source_systems(self, info: strawberry.Info) -> list[SourceSystemStatus]:
        _require_operator(info)
        store = info.context.request.app.state.store
        metrics = await run_in_threadpool(connector_metrics, store)
        return [
            SourceSystemStatus(
                system=name,
                status=str(m.get("status") or "never"),
                last_sync_at=m.get("last_success_at"),
                last_error=m.get("last_error"),
                records=int(m.get("records", 0)),
                quarantined=int(m.get("quarantined", 0)),
                runs=int(m.get("runs", 0)),
                failed_runs=int(m.get("failed_runs", 0)),
            )
            for name, m in sorted(metrics.items())
        ]

    @strawberry.field(description="Quarantined records, newest first. Operators, stewards.")
    async def quarantined_records(
        self, info: strawberry.Info, system: str | None = None, first: int = 50
    ) -> QuarantinePage:
        _require_operator(info)
        if not 0 < first <= 500:
            raise ValueError("first must be between 1 and 500")
        store = info.context.request.app.state.store
        rows = await run_in_threadpool(quarantined, store, system, first)
        total = await run_in_threadpool(quarantine_total, store)
        return QuarantinePage(
            total_count=total,
            records=[
                QuarantinedRecord(
                    id=r["id"],
                    system=r["source_system"] or r["connector"],
                    kind=r["kind"],
                    reason=r["reason"],
                    received_at=r["received_at"],
                    raw=_raw(r["kind"], r["raw"]),
                )
                for r in rows
            ],
        )
