"""No "Did you mean …?" for clients that may not see the schema.

graphql-core appends suggestions to its errors — an unknown field, argument, type, enum value
or input field gets the names of the nearest real ones — so a client without
``graph:introspect`` could spell its way through the schema that introspection hides from it.
For such principals this extension takes the suggestion out of every error of the operation
(validation and variable errors alike, over HTTP and over the subscription socket), as
strawberry's own ``disable_field_suggestions`` does for unknown fields, but per principal:
with ``graph:introspect`` the errors keep their hints.
Requests without a principal (the schema used outside the hub's HTTP gate) are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from graphql import GraphQLError
from strawberry.extensions import SchemaExtension

from hub.auth.principal import principal_of
from hub.auth.scopes import GRAPH_INTROSPECT

# graphql-core's ``did_you_mean``: " Did you mean [sub message ]'a', 'b', or 'c'?" — the
# names are GraphQL names, which never hold a "?"
SUGGESTION = re.compile(r" Did you mean [^?]*\?")


def without_suggestions(message: str) -> str:
    return SUGGESTION.sub("", message)


class HideSchemaSuggestions(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        self._strip(
            [
                *(getattr(context.result, "errors", None) or []),
                *(context.pre_execution_errors or []),
            ]
        )

    def on_stream_result(self, result: Any) -> Iterator[None]:
        # the subscription socket sends each result before the operation ends
        self._strip(list(getattr(result, "errors", None) or []))
        yield None

    def _strip(self, errors: list[GraphQLError]) -> None:
        principal = principal_of(self.execution_context)
        if principal is None or principal.has_scope(GRAPH_INTROSPECT):
            return
        for error in errors:
            error.message = without_suggestions(error.message)
