"""Policies in GraphQL: ``policies`` / ``policyVersions`` and ``count`` (queries), and the
stewards' mutations ``policyDraft``, ``policyValidate``, ``policyDryRun``, ``policyPublish``,
``policyApprove``, ``policyRollback`` — role ``steward`` with the ``policy:write`` scope only.
A publish or rollback that widens access leaves the version ``pending`` (its ``widens`` say
why) until another steward, signed in as a person, approves it with ``policyApprove``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from starlette.concurrency import run_in_threadpool
from strawberry.scalars import JSON

from hub.auth.principal import Principal, principal_of
from hub.auth.scopes import POLICY_WRITE, STEWARD
from hub.policy.workflow import DryRun, PolicyVersion, PolicyWorkflow, WorkflowError
from schema.context import records


@strawberry.type(name="PolicyVersion", description="One version of an access policy.")
class PolicyVersionType:
    name: str
    version: int
    status: str = strawberry.field(
        description="draft, pending (widens access: awaits another steward's approval), "
        "published or retired"
    )
    subject: str = strawberry.field(description="role:NAME, client:ID or user:NAME")
    document: JSON = strawberry.field(description="The validated document")
    source: str = strawberry.field(description="The TOML text as written")
    author: str
    created_at: datetime
    reason: str
    published_at: datetime | None
    approved_by: str | None = strawberry.field(
        description="The second steward who approved this widening version"
    )
    approved_at: datetime | None

    @strawberry.field(
        description="Why this version would widen access over the published one (empty: it "
        "keeps or narrows access and publishes at once)"
    )
    async def widens(self, info: strawberry.Info) -> list[str]:
        if self.status in ("published", "retired"):
            return []
        found: list[str] = await _run(lambda: _workflow(info).widening(self.name, self.version))
        return found

    @classmethod
    def of(cls, v: PolicyVersion) -> PolicyVersionType:
        return cls(
            name=v.name,
            version=v.version,
            status=v.status,
            subject=v.subject,
            document=JSON(v.document),
            source=v.source,
            author=v.author,
            created_at=v.created_at,
            reason=v.reason,
            published_at=v.published_at,
            approved_by=v.approved_by,
            approved_at=v.approved_at,
        )


@strawberry.type(description="Whether a version could be published, and if not, why.")
class PolicyValidation:
    ok: bool
    problems: list[str]


@strawberry.type(description="What one principal would gain or lose on one type.")
class PolicyChange:
    principal: str
    type: str
    access_before: str = strawberry.field(description="none, aggregate or rows")
    access_after: str
    fields_gained: list[str]
    fields_lost: list[str]
    masked_before: list[str]
    masked_after: list[str]
    rows_before: int
    rows_after: int


@strawberry.type(description="A dry run of a version against the stored records.")
class PolicyDryRun:
    name: str
    version: int
    principals: list[str] = strawberry.field(description="Principals the version governs")
    changes: list[PolicyChange]

    @classmethod
    def of(cls, run: DryRun) -> PolicyDryRun:
        return cls(
            name=run.name,
            version=run.version,
            principals=run.principals,
            changes=[PolicyChange(**vars(c)) for c in run.changes],
        )


def _steward(info: strawberry.Info) -> Principal:
    who = principal_of(info)
    if who is None or STEWARD not in who.roles or not who.has_scope(POLICY_WRITE):
        raise PermissionError(f"policies are for stewards with the {POLICY_WRITE} scope")
    return who


def _workflow(info: strawberry.Info) -> PolicyWorkflow:
    workflow: PolicyWorkflow = info.context.request.app.state.policy_workflow
    return workflow


async def _run(call: Any) -> Any:
    try:
        return await run_in_threadpool(call)
    except WorkflowError as exc:
        raise ValueError(str(exc)) from None


@strawberry.type
class PolicyQueries:
    @strawberry.field(description="The published policies. Stewards only.")
    async def policies(self, info: strawberry.Info) -> list[PolicyVersionType]:
        _steward(info)
        found = await _run(_workflow(info).published)
        return [PolicyVersionType.of(v) for v in found]

    @strawberry.field(description="Every version of a policy (or of all), oldest first.")
    async def policy_versions(
        self, info: strawberry.Info, name: str | None = None
    ) -> list[PolicyVersionType]:
        _steward(info)
        found = await _run(lambda: _workflow(info).versions(name))
        return [PolicyVersionType.of(v) for v in found]

    @strawberry.field(description="Versions awaiting a second steward's approval.")
    async def pending_policies(self, info: strawberry.Info) -> list[PolicyVersionType]:
        _steward(info)
        found = await _run(_workflow(info).pending)
        return [PolicyVersionType.of(v) for v in found]

    @strawberry.field(
        description="How many records of a type you may see (works for aggregate-only access)"
    )
    async def count(self, info: strawberry.Info, type: str) -> int:
        return await records(info).count(type)


@strawberry.type
class PolicyMutations:
    @strawberry.mutation(description="Save a new draft version from TOML text.")
    async def policy_draft(
        self, info: strawberry.Info, document: str, reason: str
    ) -> PolicyVersionType:
        who = _steward(info)
        found = await _run(lambda: _workflow(info).draft(document, author=who.label, reason=reason))
        return PolicyVersionType.of(found)

    @strawberry.mutation(description="Check a version: what would stop its publication.")
    async def policy_validate(
        self, info: strawberry.Info, name: str, version: int
    ) -> PolicyValidation:
        _steward(info)
        problems = await _run(lambda: _workflow(info).validate(name, version))
        return PolicyValidation(ok=not problems, problems=problems)

    @strawberry.mutation(description="What each affected principal would gain or lose.")
    async def policy_dry_run(self, info: strawberry.Info, name: str, version: int) -> PolicyDryRun:
        who = _steward(info)
        run = await _run(lambda: _workflow(info).dry_run(name, version, author=who.label))
        return PolicyDryRun.of(run)

    @strawberry.mutation(
        description="Put a version in force now (no restart needed); one that widens anyone's "
        "access becomes pending instead, until another steward approves it."
    )
    async def policy_publish(
        self, info: strawberry.Info, name: str, version: int, reason: str
    ) -> PolicyVersionType:
        who = _steward(info)
        found = await _run(
            lambda: _workflow(info).publish(name, version, author=who.label, reason=reason)
        )
        if found.status == "published":
            await _announce(info)
        return PolicyVersionType.of(found)

    @strawberry.mutation(
        description="Approve a pending version, which publishes it: four eyes — a steward "
        "signed in as a person, not the version's author."
    )
    async def policy_approve(
        self, info: strawberry.Info, name: str, version: int, reason: str
    ) -> PolicyVersionType:
        who = _steward(info)
        if who.kind != "person":  # clients cannot hold the steward role today; stay so
            raise PermissionError("approvals are made by a steward signed in as a person")
        found = await _run(
            lambda: _workflow(info).approve(name, version, approver=who.label, reason=reason)
        )
        await _announce(info)
        return PolicyVersionType.of(found)

    @strawberry.mutation(
        description="Publish again the version in force before this one (pending, like a "
        "publish, when that version was wider)."
    )
    async def policy_rollback(
        self, info: strawberry.Info, name: str, reason: str
    ) -> PolicyVersionType:
        who = _steward(info)
        found = await _run(lambda: _workflow(info).rollback(name, author=who.label, reason=reason))
        if found.status == "published":
            await _announce(info)
        return PolicyVersionType.of(found)


async def _announce(info: strawberry.Info) -> None:
    """Tell the other workers to reload (this one reloaded already)."""
    from hub.policy.workflow import RELOAD_CHANNEL

    broadcast = getattr(info.context.request.app.state, "broadcast", None)
    if broadcast is not None:
        await broadcast.publish(RELOAD_CHANNEL, "publish")
