"""Query limits beyond depth: a cost estimate per request against the client's budget, and
introspection only with ``graph:introspect``, the federation fields (``_service``,
``_entities``) only with ``graph:federate``.

The cost of a document is the number of fields it may resolve: each field costs 1 times the
product of the page sizes (``first``, ``last``, ``limit``; for ``_entities`` the number of
``representations``) of the list fields above it, with fragments expanded.
``gridCells(first: 1000) { edges { node { code } } }`` costs 1 + 1000 * 3 = 3001. Aliases and
tokens are capped by strawberry's MaxAliasesLimiter and MaxTokensLimiter; depth by
QueryDepthLimiter.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
)
from strawberry.extensions import SchemaExtension

from hub.auth.principal import principal_of
from hub.auth.scopes import GRAPH_FEDERATE, GRAPH_INTROSPECT

PAGE_ARGS = ("first", "last", "limit")
MAX_PAGE = 1000  # the schema's own upper bound on a page
# field -> the scope it needs: introspection, and the federation fields a gateway calls
GUARDED_FIELDS: dict[str, str] = {
    "__schema": GRAPH_INTROSPECT,
    "__type": GRAPH_INTROSPECT,
    "_service": GRAPH_FEDERATE,
    "_entities": GRAPH_FEDERATE,
}


def _page_size(node: FieldNode, variables: dict[str, Any]) -> int:
    for argument in node.arguments or ():
        if argument.name.value == "representations":  # _entities: one row per item
            value = argument.value
            if isinstance(value, ListValueNode):
                return max(1, min(len(value.values), MAX_PAGE))
            if isinstance(value, VariableNode):
                given = variables.get(value.name.value)
                return max(1, min(len(given), MAX_PAGE)) if isinstance(given, list) else 1
            return 1
        if argument.name.value not in PAGE_ARGS:
            continue
        value = argument.value
        if isinstance(value, IntValueNode):
            return max(1, min(int(value.value), MAX_PAGE))
        if isinstance(value, VariableNode):
            given = variables.get(value.name.value)
            if isinstance(given, int):
                return max(1, min(given, MAX_PAGE))
            return MAX_PAGE if given is not None else 1
    return 1


def estimate_cost(
    document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None
) -> int:
    variables = variables or {}
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return 0

    def cost(selection_set: SelectionSetNode | None, multiplier: int, seen: frozenset[str]) -> int:
        if selection_set is None:
            return 0
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                total += multiplier
                inner = multiplier * _page_size(selection, variables)
                total += cost(selection.selection_set, inner, seen)
            elif isinstance(selection, InlineFragmentNode):
                total += cost(selection.selection_set, multiplier, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in fragments and name not in seen:
                    total += cost(fragments[name].selection_set, multiplier, seen | {name})
        return total

    return cost(operations[0].selection_set, 1, frozenset())


def guarded_fields(document: DocumentNode) -> Iterator[str]:
    """Names of introspection / federation fields anywhere in the document."""

    def walk(selection_set: SelectionSetNode | None) -> Iterator[str]:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value in GUARDED_FIELDS:
                yield selection.name.value
            yield from walk(getattr(selection, "selection_set", None))

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode | FragmentDefinitionNode):
            yield from walk(definition.selection_set)


class AccessLimits(SchemaExtension):
    """Refuses, before execution, a document over the client's cost budget or one that
    introspects without ``graph:introspect`` or calls ``_service`` / ``_entities`` without
    ``graph:federate``. Requests without a principal (the schema used
    outside the hub's HTTP gate, as in tests of the schema alone) are not limited here."""

    def __init__(self, *, max_cost: int) -> None:
        self.max_cost = max_cost

    def on_validate(self) -> Iterator[None]:
        # Before validation: strawberry decides on pre-execution errors inside this hook, so
        # setting them here skips validation and refuses the request.
        self._check()
        yield

    def _check(self) -> None:
        context = self.execution_context
        if context.pre_execution_errors or context.graphql_document is None:
            return
        principal = principal_of(context)
        if principal is None:
            return
        document = context.graphql_document
        for name in guarded_fields(document):
            scope = GUARDED_FIELDS[name]
            if not principal.has_scope(scope):
                context.pre_execution_errors = [
                    GraphQLError(
                        f"{name} needs the {scope} scope",
                        extensions={"code": "insufficient_scope", "scope": scope},
                    )
                ]
                return
        budget = (principal.client.cost_budget if principal.client else None) or self.max_cost
        estimated = estimate_cost(document, context.operation_name, context.variables)
        if estimated > budget:
            context.pre_execution_errors = [
                GraphQLError(
                    f"query cost {estimated} exceeds the budget of {budget}",
                    extensions={"code": "cost_limit", "cost": estimated, "budget": budget},
                )
            ]
