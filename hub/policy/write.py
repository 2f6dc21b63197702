"""The write side of the policy: which workflow steps a principal may take, on which rows.

A step is taken only on a row the principal may read (the type's read side: readable as rows,
inside its ``row_filter``) *and* that the type's write rule lets it act on (``write.steps``
names the step or ``*``; ``write.row_filter`` keeps the row). No write rule: no steps. The
workflow's roles (``Workflow.permit``) stay the workflow's own declaration of who could ever
take a step; whether this principal may take it on this row is decided here.

A row the principal may not read, or may read but not act on, answers exactly as a row that
does not exist (the text of ``PolicedRecordSource.reference``): a refusal never tells whose
case it is. A step the write rule does not name is refused as such (``PolicyDenied``): the
principal may see the row, so nothing is told it does not know. Every refusal is audited
(``write.refused``: the kind, key, step and reason), never the row's values.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from starlette.concurrency import run_in_threadpool

from hub.audit.log import AuditLog
from hub.policy.enforce import PolicedRecordSource, RequestPolicy
from hub.policy.engine import Decision, PolicyDenied, RecordView
from hub.policy.expr import RowFilter, parse_filter
from schema.record import Record

REFUSED = "write.refused"


def missing(kind: str, key: str) -> LookupError:
    """The answer for a row the caller may not act on: that of a row that does not exist."""
    return LookupError(f"no {kind} with key {key[:80]!r}")


@lru_cache(maxsize=256)
def _compiled(text: str) -> RowFilter:
    return parse_filter(text)


@dataclass(frozen=True)
class Refusal:
    """Why a step was refused (for the audit), and what the caller is told."""

    reason: str
    error: Exception


def judge(policy: RequestPolicy, step: str, record: Record) -> Refusal | None:
    """Whether this request may take ``step`` on ``record`` (as just read, or as about to be
    filed): None when it may, else the refusal. The row first, then the step."""
    refusal = row_refusal(policy, record)
    if refusal is not None:
        return refusal
    decision = policy.decide(record.kind)
    write = decision.rule.write if decision.rule is not None else None
    if not decision.legacy and (write is None or not write.allows_step(step)):
        told = PolicyDenied(
            f"{step.replace('_', ' ')} on {record.kind} is not a step {_ref(decision)} "
            "lets you take"
        )
        return Refusal("step not in the write rule", told)
    return None


def row_refusal(policy: RequestPolicy, record: Record) -> Refusal | None:
    """Whether this request may act on ``record`` at all, whatever the step: the read side
    (readable as rows, inside the read filter), then the write rule's row filter."""
    decision = policy.decide(record.kind)
    if decision.legacy:  # no principal (the schema outside the hub): the caller's own rules
        return None
    if not decision.reads_rows or not policy.visible(decision, record):
        reason = "not readable" if not decision.reads_rows else "outside the read row filter"
        return Refusal(reason, missing(record.kind, record.key))
    write = decision.rule.write if decision.rule is not None else None
    if write is not None and write.row_filter is not None:
        view = RecordView(record.key, record.kind, record.attrs)
        if not _compiled(write.row_filter).matches(decision.principal_attrs, view):
            return Refusal("outside the write row filter", missing(record.kind, record.key))
    return None


def _ref(decision: Decision) -> str:
    return f"policy {decision.policy}" if decision.policy else "the access policy"


@dataclass(frozen=True)
class StepGuard:
    """The write decision of one request, for a workflow to call on the row it read (a
    blocking call: workflows run off the event loop). A refusal is audited, then raised."""

    policy: RequestPolicy
    audit: AuditLog | None

    def __call__(self, step: str, record: Record) -> None:
        refusal = judge(self.policy, step, record)
        if refusal is not None:
            self.refused(step, record.kind, record.key, refusal.reason)
            raise refusal.error

    def refused(self, step: str, kind: str, key: str, reason: str) -> None:
        """Note a refused step in the audit log (names only, never the row's values)."""
        if self.audit is None:
            return
        principal = self.policy.principal
        self.audit.append(
            REFUSED,
            principal=principal.label if principal else None,
            client_id=principal.client_id if principal else None,
            purpose=(self.policy.purpose or "")[:128] or None,
            types=[kind],
            detail={"kind": kind, "key": key[:128], "step": step[:64], "reason": reason},
        )


async def filing_guard(policy: RequestPolicy, kind: str, audit: AuditLog | None) -> StepGuard:
    """The guard for filing a new row of ``kind``, after the type's gate (its purpose and
    rate limit are checked once, as for a read; a type not readable at all is refused)."""
    await policy.gate(kind)
    return StepGuard(policy, audit)


async def acting_guard(
    records: PolicedRecordSource, kind: str, key: str, step: str, audit: AuditLog | None
) -> StepGuard:
    """The guard for ``step`` on the row ``kind``/``key``, once the row is read through the
    policy (``PolicedRecordSource.acted_on``: hidden and missing rows answer alike) and
    judged (a refusal is audited and raised here, before the workflow's own rules)."""
    guard = StepGuard(records.policy, audit)
    try:
        record = await records.acted_on(kind, key)
    except (LookupError, PermissionError) as exc:
        await run_in_threadpool(
            guard.refused, step, kind, key, f"not readable or missing ({type(exc).__name__})"
        )
        raise
    # the row is judged before the workflow's own refusals (roles, states) can tell anything
    # about it; the step, on the row the workflow reads to write, after its roles
    refusal = row_refusal(records.policy, record)
    if refusal is not None:
        await run_in_threadpool(guard.refused, step, kind, key, refusal.reason)
        raise refusal.error
    return guard


async def may_act(policy: RequestPolicy, kind: str, act: str, audit: AuditLog | None) -> None:
    """Whether this request may take ``act`` over every row of ``kind`` at once (a rescoring
    of every firm): the type readable as rows, its write rule naming the act, and no write
    row filter (an act on every row cannot keep to some). Refused: audited, then raised."""
    await policy.gate(kind)
    decision = policy.decide(kind)
    if decision.legacy:
        return
    write = decision.rule.write if decision.rule is not None else None
    every_row = write is not None and write.row_filter is None
    if decision.reads_rows and write is not None and write.allows_step(act) and every_row:
        return
    await run_in_threadpool(StepGuard(policy, audit).refused, act, kind, "*", "act not allowed")
    raise PolicyDenied(f"{act.replace('_', ' ')} on {kind} is not yours under {_ref(decision)}")


def answered(policy: RequestPolicy, record: Record) -> Record:
    """The row a step leaves, if this request may still read it (a transfer may hand it out
    of the caller's sight: then the step stands and the answer says so, without the row).
    Its fields are then served, refused and masked as for any read (``PolicyExtension``)."""
    decision = policy.decide(record.kind)
    if decision.legacy or (decision.reads_rows and policy.visible(decision, record)):
        return record
    raise PolicyDenied(
        f"the step was taken; {record.kind} {record.key[:80]} is no longer one you may read"
    )
