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

from connectors.errors import ConnectorError
from hub.auth.principal import principal_of
from hub.auth.scopes import OPERATOR, STEWARD
from hub.ingest.sources import SourcesUnavailable
from hub.ingest.status import connector_metrics, quarantine_total, quarantined
from hub.policy.enforce import police_attrs
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


@strawberry.type(description="One item's state read from its source system at query time.")
class LiveState:
    system: str = strawberry.field(description="The source system asked")
    kind: str
    key: str
    source: str = strawberry.field(
        description="live (asked just now), cache (asked seconds ago) or stale (the system "
        "is failing; the last answer it gave)"
    )
    value: JSON = strawberry.field(description="The system's answer, policies applied")


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

    @strawberry.field(
        description="Ask the source system for an item's live state now (e.g. a camera's "
        "status). Null when the item is unknown or not yours to read; an error entry, with the "
        "rest of the query answered, when the system is down and nothing is cached."
    )
    async def live_state(self, info: strawberry.Info, kind: str, key: str) -> LiveState | None:
        # the stored record first: the policy decides whether this item may be read at all
        record = await info.context.records.load(kind, key)
        if record is None:
            return None
        try:
            system, answer = await info.context.hub.sources.live(kind, key)
        except SourcesUnavailable as exc:
            raise LookupError(str(exc)) from None
        except ConnectorError as exc:
            raise ConnectionError(f"{kind} {key}: no answer from its system: {exc}") from None
        value = answer.value
        if isinstance(value, dict) and info.context.policy is not None:
            value = police_attrs(info.context.policy, kind, value)
        return LiveState(system=system, kind=kind, key=key, source=answer.source, value=value)

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
