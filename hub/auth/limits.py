"""Query limits beyond depth: the document's shape (``hub.auth.document_shape``), string
arguments (``hub.auth.string_limits``), a cost estimate per request against the client's budget,
and introspection only with ``graph:introspect``, the federation fields (``_service``,
``_entities``) only with ``graph:federate``.

The cost of a document is what its fields may resolve: each field costs 1 (or its declared cost,
``hub.auth.field_costs``) times the product of the page sizes (``first``, ``last``, ``limit``;
for ``_entities`` the number of ``representations``) of the list fields above it, with fragments
expanded. ``gridCells(first: 1000) { edges { node { code } } }`` costs 1 + 1000 * 3 = 3001.
Each fragment is costed once, at a multiplier of 1, and scaled where it is spread (its cost is
linear in the multiplier), and the count stops as soon as it passes the budget: the estimate
is linear in the document, never in its expansion. Aliases and tokens are capped by
strawberry's MaxAliasesLimiter and MaxTokensLimiter; depth by QueryDepthLimiter — those expand
fragments, so they run only after the shape check has bounded the expansion.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import validate_document

from hub.auth.document_shape import ShapeLimits, shape_problem
from hub.auth.field_costs import FIELD_COSTS
from hub.auth.principal import principal_of
from hub.auth.scopes import GRAPH_FEDERATE, GRAPH_INTROSPECT
from hub.auth.string_limits import StringTooLong, check_strings

PAGE_ARGS = ("first", "last", "limit")
MAX_PAGE = 1000  # the schema's own upper bound on a page
# field -> the scope it needs: introspection, and the federation fields a gateway calls
GUARDED_FIELDS: dict[str, str] = {
    "__schema": GRAPH_INTROSPECT,
    "__type": GRAPH_INTROSPECT,
    "_service": GRAPH_FEDERATE,
    "_entities": GRAPH_FEDERATE,
}


def _page_size(node: FieldNode, variables: Mapping[str, Any]) -> int:
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


class _OverBudget(Exception):
    pass


class _Costing:
    """The cost of selection sets, each fragment's computed once at a multiplier of 1."""

    def __init__(
        self,
        schema: GraphQLSchema | None,
        fragments: dict[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limit: int | None,
        declared: Mapping[str, int],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limit = limit
        self.declared = declared
        self.known: dict[str, int] = {}
        self.open: set[str] = set()

    def _type(self, name: str | None, fallback: GraphQLNamedType | None) -> GraphQLNamedType | None:
        if name is None or self.schema is None:
            return fallback
        return self.schema.get_type(name)

    def cost(
        self,
        parent: GraphQLNamedType | None,
        selection_set: SelectionSetNode | None,
        multiplier: int,
    ) -> int:
        if selection_set is None:
            return 0
        fields = getattr(parent, "fields", None) or {}
        total = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                own = self.declared.get(f"{parent.name}.{name}", 1) if parent else 1
                total += own * multiplier
                if selection.selection_set is not None:
                    definition = fields.get(name)
                    child = get_named_type(definition.type) if definition else None
                    inner = multiplier * _page_size(selection, self.variables)
                    total += self.cost(child, selection.selection_set, inner)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner_type = self._type(condition.name.value if condition else None, parent)
                total += self.cost(inner_type, selection.selection_set, multiplier)
            elif isinstance(selection, FragmentSpreadNode):
                total += multiplier * self.fragment(selection.name.value)
            if self.limit is not None and total > self.limit:
                raise _OverBudget(total)
        return total

    def fragment(self, name: str) -> int:
        known = self.known.get(name)
        if known is not None:
            return known
        definition = self.fragments.get(name)
        if definition is None or name in self.open:  # unknown or a cycle: validation refuses
            return 0
        self.open.add(name)
        try:
            condition = self._type(definition.type_condition.name.value, None)
            found = self.cost(condition, definition.selection_set, 1)
        finally:
            self.open.discard(name)
        self.known[name] = found
        return found


def estimate_cost(
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    *,
    schema: GraphQLSchema | None = None,
    limit: int | None = None,
    declared: Mapping[str, int] = FIELD_COSTS,
) -> int:
    """The operation's cost; with ``limit``, the first partial sum past it as soon as the
    count passes it (the rest is not counted). Without ``schema`` no declared cost applies."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if not operations:
        return 0
    operation = operations[0]
    root: GraphQLNamedType | None = None
    if schema is not None:
        root = {
            OperationType.QUERY: schema.query_type,
            OperationType.MUTATION: schema.mutation_type,
            OperationType.SUBSCRIPTION: schema.subscription_type,
        }.get(operation.operation)
    costing = _Costing(schema, fragments, variables or {}, limit, declared)
    try:
        return costing.cost(root, operation.selection_set, 1)
    except _OverBudget as over:
        return int(over.args[0])


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


def _refusal(message: str, code: str, **extensions: Any) -> list[GraphQLError]:
    return [GraphQLError(message, extensions={"code": code, **extensions})]


class AccessLimits(SchemaExtension):
    """Refuses, before execution and in this order: a document over the shape limits
    (fragments, spreads, expanded selections), one that introspects without
    ``graph:introspect`` or calls ``_service`` / ``_entities`` without ``graph:federate``, an
    invalid one (graphql-core's validation, with the schema's extra rules, run here so that it
    runs only on a document whose expansion is bounded), a string argument over its cap, and a
    document over the client's cost budget. Requests without a principal (the schema used
    outside the hub's HTTP gate, as in tests of the schema alone) are checked for shape,
    validity and strings only."""

    def __init__(
        self,
        *,
        max_cost: int,
        shape: ShapeLimits | None = None,
        max_string_chars: int = 4096,
    ) -> None:
        self.max_cost = max_cost
        self.shape = shape or ShapeLimits(max_fragments=32, max_spreads=128, max_selections=10_000)
        self.max_string_chars = max_string_chars

    def on_validate(self) -> Iterator[None]:
        # Before graphql-core's validation: strawberry skips its own validation when an
        # extension has set pre_execution_errors (as its ValidationCache does), and refuses
        # the request when they are not empty.
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = self._check()
        yield

    def _check(self) -> list[GraphQLError]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        problem = shape_problem(document, self.shape)
        if problem is not None:
            return _refusal(problem, "document_limit")
        principal = principal_of(context)
        if principal is not None:
            for name in guarded_fields(document):
                scope = GUARDED_FIELDS[name]
                if not principal.has_scope(scope):
                    return _refusal(
                        f"{name} needs the {scope} scope", "insufficient_scope", scope=scope
                    )
        schema = context.schema._schema
        if context.validation_rules:
            errors = validate_document(schema, document, context.validation_rules)
            if errors:
                return errors
        try:
            check_strings(schema, document, context.variables, self.max_string_chars)
        except StringTooLong as exc:
            return _refusal(str(exc), "string_limit")
        if principal is None:
            return []
        budget = (principal.client.cost_budget if principal.client else None) or self.max_cost
        estimated = estimate_cost(
            document, context.operation_name, context.variables, schema=schema, limit=budget
        )
        if estimated > budget:
            # the count stopped at the first sum past the budget: a lower bound
            return _refusal(
                f"query cost of at least {estimated} exceeds the budget of {budget}",
                "cost_limit",
                cost=estimated,
                budget=budget,
            )
        return []
