"""What every app's resolvers share: another app's service by its type, the domain errors
whose class says which ``extensions.code`` the client reads, the rows the policy lets a request
read or count, and who is calling.

The errors are mapped where :class:`hub.store.errors.VersionConflict` already is: an exception
carrying ``extensions`` is copied onto its GraphQL error by graphql-core, so a rule raises
``CaseNotFound`` and the client reads ``NOT_FOUND`` without a resolver translating it. Each
base also derives from the builtin the hub already counts as the client's fault
(``hub.graphql_errors.CLIENT_FAULTS``), so code catching ``ValueError`` keeps working.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, TypeVar

import strawberry
from starlette.concurrency import run_in_threadpool

from hub.auth.principal import principal_of
from hub.policy import write
from hub.policy.aggregates import EXACT, FigureRule
from hub.policy.enforce import Countable, PolicedRecordSource
from hub.workflow import Guard
from schema.record import Record

if TYPE_CHECKING:
    from hub.services import HubServices

S = TypeVar("S")
T = TypeVar("T")
Visible = Callable[[Record], bool]


class DomainError(Exception):
    """A rule refused a request; ``code`` is what GraphQL answers in ``extensions.code``."""

    code: ClassVar[str] = "BAD_USER_INPUT"

    @property
    def extensions(self) -> dict[str, object]:
        return {"code": self.code}


class BadInput(DomainError, ValueError):
    """The request asks for something the rules do not allow (a bad value, a wrong state)."""

    code = "BAD_USER_INPUT"


class NotFound(DomainError, LookupError):
    """What the request names does not exist."""

    code = "NOT_FOUND"


class Forbidden(DomainError, PermissionError):
    """The caller may not take this step (a role, an owner)."""

    code = "FORBIDDEN"


class Conflict(DomainError):
    """The request collides with the stored state (e.g. filed already)."""

    code = "CONFLICT"


class AppNotInstalled(LookupError):
    """Another app's service was asked for, and this hub runs without that app."""


def service(where: strawberry.Info | HubServices, kind: type[S]) -> S:
    """The service object of the app that built a ``kind`` at start-up (``hub.apps``)."""
    hub: HubServices = where.context.hub if isinstance(where, strawberry.Info) else where
    for built in hub.apps.values():
        if isinstance(built, kind):
            return built
    raise AppNotInstalled(f"no app providing {kind.__name__} is installed in this hub")


async def off_loop(rule: Callable[[], T]) -> T:
    """Run a blocking rule (it reads and writes the store) in a worker thread."""
    return await run_in_threadpool(rule)


def _every_row(_: Record) -> bool:
    return True


async def readable_rows(info: strawberry.Info, kind: str) -> Visible:
    """Which rows of ``kind`` this request may read, as the policy decides
    (:meth:`RequestPolicy.readable`; every row when enforcement is off)."""
    policy = info.context.policy
    return _every_row if policy is None else await policy.readable(kind)


async def countable_rows(info: strawberry.Info, kind: str) -> Countable:
    """The rows of ``kind`` this request may count, as the policy decides
    (:meth:`RequestPolicy.countable`; every row when enforcement is off)."""
    policy = info.context.policy
    if policy is None:
        return Countable(_every_row, True, ("enforcement off",))
    counted: Countable = await policy.countable(kind)
    return counted


async def figure_rule(info: strawberry.Info, *kinds: str) -> FigureRule:
    """How a figure over rows of ``kinds`` is published to this request, as the policy
    decides (:meth:`RequestPolicy.figures`: exact, or the counts-only k rule)."""
    policy = info.context.policy
    if policy is None:
        return EXACT
    rule: FigureRule = await policy.figures(*kinds)
    return rule


async def acting_on(info: strawberry.Info, kind: str, key: str, step: str) -> Guard | None:
    """What every step on an existing row calls first: the row read through the policy
    (hidden and missing alike: not found) and the guard the workflow asks again on the row
    it reads (:mod:`hub.policy.write`); None when enforcement is off."""
    records = info.context.records
    if not isinstance(records, PolicedRecordSource):
        return None
    return await write.acting_guard(records, kind, key, step, info.context.hub.audit)


async def filing(info: strawberry.Info, kind: str) -> Guard | None:
    """The guard the workflow asks before it files a new row of ``kind`` (None: enforcement
    is off)."""
    policy = info.context.policy
    if policy is None:
        return None
    return await write.filing_guard(policy, kind, info.context.hub.audit)


async def may_act(info: strawberry.Info, kind: str, act: str) -> None:
    """Refused unless the policy lets this request take ``act`` over every row of ``kind``
    (:func:`write.may_act`); nothing when enforcement is off."""
    policy = info.context.policy
    if policy is not None:
        await write.may_act(policy, kind, act, info.context.hub.audit)


def answered(info: strawberry.Info, record: Record) -> Record:
    """The row a step leaves, as the mutation may answer with it (:func:`write.answered`)."""
    policy = info.context.policy
    return record if policy is None else write.answered(policy, record)


def caller(info: strawberry.Info, doing: str) -> tuple[str, tuple[str, ...]]:
    """The principal's label and roles; ``doing`` (e.g. "changing a case") needs one."""
    principal = principal_of(info)
    if principal is None:
        raise PermissionError(f"{doing} needs an authenticated principal")
    return principal.label, principal.roles
