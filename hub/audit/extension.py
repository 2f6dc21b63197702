"""The one place GraphQL operations are audited: a schema extension that notes, for each
operation, which objects were served (``schema.audited``: relay Nodes, records named by kind
and key, cases, firms, search hits, and the groups of an aggregate) and which personal fields
were served masked, and appends entries to the chain:

* ``graphql.read`` when a query or mutation has run (whether it succeeded or not), with the
  ids served, the masked fields (those ``hub.policy.enforce`` masked) and, in ``detail``, the
  policy's refusals of fields or rows (their messages: type, field and policy names only);
  for a subscription, when it starts;
* ``graphql.stream`` while a subscription streams: the ids its events carried, every
  ``STREAM_EVENTS`` events or ``STREAM_S`` seconds (checked as events arrive), and once more
  when it ends (with ``"ended": true``) — so a long subscription is on record while it runs;
* ``request.refused`` (``hub.audit.refusals``) when the operation never ran: a parse or
  validation error, a missing scope, a shape, depth, alias, token, string or cost budget.

Only names and ids are recorded: never field values, query text or variables (a search
string may be a person's name). Entries are appended in a worker thread, off the event loop.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from graphql import GraphQLError
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocket
from strawberry import relay
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from hub.audit.log import AuditLog
from hub.audit.refusals import Refusal, note_refusal
from hub.auth.principal import Principal, principal_of
from hub.policy.engine import PolicyDenied
from hub.tracking import key_of
from schema.audited import Audited

PURPOSE_HEADER = "cityhub-purpose"
STREAM_EVENTS = 100  # a subscription's entry at least every this many events...
STREAM_S = 60.0  # ...or this many seconds
REFUSAL_STATUS = 400  # graphql-over-http's status for a request that never ran
MAX_DENIED = 20  # distinct policy refusals listed per entry
# what an error's extensions may add to a refusal's entry (numbers and names only)
REFUSAL_DETAIL = ("scope", "cost", "budget")

Ref = tuple[str, str] | None
Naming = Callable[[Any, str], Ref]


def _by_audit_ref(obj: Any, _type_name: str) -> Ref:
    ref: Ref = obj.audit_ref()
    return ref


def _by_node_id(obj: Any, type_name: str) -> Ref:
    node_id = getattr(obj, "id", None)
    return (type_name, str(node_id)) if node_id is not None else None


def _by_kind_and_key(obj: Any, _type_name: str) -> Ref:
    kind, key = getattr(obj, "kind", None), getattr(obj, "key", None)
    return (kind, key) if isinstance(kind, str) and isinstance(key, str) else None


def _by_attribute(name: str) -> Naming:
    def naming(obj: Any, type_name: str) -> Ref:
        value = getattr(obj, name, None)
        return (type_name, str(value)) if value is not None and value != "" else None

    return naming


def _nameless(_obj: Any, _type_name: str) -> Ref:
    return None


def _by_tracking_number(otherwise: Naming) -> Naming:
    """A progress lookup or receipt: the record key the number names (its public part; the
    number itself is a capability and never logged), else ``otherwise``."""

    def naming(obj: Any, type_name: str) -> Ref:
        number = getattr(obj, "tracking_number", None)
        key = key_of(number) if isinstance(number, str) else None
        return (type_name, key) if key else otherwise(obj, type_name)

    return naming


def naming_of(obj: Any) -> Naming:
    """How objects of this class are named in the log (``schema.audited``'s rules)."""
    if isinstance(obj, Audited):
        return _by_audit_ref
    if isinstance(obj, relay.Node):
        return _by_node_id
    if isinstance(getattr(obj, "kind", None), str) and isinstance(getattr(obj, "key", None), str):
        return _by_kind_and_key
    naming = next((_by_attribute(n) for n in ("key", "id") if hasattr(obj, n)), _nameless)
    return _by_tracking_number(naming) if hasattr(obj, "tracking_number") else naming


# one naming per class, worked out on first sight (a resolve is per field, per object)
_NAMINGS: dict[type, Naming] = {}


def refusal_reason(errors: Sequence[GraphQLError]) -> tuple[str, dict[str, str | int]]:
    """A short code for why an operation never ran, and what its errors name besides."""
    for error in errors:
        extensions = error.extensions or {}
        code = extensions.get("code")
        if code:
            extra = {
                k: extensions[k] for k in REFUSAL_DETAIL if isinstance(extensions.get(k), str | int)
            }
            return str(code), extra
    message = errors[0].message if errors else ""
    if "maximum operation depth" in message:
        return "depth_limit", {}
    if "aliases found" in message:
        return "alias_limit", {}
    if "tokens" in message and "Parsing aborted" in message:
        return "token_limit", {}
    if message.startswith("Syntax Error"):
        return "parse", {}
    return "validation", {}


def policy_denials(result: object) -> list[str]:
    """The policy's refusals among a result's errors (their messages name types, fields and
    policies, never values)."""
    errors: Sequence[GraphQLError] = getattr(result, "errors", None) or []
    found = {str(e.original_error) for e in errors if isinstance(e.original_error, PolicyDenied)}
    return sorted(found)[:MAX_DENIED]


class AuditExtension(SchemaExtension):
    def __init__(self, *, log: AuditLog) -> None:
        self.log = log
        self.ids: dict[str, set[str]] = defaultdict(set)
        self.masked: set[str] = set()
        self.executed = False
        self.events = 0  # a subscription's events since its last entry
        self.flushed_at = time.monotonic()

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if root is not None:
            naming = _NAMINGS.get(type(root))
            if naming is None:
                naming = _NAMINGS[type(root)] = naming_of(root)
            ref = naming(root, info.parent_type.name)
            if ref is not None:
                self.ids[ref[0]].add(ref[1])
        return _next(root, info, *args, **kwargs)

    async def on_operation(self) -> AsyncIterator[None]:
        try:
            yield
        finally:
            if not self.executed:
                await self._refused()
            elif self._is_subscription():
                await self._append("graphql.stream", {"events": self.events, "ended": True})

    async def on_execute(self) -> AsyncIterator[None]:
        self.executed = True
        yield
        result = self.execution_context.result
        detail: dict[str, Any] = {"errors": len(result.errors or []) if result else 0}
        denied = policy_denials(result)
        if denied:
            detail["denied"] = denied
        await self._append("graphql.read", detail)

    async def on_stream_result(self, result: Any) -> AsyncIterator[None]:
        # the event's fields are resolved (and noted) before its result reaches this hook
        if self.executed and self._is_subscription():
            self.events += 1
            if self.events >= STREAM_EVENTS or time.monotonic() - self.flushed_at >= STREAM_S:
                await self._append("graphql.stream", {"events": self.events})
        yield

    def _is_subscription(self) -> bool:
        try:
            return self.execution_context.operation_type is OperationType.SUBSCRIPTION
        except Exception:  # a document that never parsed has no operation
            return False

    def _who(self) -> tuple[Principal | None, str | None, str]:
        context = self.execution_context
        request = getattr(context.context, "request", None)
        purpose = request.headers.get(PURPOSE_HEADER) if request is not None else None
        path = request.url.path if request is not None else ""
        if isinstance(request, WebSocket):
            path = "ws:" + path
        return principal_of(context), purpose, path

    async def _append(self, action: str, detail: dict[str, Any]) -> None:
        """One entry with the ids noted since the last one (which are then forgotten)."""
        principal, purpose, _ = self._who()
        context = self.execution_context
        policy = getattr(context.context, "policy", None)
        if policy is not None:  # the fields the policy enforcement served masked
            self.masked |= policy.fields_masked
        ids = {t: sorted(v) for t, v in self.ids.items()}
        masked = sorted(self.masked)
        self.ids = defaultdict(set)
        self.events = 0
        self.flushed_at = time.monotonic()
        detail = {
            "operation": (context.operation_name or "")[:128] or None,
            "operation_type": _operation_type(context),
            **detail,
        }
        await run_in_threadpool(
            lambda: self.log.append(
                action,
                principal=principal.label if principal else None,
                client_id=principal.client_id if principal else None,
                purpose=(purpose or "")[:128] or None,
                ids=ids,
                fields_masked=masked,
                detail=detail,
            )
        )

    async def _refused(self) -> None:
        context = self.execution_context
        errors = context.pre_execution_errors or []
        if not errors:  # an exception the view answers itself (hub.graphql_http audits it)
            return
        reason, extra = refusal_reason(errors)
        principal, purpose, path = self._who()
        refusal = Refusal(REFUSAL_STATUS, reason, path, {**extra, "errors": len(errors)})
        await run_in_threadpool(lambda: note_refusal(self.log, refusal, principal, purpose=purpose))


def _operation_type(context: Any) -> str | None:
    try:
        return str(context.operation_type.value)
    except Exception:  # a document that never parsed has no operation
        return None
