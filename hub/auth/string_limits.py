"""How long a string a GraphQL argument may carry, literal or through a variable.

A search for a 180 KB string cost seconds of CPU per alias, and no argument of the hub needs
more than a few KiB of text: every string in an argument — inside lists and input objects too,
and in variables — is at most ``max_string_chars`` (4 KiB by default), search texts at most
256 characters. The exceptions are declared here, by ``Type.field.argument`` or
``InputType.field``: a photo sent as base64 is bounded by the body limit and the photo's own
checks, and a policy document may be longer than a note.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    StringValueNode,
    ValueNode,
    VariableNode,
    get_named_type,
)

SEARCH_CHARS = 256
# Type.field.argument or InputType.field -> most characters (None: no cap here)
STRING_LIMITS: dict[str, int | None] = {
    "Query.search.query": SEARCH_CHARS,
    "Query.microNewsSearch.query": SEARCH_CHARS,
    "Query.fingertipItems.text": SEARCH_CHARS,
    "ServiceItemFilterInput.text": SEARCH_CHARS,
    # bounded by max_body_bytes and the photo checks (size, real image type)
    "Mutation.uploadSnapPhoto.contentBase64": None,
    "Mutation.policyDraft.document": 64 * 1024,
}


class StringTooLong(ValueError):
    """A string argument over its cap; the message names the argument, never the value."""


def _unwrap(type_: GraphQLInputType | None) -> GraphQLInputType | None:
    while isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return type_


class _Strings:
    def __init__(self, schema: GraphQLSchema, variables: Mapping[str, Any], general: int) -> None:
        self.schema = schema
        self.variables = variables
        self.general = general

    def limit(self, key: str) -> int | None:
        return STRING_LIMITS.get(key, self.general)

    def check_text(self, text: str, limit: int | None, where: str) -> None:
        if limit is not None and len(text) > limit:
            raise StringTooLong(f"{where} is longer than {limit} characters")

    def value(
        self, given: Any, type_: GraphQLInputType | None, limit: int | None, where: str
    ) -> None:
        """A variable's value (plain Python, as decoded from the request's JSON)."""
        type_ = _unwrap(type_)
        if isinstance(given, str):
            self.check_text(given, limit, where)
        elif isinstance(given, list | tuple):
            inner = type_.of_type if isinstance(type_, GraphQLList) else type_
            for item in given:
                self.value(item, inner, limit, where)
        elif isinstance(given, dict):
            if isinstance(type_, GraphQLInputObjectType):
                for name, item in given.items():
                    field = type_.fields.get(name)
                    key = f"{type_.name}.{name}"
                    self.value(item, field.type if field else None, self.limit(key), key)
            else:  # a JSON-like scalar (federation representations): the general cap
                for name, item in given.items():
                    self.check_text(str(name), self.general, where)
                    self.value(item, None, self.general, where)

    def literal(
        self, node: ValueNode, type_: GraphQLInputType | None, limit: int | None, where: str
    ) -> None:
        type_ = _unwrap(type_)
        if isinstance(node, VariableNode):
            self.value(self.variables.get(node.name.value), type_, limit, where)
        elif isinstance(node, StringValueNode):
            self.check_text(node.value, limit, where)
        elif isinstance(node, ListValueNode):
            inner = type_.of_type if isinstance(type_, GraphQLList) else type_
            for item in node.values:
                self.literal(item, inner, limit, where)
        elif isinstance(node, ObjectValueNode):
            for field_node in node.fields:
                name = field_node.name.value
                if isinstance(type_, GraphQLInputObjectType):
                    field = type_.fields.get(name)
                    key = f"{type_.name}.{name}"
                    self.literal(
                        field_node.value, field.type if field else None, self.limit(key), key
                    )
                else:
                    self.literal(field_node.value, None, self.general, where)

    def selections(
        self, parent: GraphQLNamedType | None, selection_set: SelectionSetNode | None
    ) -> None:
        if selection_set is None:
            return
        fields = getattr(parent, "fields", None) or {}
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                name = selection.name.value
                definition = fields.get(name)
                for argument in selection.arguments or ():
                    arg = definition.args.get(argument.name.value) if definition else None
                    key = f"{parent.name if parent else '?'}.{name}.{argument.name.value}"
                    self.literal(argument.value, arg.type if arg else None, self.limit(key), key)
                child = get_named_type(definition.type) if definition else None
                self.selections(child, selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = self.schema.get_type(condition.name.value) if condition else parent
                self.selections(inner, selection.selection_set)


def check_strings(
    schema: GraphQLSchema,
    document: DocumentNode,
    variables: Mapping[str, Any] | None,
    general: int,
) -> None:
    """Raise StringTooLong for the first string argument (literal or variable) over its cap.
    Each operation and fragment definition is walked once, fragments are not expanded."""
    strings = _Strings(schema, variables or {}, general)
    roots = {
        OperationType.QUERY: schema.query_type,
        OperationType.MUTATION: schema.mutation_type,
        OperationType.SUBSCRIPTION: schema.subscription_type,
    }
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            strings.selections(roots.get(definition.operation), definition.selection_set)
        elif isinstance(definition, FragmentDefinitionNode):
            condition = schema.get_type(definition.type_condition.name.value)
            strings.selections(condition, definition.selection_set)
