"""Refused requests in the audit chain: one entry per refusal, with its reason.

Every place that turns a request away hands a :class:`Refusal` to :func:`record_refusal`
(async: the append runs in a worker thread, off the event loop) or :func:`note_refusal`
(already in a worker thread): the bearer gate of ``/graphql`` and ``bearer_principal`` of the
apps' own routes (401, 403, 413, 429), the GraphQL layer (a body that is not JSON, a parse or
validation error, a missing scope, a depth, alias, token, shape, string or cost budget — before
execution) and the subscription socket (a refused ``connection_init``, an operation over the
rate, a message over the size limit, a token expired or revoked while open).

An entry is ``request.refused`` (or the caller's ``action``, e.g. ``write.refused``) with the
principal when the token was good enough to name one, and ``detail``: the HTTP status (or the
socket's close code), a short ``reason`` code (``missing_token``, ``invalid_token``,
``insufficient_scope``, ``rate_limited``, ``cost_limit``, ``validation`` ...), the path and
only numbers and names besides (the limit, the scope, the bucket). Never a token, query text,
variables or any part of the refused body: the log holds no field values (``hub.audit.log``).

429 floods: every refusal is logged, none sampled. The append is one short transaction in a
worker thread, as every read's entry is; a flooding principal is held back by its own refusals
(each answer waits for its entry) and the loop keeps serving everyone else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from hub.audit.log import AuditEntry, AuditLog
from hub.auth.principal import Principal

REFUSED = "request.refused"
Detail = str | int | float | bool | None


@dataclass(frozen=True)
class Refusal:
    """Why a request was turned away: status (HTTP, or a socket's close code), a short reason
    code, where (``/graphql``, ``ws:/graphql``, a route's path) and numbers or names only."""

    status: int
    reason: str
    path: str
    detail: Mapping[str, Detail] = field(default_factory=dict)


def note_refusal(
    log: AuditLog,
    refusal: Refusal,
    principal: Principal | None = None,
    *,
    action: str = REFUSED,
    purpose: str | None = None,
) -> AuditEntry:
    """Append the refusal's entry (blocking: call from a worker thread)."""
    return log.append(
        action,
        principal=principal.label if principal else None,
        client_id=principal.client_id if principal else None,
        purpose=(purpose or "")[:128] or None,
        detail={
            **{k: v for k, v in refusal.detail.items() if v is not None},
            "status": refusal.status,
            "reason": refusal.reason[:64],
            "path": refusal.path[:256],
        },
    )


async def record_refusal(
    log: AuditLog | None,
    refusal: Refusal,
    principal: Principal | None = None,
    *,
    action: str = REFUSED,
    purpose: str | None = None,
) -> None:
    """Append the refusal's entry off the event loop; nothing when there is no log (a schema
    served outside the hub, as in tests of a view alone)."""
    if log is not None:
        await run_in_threadpool(
            lambda: note_refusal(log, refusal, principal, action=action, purpose=purpose)
        )
