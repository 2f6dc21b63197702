"""``auditLog`` in GraphQL, for stewards (role ``steward`` and scope ``audit:read``)."""

from __future__ import annotations

from datetime import datetime

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON

from hub.audit.log import AuditLog
from hub.auth.principal import principal_of
from hub.auth.scopes import AUDIT_READ, STEWARD


@strawberry.type(description="One audit entry: who read or changed what, when.")
class AuditLogEntry:
    seq: int = strawberry.field(description="Position in the chain, from 1")
    at: datetime
    action: str = strawberry.field(description="graphql.read, policy.change, client.create, ...")
    principal: str | None = strawberry.field(description="user:NAME or client:ID")
    client_id: str | None
    purpose: str | None
    types: list[str]
    ids: JSON = strawberry.field(description="{type: [ids]} (at most 1000 per type)")
    counts: JSON = strawberry.field(description="{type: number of objects read}")
    fields_masked: list[str] = strawberry.field(description="Type.field served masked")
    detail: JSON
    hash: str = strawberry.field(description="SHA-256 over the previous hash and this entry")


@strawberry.type
class AuditLogPage:
    total_count: int
    has_next_page: bool
    end_cursor: str | None = strawberry.field(description="Pass as `after` for older entries")
    entries: list[AuditLogEntry]


@strawberry.type
class AuditQueries:
    @strawberry.field(description="The audit log, newest first. Stewards only.")
    async def audit_log(
        self,
        info: strawberry.Info,
        first: int = 50,
        after: str | None = None,
        action: str | None = None,
        principal: str | None = None,
    ) -> AuditLogPage:
        who = principal_of(info)
        if who is None or STEWARD not in who.roles or not who.has_scope(AUDIT_READ):
            raise PermissionError(f"the audit log is for stewards with the {AUDIT_READ} scope")
        if not 0 < first <= 500:
            raise ValueError("first must be between 1 and 500")
        try:
            before = int(after) if after is not None else None
        except ValueError:
            raise ValueError("invalid cursor") from None
        log: AuditLog = info.context.request.app.state.audit
        entries, more, total = await run_in_threadpool(
            lambda: log.page(first=first, after=before, action=action, principal=principal)
        )
        return AuditLogPage(
            total_count=total,
            has_next_page=more,
            end_cursor=str(entries[-1].seq) if entries else None,
            entries=[
                AuditLogEntry(
                    seq=e.seq,
                    at=e.at,
                    action=e.action,
                    principal=e.principal,
                    client_id=e.client_id,
                    purpose=e.purpose,
                    types=list(e.entry.get("types", [])),
                    ids=e.entry.get("ids", {}),
                    counts=e.entry.get("counts", {}),
                    fields_masked=list(e.entry.get("fields_masked", [])),
                    detail=e.entry.get("detail", {}),
                    hash=e.hash,
                )
                for e in entries
            ],
        )
