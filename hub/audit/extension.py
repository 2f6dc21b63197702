"""The one place GraphQL reads are audited: a schema extension that notes, for each request,
which objects were read (type and id) and which personal fields were served masked, and
appends one audit entry when the operation ends (the masked fields are those the policy
enforcement, ``hub.policy.enforce``, masked) — whether it succeeded or not.

Only names and ids are recorded: never field values, query text or variables (a search
string may be a person's name).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from strawberry import relay
from strawberry.extensions import SchemaExtension

from hub.audit.log import AuditLog
from hub.auth.principal import principal_of

PURPOSE_HEADER = "cityhub-purpose"


class AuditExtension(SchemaExtension):
    def __init__(self, *, log: AuditLog) -> None:
        self.log = log
        self.ids: dict[str, set[str]] = defaultdict(set)
        self.masked: set[str] = set()

    def resolve(
        self, _next: Callable[..., Any], root: Any, info: Any, *args: Any, **kwargs: Any
    ) -> Any:
        if root is not None:
            self._note(root, info.parent_type.name, info.field_name)
        return _next(root, info, *args, **kwargs)

    def _note(self, root: Any, type_name: str, field: str) -> None:
        if isinstance(root, relay.Node):
            node_id = getattr(root, "id", None)
            if node_id is not None:
                self.ids[type_name].add(str(node_id))
        elif type_name == "SourceFact":
            self.ids[root.kind].add(str(root.key))

    async def on_execute(self) -> AsyncIterator[None]:
        yield
        context = self.execution_context
        principal = principal_of(context)
        request = getattr(context.context, "request", None)
        purpose = request.headers.get(PURPOSE_HEADER) if request is not None else None
        policy = getattr(context.context, "policy", None)
        if policy is not None:  # the fields the policy enforcement served masked
            self.masked |= policy.fields_masked
        result = context.result
        errors = len(result.errors or []) if result is not None else 0
        await run_in_threadpool(
            self.log.append,
            "graphql.read",
            principal=principal.label if principal else None,
            client_id=principal.client_id if principal else None,
            purpose=(purpose or "")[:128] or None,
            ids={t: sorted(v) for t, v in self.ids.items()},
            fields_masked=sorted(self.masked),
            detail={
                "operation": (context.operation_name or "")[:128] or None,
                "operation_type": _operation_type(context),
                "errors": errors,
            },
        )


def _operation_type(context: Any) -> str | None:
    try:
        return str(context.operation_type.value)
    except Exception:  # a document that never parsed has no operation
        return None
