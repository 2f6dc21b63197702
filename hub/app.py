"""The Starlette application: GraphQL at /graphql, health at /healthz and /readyz."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hub import __version__
from hub.auth.service import AuthService
from hub.config import Settings, load_settings
from hub.graph import GraphStore, open_graph
from hub.graphql_http import HubGraphQL
from hub.graphql_schema import build_schema
from hub.search import SearchIndex, open_search
from hub.store import RecordStore, StoreUnavailable
from hub.telemetry import tracer_provider


def create_app(
    settings: Settings | None = None,
    *,
    store: RecordStore | None = None,
    graph: GraphStore | None = None,
    search: SearchIndex | None = None,
    span_exporter: SpanExporter | None = None,
) -> Starlette:
    settings = settings or load_settings()
    store = store or RecordStore.from_url(settings.store_url)
    graph = graph or open_graph(settings.graph_store_url)
    search = search or open_search(settings.search_store_url)
    provider = tracer_provider(settings, span_exporter)
    tracing = span_exporter is not None or settings.telemetry_exporter != "none"
    auth = AuthService.build(settings, store)
    schema = build_schema(
        max_depth=settings.graphql_max_depth,
        tracer_provider=provider if tracing else None,
        extensions=auth.schema_extensions(),
    )
    graphql = HubGraphQL(schema, store, graph, search, graphiql=settings.graphiql)

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(_: Request) -> JSONResponse:
        try:
            await run_in_threadpool(store.ping)
        except StoreUnavailable as exc:
            return JSONResponse({"status": "unavailable", "store": str(exc)}, status_code=503)
        return JSONResponse({"status": "ready", "store": store.dialect})

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        provider.shutdown()
        store.close()
        graph.close()
        search.close()
        await auth.rates.close()

    middleware = []
    if tracing:
        middleware.append(
            Middleware(
                OpenTelemetryMiddleware,
                tracer_provider=provider,
                excluded_urls="healthz,readyz",
                exclude_spans=["receive", "send"],
            )
        )
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            # no anonymous data access: the gate wants a bearer token (GraphiQL's page aside)
            Route("/graphql", auth.protect(graphql), methods=["GET", "POST"]),
            *auth.routes(),
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.tracer_provider = provider
    app.state.auth = auth
    app.state.audit = auth.audit
    return app
