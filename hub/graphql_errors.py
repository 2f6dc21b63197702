"""How GraphQL errors are logged: a client's mistake is one line, a server bug a traceback.

Strawberry logs every error of a result at ERROR, with the traceback of the exception behind it.
Most are the client's doing: a query that does not parse or validate, a limit, a refusal by
the policy (PermissionError), bad input (ValueError), something that is not there
(LookupError), a step on a version changed meanwhile (VersionConflict) — the hub's resolvers
raise these on purpose. Those get one INFO line (no traceback: a hostile client must not fill
the log); anything else, and the exceptions that usually mean a bug (KeyError, IndexError,
UnicodeError), keeps strawberry's traceback.
"""

from __future__ import annotations

import re

from graphql import GraphQLError
from strawberry.types import ExecutionContext
from strawberry.utils.logging import StrawberryLogger

from hub.apps.kit import DomainError
from hub.store.errors import VersionConflict, describe, is_store_failure

# DomainError: an app's rule refusing (hub.apps.kit, which also gives its extensions.code)
CLIENT_FAULTS = (PermissionError, ValueError, LookupError, VersionConflict, DomainError)
BUGS = (KeyError, IndexError, UnicodeError)
MAX_LINE = 300
# a quoted value in a message (graphql-core quotes literals and names): a value is never
# logged, a GraphQL name (of a field, a type, a $variable) is
QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"')
NAME = re.compile(r"\$?[_A-Za-z][_0-9A-Za-z]*")


def is_client_error(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True  # parse, validation, variables, the hub's limits
    return isinstance(original, CLIENT_FAULTS) and not isinstance(original, BUGS)


def _redact(quoted: re.Match[str]) -> str:
    text = quoted.group()
    return text if NAME.fullmatch(text[1:-1]) else text[0] + "…" + text[-1]


def one_line(error: GraphQLError) -> str:
    text = QUOTED.sub(_redact, " ".join(error.message.split()))
    if len(text) > MAX_LINE:
        text = text[:MAX_LINE] + "…"
    path = ".".join(str(p) for p in error.path or ())
    return f"{text} (at {path})" if path else text


def log_errors(errors: list[GraphQLError], context: ExecutionContext | None = None) -> None:
    for error in errors:
        if is_client_error(error):
            StrawberryLogger.logger.info("GraphQL request refused: %s", one_line(error))
        elif is_store_failure(error.original_error):  # one line: no statement, no values
            assert error.original_error is not None
            StrawberryLogger.logger.error("store unavailable: %s", describe(error.original_error))
        else:
            StrawberryLogger.error(error, context)
