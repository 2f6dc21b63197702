"""The executable schema: the shared types plus the hub's extensions (limits, tracing)."""

from __future__ import annotations

import strawberry
from opentelemetry.sdk.trace import TracerProvider
from strawberry.extensions import QueryDepthLimiter
from strawberry.extensions.tracing import OpenTelemetryExtension

from schema.query import TYPES, Query


def build_schema(*, max_depth: int, tracer_provider: TracerProvider | None) -> strawberry.Schema:
    extensions: list = [QueryDepthLimiter(max_depth=max_depth)]
    if tracer_provider is not None:
        # A fresh extension per request, bound to this app's provider (not the global one).
        extensions.append(
            lambda *, execution_context=None: OpenTelemetryExtension(
                execution_context=execution_context, tracer_provider=tracer_provider
            )
        )
    return strawberry.Schema(query=Query, types=TYPES, extensions=extensions)


def sdl() -> str:
    """The schema's SDL, as exported to schema/schema.graphql."""
    return str(strawberry.Schema(query=Query, types=TYPES))
