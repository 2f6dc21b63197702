"""The executable schema: the shared types, the hub's own fields and the apps' fields, plus
the hub's extensions (limits, tracing)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from opentelemetry.sdk.trace import TracerProvider
from strawberry.extensions import QueryDepthLimiter, SchemaExtension
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.schema.config import StrawberryConfig

from hub.apps import App, load_apps
from schema.query import TYPES, query_type
from schema.scalars import SCALARS

CONFIG = StrawberryConfig(scalar_map=SCALARS)


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
    return strawberry.Schema(
        query=hub_query(apps),
        mutation=hub_mutation(apps),
        subscription=hub_subscription(apps),
        types=_types(apps),
        extensions=extensions,
        config=CONFIG,
    )


def sdl() -> str:
    """The schema's SDL, as exported to schema/schema.graphql."""
    apps = load_apps()
    return str(
        strawberry.Schema(
            query=hub_query(apps),
            mutation=hub_mutation(apps),
            subscription=hub_subscription(apps),
            types=_types(apps),
            config=CONFIG,
        )
    )
