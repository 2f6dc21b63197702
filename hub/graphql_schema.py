"""The executable schema: the shared types plus the hub's extensions (limits, tracing)."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from opentelemetry.sdk.trace import TracerProvider
from strawberry.extensions import QueryDepthLimiter, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.schema.config import StrawberryConfig

from schema.query import TYPES, query_type
from schema.scalars import SCALARS

CONFIG = StrawberryConfig(scalar_map=SCALARS)


def hub_query() -> type:
    """The shared Query plus the hub's own fields (the audit log, policies, counts)."""
    from hub.audit.graphql import AuditQueries
    from hub.policy.graphql import PolicyQueries

    @strawberry.type(name="Query")
    class Query(query_type(), AuditQueries, PolicyQueries):  # type: ignore[misc]
        pass

    return Query


def hub_mutation() -> type:
    """The hub's mutations: the stewards' policy workflow."""
    from hub.policy.graphql import PolicyMutations

    @strawberry.type(name="Mutation")
    class Mutation(PolicyMutations):
        pass

    return Mutation


def build_schema(
    *,
    max_depth: int,
    tracer_provider: TracerProvider | None,
    extensions: list[Callable[[], SchemaExtension]] | None = None,
) -> strawberry.Schema:
    # Factories: strawberry builds fresh extensions for each request.
    extensions = [lambda: QueryDepthLimiter(max_depth=max_depth), *(extensions or [])]
    if tracer_provider is not None:
        # Bound to this app's provider rather than the process-global one.
        extensions.append(lambda: OpenTelemetryExtension(tracer_provider=tracer_provider))
    return strawberry.Schema(
        query=hub_query(),
        mutation=hub_mutation(),
        types=TYPES,
        extensions=extensions,
        config=CONFIG,
    )


def sdl() -> str:
    """The schema's SDL, as exported to schema/schema.graphql."""
    return str(
        strawberry.Schema(query=hub_query(), mutation=hub_mutation(), types=TYPES, config=CONFIG)
    )
