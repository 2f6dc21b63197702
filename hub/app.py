"""The Starlette application: GraphQL at /graphql, health at /healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from opentelemetry.sdk.trace.export import SpanExporter
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from connectors.transports.webhook import receiver_endpoint
from hub import __version__, collector
from hub.apps import App, load_apps
from hub.audit.anchor import AuditAnchor
from hub.auth.service import AuthService
from hub.config import Settings, load_settings
from hub.fanout import Broadcast, open_broadcast
from hub.feed import FeedFollower
from hub.feed_retention import keep_pruned
from hub.graph import GraphStore, open_graph
from hub.graphql_http import HubGraphQL
from hub.graphql_schema import build_schema
from hub.graphql_ws import limiter_rate_check
from hub.indexing import IndexFollower
from hub.ingest import standing
from hub.ingest.sources import SourceSystems
from hub.ingest.write_back import WriteBack
from hub.live import LiveBus
from hub.log_redaction import redact_access_logs
from hub.loop_fairness import share_the_interpreter
from hub.policy.enforce import Classified, PolicyExtension, classification_table
from hub.policy.engine import PolicyEngine
from hub.policy.workflow import RELOAD_CHANNEL, PolicyWorkflow
from hub.search import SearchIndex, open_search
from hub.services import HubServices
from hub.store import RecordStore, StoreUnavailable
from hub.store.engine import probe_write
from hub.store.errors import (
    STORE_UNAVAILABLE,
    UNAVAILABLE,
    describe,
    failed_recently,
    failure_body,
    note_failure,
)
from hub.tracing import tracer_provider
from hub.web.routes import web_routes

log = logging.getLogger(__name__)
AUDIT_CHECKPOINT_S = 60.0


def create_app(
    settings: Settings | None = None,
    *,
    store: RecordStore | None = None,
    graph: GraphStore | None = None,
    search: SearchIndex | None = None,
    span_exporter: SpanExporter | None = None,
    enforce_policies: bool = True,
    apps: list[App] | None = None,
) -> Starlette:
    """The hub. ``enforce_policies=False`` serves every field whole: for the overhead
    benchmark only, never for a served hub."""
    settings = settings or load_settings()
    redact_access_logs()  # no api_key / access_token / code values in the access lines
    settings.check_serving()  # no guessable secret key beyond loopback
    # the data folder 0700, its stores and secrets 0600
    settings.secure_data_dir(*([str(store.engine.url)] if store is not None else []))
    store = store or RecordStore.from_url(settings.store_url)
    graph = graph or open_graph(settings.graph_store_url)
    search = search or open_search(settings.search_store_url)
    provider = tracer_provider(settings, span_exporter)
    tracing = span_exporter is not None or settings.telemetry_exporter != "none"
    auth = AuthService.build(settings, store)
    anchor = AuditAnchor.from_settings(settings, auth.audit)
    policies = PolicyEngine(store.engine)
    table: Classified = {}
    extensions = auth.schema_extensions()
    if enforce_policies:
        extensions.append(lambda: PolicyExtension(table=lambda: table))
    apps = load_apps() if apps is None else apps
    schema = build_schema(
        max_depth=settings.graphql_max_depth,
        tracer_provider=provider if tracing else None,
        extensions=extensions,
        apps=apps,
    )
    table.update(classification_table(schema._schema))
    broadcast: Broadcast = open_broadcast(settings.fanout_url)
    hub = HubServices(
        settings=settings,
        store=store,
        graph=graph,
        search=search,
        broadcast=broadcast,
        audit=auth.audit,
        policies=policies,
        tokens=auth.verifier,
        live=LiveBus(
            broadcast,
            store,
            max_ahead_s=settings.telemetry_max_ahead_s,
            max_behind_s=settings.telemetry_max_behind_s,
        ),
        sources=SourceSystems(settings, store),
        feed=FeedFollower(store.engine),
        limiter=auth.limiter,
        classified=table,
        rates=auth.rates,
    )
    for app_ in apps:
        if app_.services is not None:
            hub.apps[app_.name] = app_.services(hub)
    # the knowledge graph and the search index follow every write, in every worker (idempotent)
    IndexFollower(store, graph, search, secret=settings.effective_secret()).follow(hub.feed)
    workflow = PolicyWorkflow(store, policies, auth.audit, known_fields=lambda: table)
    try:
        workflow.seed_if_empty()  # the documents in policies/, on a store that has none
    except Exception as exc:  # a store not migrated yet: the engine reloads on first use
        log.warning("policies not seeded: %s", str(exc).splitlines()[0][:200])
    graphql = HubGraphQL(
        schema,
        store,
        graph,
        search,
        graphiql=settings.graphiql,
        policies=policies if enforce_policies else None,
        rates=auth.rates,
        hub=hub,
        verifier=auth.verifier,
        # a WebSocket message is held to the body limit, each operation to the rate
        max_message_bytes=auth.settings.max_body_bytes,
        rate_check=limiter_rate_check(auth.limiter),
        recheck_s=auth.settings.socket_recheck_s,
        refusals=auth.refusals,  # a 429 flood's audit entries bounded as HTTP's are
    )

    async def healthz(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "version": __version__})

    async def readyz(_: Request) -> JSONResponse:
        # Ready means able to write: every read writes its audit entry, and a hub that cannot
        # audit refuses to serve. A real write (not one rolled back: SQLite lets a read-only
        # file begin those), and no request met a failing store in the last seconds (a full
        # disk fails only the writes that need new pages).
        try:
            await run_in_threadpool(probe_write, store.engine, hub.sources.holder)
        except StoreUnavailable as exc:
            return JSONResponse(
                {"status": "unavailable", "store": str(exc), "code": STORE_UNAVAILABLE},
                status_code=503,
            )
        if failed_recently(store.engine):
            return JSONResponse(
                {
                    "status": "unavailable",
                    "store": "requests met a failing store in the last seconds",
                    "code": STORE_UNAVAILABLE,
                },
                status_code=503,
            )
        return JSONResponse({"status": "ready", "store": store.dialect})

    async def store_unavailable(_: Request, exc: Exception) -> JSONResponse:
        note_failure(store.engine, exc)
        log.error("store unavailable: %s", describe(exc))
        return JSONResponse(failure_body(), status_code=503)

    async def follow_policy_changes() -> None:
        # Another worker published or rolled back a policy: read the versions again.
        async with broadcast.subscribe(RELOAD_CHANNEL) as changes:
            async for _ in changes:
                await run_in_threadpool(policies.reload)

    async def poll_policy_changes() -> None:
        # Publishes from the CLI, or from workers on another fan-out: seen within seconds.
        while True:
            await asyncio.sleep(settings.policy_poll_s)
            try:
                await run_in_threadpool(policies.reload_if_changed)
            except Exception as exc:  # a store hiccup: keep the policies in force, retry
                log.warning("policy poll: %s", str(exc).splitlines()[0][:200])

    async def take_delivery(system: str, delivery: dict[str, object]) -> None:
        await hub.sources.take_delivery(system, delivery)

    def checkpoint_audit() -> None:
        try:
            anchor.checkpoint()
        except Exception as exc:  # the witness must not stop the hub; say so loudly
            log.error("audit checkpoint not written: %s", describe(exc))

    async def checkpoint_audit_every_minute() -> None:
        while True:
            await asyncio.sleep(AUDIT_CHECKPOINT_S)
            await run_in_threadpool(checkpoint_audit)

    schedule = settings.sync_interval_s > 0
    write_back = WriteBack(store, hub.sources)  # the hub's steps told to their sources

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        share_the_interpreter()  # the loop is not kept waiting by worker threads (step 9)
        collector.settle()  # fewer garbage collections in the batch paths (ingest)
        running: list[asyncio.Future[None]] = [
            *([asyncio.create_task(hub.sources.run_schedule())] if schedule else []),
            # the push systems' standing subscriptions, with the schedule (one worker)
            *([asyncio.create_task(standing.run(hub.sources))] if schedule else []),
            asyncio.create_task(hub.feed.run(broadcast)),  # woken on cityhub.feed
            asyncio.create_task(write_back.run()),  # steps told to the sources (one worker)
            asyncio.create_task(follow_policy_changes()),
            asyncio.create_task(poll_policy_changes()),
            asyncio.create_task(checkpoint_audit_every_minute()),
            asyncio.create_task(
                keep_pruned(
                    store.engine,
                    retention_s=settings.feed_retention_s,
                    every_s=settings.feed_prune_every_s,
                    holder=hub.sources.holder,
                    graph_position=graph.position,
                )
            ),
        ]
        for app_ in apps:
            for start in app_.tasks(hub) if app_.tasks else []:
                running.append(asyncio.ensure_future(start()))  # an app's task is any awaitable
        yield
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await run_in_threadpool(checkpoint_audit)
        await hub.sources.close()
        await broadcast.close()
        provider.shutdown()
        store.close()
        graph.close()
        search.close()
        await auth.rates.close()
        await auth.limiter.close()

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
            # subscriptions (graphql-transport-ws): the token comes in connection_init
            WebSocketRoute("/graphql", graphql),
            *auth.routes(),
            # signed pushes from the source systems (push-mode connectors)
            Route(
                "/webhooks/{system}",
                receiver_endpoint(
                    hub.sources.webhook_secret, take_delivery, ledger=hub.sources.deliveries
                ),
                methods=["POST"],
            ),
            *(route for app_ in apps if app_.routes for route in app_.routes(hub)),
            *web_routes(auth.accounts, auth.issuer),  # the ops centre at /: keep last
        ],
        middleware=middleware,
        lifespan=lifespan,
        # a failing store is a 503 with a code on every route, never the driver's text
        exception_handlers=dict.fromkeys(UNAVAILABLE, store_unavailable),
    )
    app.state.settings = settings
    app.state.store = store
    app.state.tracer_provider = provider
    app.state.auth = auth
    app.state.audit = auth.audit
    app.state.audit_anchor = anchor
    app.state.policies = policies
    app.state.policy_workflow = workflow
    app.state.broadcast = broadcast
    app.state.hub = hub
    app.state.write_back = write_back
    return app
