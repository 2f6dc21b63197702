"""The executable schema: the shared types, the hub's own fields and the apps' fields, plus
the hub's extensions (limits, tracing).

The schema is served as an Apollo Federation v2 subgraph (strawberry's federation support):
``_service { sdl }`` and ``_entities(representations:)``, with ``@key`` on the shared
entities. Each keyed type's ``resolve_reference`` reads its row through the request's policed
record source (``schema.federation``), so ``_entities`` obeys the same row and field policy and
is audited like any read; who may call ``_service`` / ``_entities`` at all is the
``graph:federate`` scope (``hub.auth.limits``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import strawberry
from graphql import GraphQLError
from opentelemetry.sdk.trace import TracerProvider
from strawberry.extensions import QueryDepthLimiter, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.info import Info

from hub.apps import App, load_apps
from hub.fair_execution import FairExecutionContext
from hub.graphql_errors import log_errors
from schema.query import TYPES, query_type
from schema.scalars import SCALARS

CONFIG = StrawberryConfig(scalar_map=SCALARS)
# The federation spec the SDL links: 2.0, the lowest v2, so any v2 gateway composes it (the
# hub uses only @key).
FEDERATION_VERSION: Final = "2.0"
MAX_REPRESENTATIONS = 1000  # as many as the largest page


class HubSchema(strawberry.federation.Schema):
    """The federated schema, with ``_entities`` answering each representation on its own: a
    malformed one, or one of a type that is not an entity here, is an error entry at its
    index and the others are still resolved."""

    def __init__(self, **options: Any) -> None:
        super().__init__(federation_version=FEDERATION_VERSION, **options)
        self.entity_names = frozenset(_entity_types(self))

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        log_errors(errors, execution_context)  # a client's mistake is one line, not a traceback

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        if len(representations) > MAX_REPRESENTATIONS:
            raise ValueError(f"at most {MAX_REPRESENTATIONS} representations per request")
        results: list[Any] = [None] * len(representations)
        wanted: list[tuple[int, dict[str, Any]]] = []
        for index, representation in enumerate(representations):
            fields = representation if isinstance(representation, dict) else {}
            type_name = fields.get("__typename")
            if not isinstance(type_name, str):
                results[index] = ValueError("a representation is an object with a __typename")
            elif type_name not in self.entity_names:
                results[index] = LookupError(f"{type_name[:64]!r} is not an entity of this hub")
            else:
                wanted.append((index, dict(fields)))
        found = super().entities_resolver(info, [FederationAny(r) for _, r in wanted])
        for (index, _), result in zip(wanted, found, strict=True):
            results[index] = result
        return results


def _entity_types(schema: HubSchema) -> list[str]:
    """The ``@key`` types; each must resolve its references itself (strawberry would otherwise
    build the object from the representation, past the policy)."""
    names: list[str] = []
    for name, gql_type in schema.schema_converter.type_map.items():
        definition = gql_type.definition
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        if not any(isinstance(d, Key) for d in definition.directives or ()):
            continue
        if not hasattr(definition.origin, "resolve_reference"):
            raise TypeError(f"{name} has @key but no resolve_reference")
        names.append(name)
    return names


def _root(name: str, bases: Sequence[type]) -> type | None:
    if not bases:
        return None
    # strawberry merges the fields of every base into one root type
    return strawberry.type(type(name, tuple(bases), {}), name=name)


def hub_query(apps: Sequence[App] = ()) -> type:
    """The shared Query plus the hub's own fields (audit log, policies) and the apps'."""
    from hub.audit.graphql import AuditQueries
    from hub.ingest.graphql import IngestQueries
    from hub.policy.graphql import PolicyQueries

    bases = [query_type(), AuditQueries, PolicyQueries, IngestQueries]
    bases += [app.query for app in apps if app.query is not None]
    root = _root("Query", bases)
    assert root is not None
    return root


def hub_mutation(apps: Sequence[App] = ()) -> type:
    """The hub's mutations (the stewards' policy workflow) and the apps'."""
    from hub.policy.graphql import PolicyMutations

    bases = [PolicyMutations, *(app.mutation for app in apps if app.mutation is not None)]
    root = _root("Mutation", bases)
    assert root is not None
    return root


def hub_subscription(apps: Sequence[App] = ()) -> type | None:
    return _root("Subscription", [app.subscription for app in apps if app.subscription])


def _types(apps: Sequence[App]) -> list[type]:
    return [*TYPES, *(t for app in apps for t in app.types)]


def build_schema(
    *,
    max_depth: int,
    tracer_provider: TracerProvider | None,
    extensions: list[Callable[[], SchemaExtension]] | None = None,
    apps: Sequence[App] | None = None,
) -> strawberry.Schema:
    apps = load_apps() if apps is None else apps
    # Factories: strawberry builds fresh extensions for each request.
    extensions = [lambda: QueryDepthLimiter(max_depth=max_depth), *(extensions or [])]
    if tracer_provider is not None:
        # Bound to this app's provider rather than the process-global one.
        extensions.append(lambda: OpenTelemetryExtension(tracer_provider=tracer_provider))
    return HubSchema(
        query=hub_query(apps),
        mutation=hub_mutation(apps),
        subscription=hub_subscription(apps),
        types=_types(apps),
        extensions=extensions,
        config=CONFIG,
        # the event loop has its turn every few ms however big the answer (step 9 item 2)
        execution_context_class=FairExecutionContext,
    )


def sdl() -> str:
    """The schema's SDL, as exported to schema/schema.graphql."""
    apps = load_apps()
    return str(
        HubSchema(
            query=hub_query(apps),
            mutation=hub_mutation(apps),
            subscription=hub_subscription(apps),
            types=_types(apps),
            config=CONFIG,
        )
    )
