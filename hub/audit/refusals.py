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

429 floods: by default every refusal is logged. The append is one short transaction in a
worker thread, as every read's entry is, and a flooding principal is held back by its own
refusals (each answer waits for its entry). Appends are serialised, though, so a flood makes
everyone's entries wait: ``CITYHUB_AUTH_AUDIT_RATE_REFUSALS_PER_MINUTE`` (N > 0) bounds the
``rate_limited`` entries per principal to N a minute (:class:`RefusalSampler`); the ones not
logged are counted, and the principal's next logged rate refusal carries the count
(``detail.suppressed``), so the story stays whole up to the last minute of a flood.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool

from hub.audit.log import AuditEntry, AuditLog
from hub.auth.principal import Principal

REFUSED = "request.refused"
RATE_LIMITED = "rate_limited"  # the reason a sampler may bound
SAMPLE_WINDOW_S = 60.0
MAX_SAMPLED = 10_000  # principals remembered; windows that ended with nothing to carry go first
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
    sampler: RefusalSampler | None = None,
) -> None:
    """Append the refusal's entry off the event loop; nothing when there is no log (a schema
    served outside the hub, as in tests of a view alone). With ``sampler``, a principal's
    ``rate_limited`` refusals are bounded by it (see the module's docstring)."""
    if sampler is not None and principal is not None and refusal.reason == RATE_LIMITED:
        carried = sampler.admit(principal.label)
        if carried is None:
            return
        if carried:
            refusal = Refusal(
                refusal.status,
                refusal.reason,
                refusal.path,
                {**refusal.detail, "suppressed": carried},
            )
    if log is not None:
        await run_in_threadpool(
            lambda: note_refusal(log, refusal, principal, action=action, purpose=purpose)
        )


@dataclass
class _Window:
    start: float
    logged: int = 0
    suppressed: int = 0


class RefusalSampler:
    """At most ``per_minute`` entries per principal in each minute for one kind of refusal
    (``rate_limited``); 0: every one. Called on the event loop only."""

    def __init__(self, per_minute: int = 0, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.windows: dict[str, _Window] = {}

    def admit(self, who: str) -> int | None:
        """None: do not log this one (it is counted); else log it, with this many earlier
        refusals that were not logged (``detail.suppressed``)."""
        if self.per_minute <= 0:
            return 0
        now = self.clock()
        window = self.windows.get(who)
        if window is None or now - window.start >= SAMPLE_WINDOW_S:
            carried = window.suppressed if window else 0
            if window is None and len(self.windows) >= MAX_SAMPLED:
                self._forget(now)
            self.windows[who] = _Window(now, 1)
            return carried
        if window.logged < self.per_minute:
            window.logged += 1
            carried, window.suppressed = window.suppressed, 0
            return carried
        window.suppressed += 1
        return None

    def _forget(self, now: float) -> None:
        for who, window in list(self.windows.items()):
            if now - window.start >= SAMPLE_WINDOW_S and not window.suppressed:
                del self.windows[who]
